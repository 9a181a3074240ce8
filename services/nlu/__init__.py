"""Sentence templates, training and intent recognition (Rhasspy 2.5 sentences.ini compatible).

Interfaces other parts of Hermesh rely on (kept stable):

* ``services.nlu.training.train_profile(profile_dir, progress=None, settings=None) -> TrainedProfile``
  compiles ``sentences.ini`` + ``intents/**/*.ini`` + ``slots/`` + ``slot_programs/`` + ``converters/`` and
  writes, atomically, into ``<profile>/trained/``: ``intent_graph.pickle``, ``grammar.fsg`` (Sphinx FSG text),
  ``grammar.jsgf``, ``language_model.arpa`` (trigram, intents balanced), ``vocabulary.txt`` (one lower-case
  word per line) and ``training.json``. ``progress(step: str, fraction: float)`` is called along the way.
  Failures raise ``services.nlu.errors.TemplateError`` (``SlotError`` for slots) naming file, line and column;
  the previous artefacts stay in place. ``TrainedProfile.recognize(text, fuzzy=None, intent_filter=None)``
  returns ``list[Recognition]`` (best first, [] = not recognised).
* ``services.nlu.training.compile_texts(sentences: dict[str, str], slots: dict[str, list[str]] | None,
  profile_dir: Path | None = None, settings=None) -> IntentGraph`` for train messages (texts, not paths).
* ``IntentGraph`` (``services.nlu.graph``): ``vocabulary()``; ``services.nlu.exports`` writes it out as
  ``to_fsg_text(graph, intent_filter=None)``, ``to_jsgf_text(graph, intent_filter=None)`` and
  ``to_arpa_text(graph, intent_filter=None, order=3)``. Grammar words are the spoken words,
  lower-case, numbers as words, never substitution outputs.
* ``services.nlu.training.load_trained_profile(profile_dir)`` -> the last good ``TrainedProfile`` or None;
  ``sources_newer_than_training(profile_dir)`` tells whether to retrain.
* ``services.nlu.settings.NluSettings`` (profile.json section ``"nlu"``): fuzzy, stop_words, replace_numbers,
  language, word_casing, failure_token, ranked, grammar_order.
* ``services.nlu.recognizer.Recognizer(graph, converters).recognize(text, fuzzy=, stop_words=, intent_filter=,
  ranked=)`` is the engine underneath; ``services.nlu.results.Recognition`` has ``to_rhasspy_dict()``,
  ``hermes_slots()`` and ``hermes_asr_tokens()``.
* Service ``services.nlu.service:NluService`` (``hermesh nlu``); CLI ``services.nlu.cli:train``, ``:recognize``,
  ``:test_nlu``.

Module map: ``ini`` (file level) -> ``expressions`` (one template line) -> ``transforms`` (number ranges,
casing, number words) -> ``graph`` (compiled fragments, shared slot lists, epsilon-closure index) ->
``recognizer`` (strict/fuzzy search, converters, entities) -> ``results``; ``slots``, ``converters``,
``numbers``, ``exports`` (FSG/JSGF/ARPA), ``training``, ``cases`` (behaviour-case runner).
"""
