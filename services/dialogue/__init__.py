"""The dialogue manager: one session per site, driven through wake, ASR, NLU, handlers and TTS."""
