"""Speech to text: ``hermesh asr`` and its parts. (Audio in any format becomes 16 kHz mono PCM in
``hermes.audio_stream``, one converter per session; phones for words come from ``services.phonetics``.)

| module | what it holds |
|---|---|
| ``service`` | ``AsrService``: Hermes sessions, audio frames, toggles, training, g2p on the broker |
| ``session`` | one listening session: streams audio into the decoder and the endpointer (pure) |
| ``engine`` | the engine interface (``AsrEngine``/``AsrStream``/``Transcript``): types only, no backend |
| ``registry`` | the engines by name (``ASR_ENGINES``), loaded by ``services.engine_loader.load_engine`` |
| ``pocketsphinx_engine`` | default engine: closed grammar / n-gram / dictation, pooled streaming decoders |
| ``kaldi_engine`` | kaldi-active-grammar engine (optional extra, AGPL), model directory checks |
| ``wyoming_engine`` | an external Wyoming ASR server as the engine (``services.wyoming_client``) |
| ``endpointer`` | VAD backends (pocketsphinx, webrtcvad, silero) and the voice-command segmenter (pure) |
| ``fsg`` | Sphinx FSG text: parse and check before a C decoder sees it; covering sentences |
| ``training`` | the NLU's intent graph -> grammar, n-gram model and pronunciations for the engines |
"""
