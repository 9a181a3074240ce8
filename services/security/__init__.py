"""Broker security helpers: Mosquitto password files, per-satellite ACL blocks, ``hermesh add-satellite``."""
