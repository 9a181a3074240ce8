"""SiteRegistry: per-site state freed on release, after the idle limit and beyond the cap, never while busy."""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.site_registry import SiteRegistry


@dataclass
class State:
    busy: bool = False


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def registry(clock: Clock, freed: list[str], idle: float | None = 10.0, cap: int = 3) -> SiteRegistry[State]:
    return SiteRegistry(State, idle_seconds=idle, max_sites=cap, clock=clock,
                        close=lambda site, _: freed.append(site), busy=lambda _, state: state.busy)


def test_state_is_created_once_and_kept_while_used() -> None:
    clock, freed = Clock(), []
    sites = registry(clock, freed)
    first = sites.use("a")
    for step in range(1, 20):
        clock.now = step * 5.0  # used every 5 s: never idle for 10
        assert sites.use("a") is first
    assert freed == [] and sites.get("a") is first and sites.get("b") is None and "b" not in sites


def test_idle_sites_are_freed_when_another_site_is_used_or_on_expire() -> None:
    clock, freed = Clock(), []
    sites = registry(clock, freed)
    sites.use("a")
    clock.now = 5.0
    sites.use("b")
    clock.now = 10.0
    sites.use("c")  # a has been idle for 10 s
    assert freed == ["a"] and list(sites) == ["b", "c"]
    clock.now = 30.0
    assert sites.expire() == 2 and freed == ["a", "b", "c"] and len(sites) == 0


def test_the_cap_frees_the_least_recently_used() -> None:
    clock, freed = Clock(), []
    sites = registry(clock, freed, idle=None, cap=3)
    for name in "abc":
        sites.use(name)
    sites.use("a")  # b is now the least recently used
    sites.use("d")
    assert freed == ["b"] and list(sites) == ["c", "a", "d"]
    for index in range(100):
        sites.use(f"flood-{index}")
    assert len(sites) == 3 and len(freed) == 101


def test_busy_sites_survive_age_and_cap_but_not_release() -> None:
    clock, freed = Clock(), []
    sites = registry(clock, freed, cap=2)
    sites.use("busy").busy = True
    clock.now = 100.0
    sites.use("b")
    sites.use("c")
    assert "busy" in sites and freed == ["b"]
    assert sites.release("busy") and freed == ["b", "busy"]
    assert not sites.release("busy")  # already gone: nothing to free twice


def test_clear_frees_everything() -> None:
    clock, freed = Clock(), []
    sites = registry(clock, freed)
    for name in "abc":
        sites.use(name)
    sites.clear()
    assert sorted(freed) == ["a", "b", "c"] and len(sites) == 0 and sites.freed == 3
