"""Text to speech service: hermes/tts/say -> playBytes -> playFinished -> sayFinished (``hermesh tts``)."""
