"""The Wyoming server's duties as the host of its connections' sites, beyond the requests they make.

Requests and their replies go through the mesh client (``bridge/mesh_client.py``); this is what no request
waits for. Through the same typed listeners (``HermesService.listen``):

* playBytes for a connection's site that nobody plays (no ``speak`` of the connection streams it, no
  satellite of that site plays it) is answered with playFinished at once, and the last chunk of such a
  playBytesStreaming with streamFinished, so a TTS never waits on a speaker that does not exist;
* a dialogue session the mesh opened on a connection's site (a wake word heard in its detect audio) is ended
  at once: that site has no user to talk to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hermes.audioserver import AudioPlayBytes, AudioPlayBytesStreaming, AudioPlayFinished, AudioStreamFinished
from hermes.dialogue import DialogueEndSession, DialogueSessionStarted

from ..mesh_client import MeshClient

LOG = logging.getLogger("hermesh.bridge.wyoming")


class Router:
    def __init__(self, mesh: MeshClient, own_site: Callable[[str], bool], played_elsewhere: Callable[[str], bool]
                 ) -> None:
        self.mesh = mesh
        self.own_site = own_site  # sites of our connections
        self.played_elsewhere = played_elsewhere  # sites whose sounds a satellite plays
        self._removers: list[Callable[[], None]] = []

    async def start(self) -> None:
        service = self.mesh.service
        self._removers.append(await service.listen(AudioPlayBytes, self._on_play))
        self._removers.append(await service.listen(AudioPlayBytesStreaming, self._on_stream))
        self._removers.append(await service.listen(DialogueSessionStarted, self._on_session_started))

    def stop(self) -> None:
        for remove in self._removers:
            remove()
        self._removers.clear()

    def _on_play(self, message: AudioPlayBytes) -> None:
        if not self.own_site(message.site_id) or self.played_elsewhere(message.site_id):
            return
        if self.mesh.answers_playback(message.request_id):
            return
        finished = AudioPlayFinished(id=message.request_id, site_id=message.site_id)
        self.mesh.service.spawn(self.mesh.publish(finished))

    def _on_stream(self, message: AudioPlayBytesStreaming) -> None:
        if not message.is_last_chunk or not self.own_site(message.site_id) or self.played_elsewhere(message.site_id):
            return
        if self.mesh.answers_playback(message.request_id):
            return
        finished = AudioStreamFinished(id=message.request_id, site_id=message.site_id)
        self.mesh.service.spawn(self.mesh.publish(finished))

    def _on_session_started(self, message: DialogueSessionStarted) -> None:
        if self.own_site(message.site_id):
            self.mesh.service.spawn(self.mesh.publish(DialogueEndSession(session_id=message.session_id)))
