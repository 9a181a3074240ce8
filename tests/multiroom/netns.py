"""Hosts for the multi-room test: Linux network namespaces joined by veth links, made and removed by the test.

    root (pytest) 10.231.0.1 ── 10.231.0.2 base (broker + base services)
                                 10.231.1.1 ── 10.231.1.2 kitchen (satellite)
                                 10.231.2.1 ── 10.231.2.2 office  (satellite)
The addresses exist only inside these namespaces; nothing leaves the machine.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field


class NamespaceError(RuntimeError):
    pass


def ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise NamespaceError(f"ip {' '.join(args)}: {result.stderr.strip()}")


@dataclass
class Link:
    name: str  # the base end of a room's link, inside the base namespace
    namespace: str

    def down(self) -> None:
        ip("-n", self.namespace, "link", "set", self.name, "down")

    def up(self) -> None:
        ip("-n", self.namespace, "link", "set", self.name, "up")


@dataclass
class Hosts:
    prefix: str
    base: str = ""
    rooms: dict[str, str] = field(default_factory=dict)  # room -> namespace
    room_address: dict[str, str] = field(default_factory=dict)  # room -> base address as the room sees it
    links: dict[str, Link] = field(default_factory=dict)
    base_address: str = "10.231.0.2"  # the base as pytest (root namespace) sees it
    _created: list[str] = field(default_factory=list)
    _root_veth: str = ""

    def create(self, rooms: list[str]) -> None:
        self.base = f"{self.prefix}b"
        self._add_namespace(self.base)
        self._root_veth = f"{self.prefix}r0"
        ip("link", "add", self._root_veth, "type", "veth", "peer", "name", f"{self.prefix}b0")
        ip("link", "set", f"{self.prefix}b0", "netns", self.base)
        ip("addr", "add", "10.231.0.1/30", "dev", self._root_veth)
        ip("link", "set", self._root_veth, "up")
        ip("-n", self.base, "addr", "add", "10.231.0.2/30", "dev", f"{self.prefix}b0")
        ip("-n", self.base, "link", "set", f"{self.prefix}b0", "up")
        for number, room in enumerate(rooms, start=1):
            namespace = f"{self.prefix}{room[:4]}"
            self._add_namespace(namespace)
            base_end, room_end = f"{self.prefix}b{number}", f"{self.prefix}s{number}"
            ip("link", "add", base_end, "type", "veth", "peer", "name", room_end)
            ip("link", "set", base_end, "netns", self.base)
            ip("link", "set", room_end, "netns", namespace)
            ip("-n", self.base, "addr", "add", f"10.231.{number}.1/30", "dev", base_end)
            ip("-n", namespace, "addr", "add", f"10.231.{number}.2/30", "dev", room_end)
            ip("-n", self.base, "link", "set", base_end, "up")
            ip("-n", namespace, "link", "set", room_end, "up")
            self.rooms[room] = namespace
            self.room_address[room] = f"10.231.{number}.1"
            self.links[room] = Link(base_end, self.base)

    def _add_namespace(self, name: str) -> None:
        ip("netns", "add", name)
        self._created.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def command(self, namespace: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", namespace, *argv]

    def remove(self) -> None:
        if self._root_veth:
            subprocess.run(["ip", "link", "del", self._root_veth], capture_output=True, timeout=10)
        for name in reversed(self._created):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def namespaces_possible() -> str | None:
    """None when this machine lets us make namespaces, else the reason it does not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"hmprobe{os.getpid() % 10000}"
    try:
        ip("netns", "add", probe)
    except (NamespaceError, FileNotFoundError) as err:
        return f"cannot create a network namespace here: {err}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
    return None
