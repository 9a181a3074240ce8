"""The built-in feedback sounds (WAV files made by ``python -m services.dialogue.feedback_sounds``)."""
