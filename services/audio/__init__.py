"""Microphone and speaker services (``hermesh audio-input``, ``hermesh audio-output``) and device helpers."""
