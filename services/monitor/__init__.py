"""Broker-level monitoring: the mesh reconstructed from the broker's traffic alone.

``observer.MeshObserver`` is fed (topic, payload, timestamp) and keeps the state (services, sessions and their
stage timelines, message counts, the broker's $SYS figures); ``metrics.render_prometheus`` renders it for
/metrics; ``view`` renders it for a terminal; ``command.monitor`` is ``hermesh monitor``; ``attach.attach`` feeds
an observer from a running HermesService (the bridge).
"""
