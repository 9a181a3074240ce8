"""The Wyoming side of the bridge: a server for Home Assistant, clients for satellites and engines."""
