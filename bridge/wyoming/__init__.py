"""The Wyoming side of the bridge: a server for Home Assistant, clients for satellites.

* ``server.WyomingServer(service, host, port)``: asr, tts, wake, intent and handle on one TCP port, each
  request mapped onto the broker through the bridge's ``MeshClient`` (see ``connection``, ``speech_flows``,
  ``text_flows``; its errors become events in ``errors``); ``info`` comes
  from memory (``catalog``: the voices and wake words the TTS and wake services gave over the broker), so
  describe is answered at once. Connections, satellites and flows see the server through ``context``. Each connection speaks as its own site
  ``<site_prefix>-<random>``; services limited by ``site_ids`` must serve those sites too.
* ``satellite``: the Wyoming satellites listed in the profile are dialled and become sites of the mesh.

External Wyoming servers used as engines of the asr, tts and wake services are engine ``wyoming`` of those
services (services/<function>/wyoming_engine.py), not bridge code.

profile.json::

    "wyoming": {
      "satellites": ["tcp://192.168.1.30:10700", {"uri": "tcp://192.168.1.31:10700", "site_id": "kitchen"}],
      "reply_timeout": 15, "handle_timeout": 10
    }

(every key: ``settings.WyomingSettings``). Timers reach a satellite on
``hermesh/timer/<siteId>/<started|updated|cancelled|finished>`` with the Wyoming timer fields as JSON.
"""
