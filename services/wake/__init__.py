"""Wake word service: spots wake phrases in every site's audio stream (``hermesh wake``)."""
