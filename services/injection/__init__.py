"""``hermesh injection``: Snips apps add the names they learn to the profile's slot lists, and the mesh retrains."""
