"""Keep Python's cyclic garbage collector off the request path.

A service's long-lived objects (the ASR's dictionary and grammar, the NLU's intent graph, every module) are
hundreds of thousands of objects that the collector's oldest generation scans again and again although they
never die. Measured on the short commands through ``/api/speech-to-intent`` (120 requests after a warm-up, a
``gc.callbacks`` timer in each process): the ASR, with 320,000 objects, spent 127 ms in collections, 125 ms of
it in one full collection that stalled one request and every site's audio for that long; the bridge (93,000
objects) 60 ms, 40 ms of it in one.

``gc.freeze()`` moves what exists into a permanent generation that collections skip. Done when a service is
set up, and again after each training (which replaces a model: the old one's cycles are collected first, so
nothing frozen is kept once it is garbage), collections then scan only what requests allocate.

Only a process that is one service (``services/runner.py``) does this: a program that runs a service inside
itself (the tests, an application embedding one) keeps its heap as it manages it, and a full collection of a
big host heap at every service start would cost more than it saves.
"""

from __future__ import annotations

import gc

_heap_owned = False


def own_heap() -> None:
    """This process is one service: ``settle_heap`` may freeze its objects from now on."""
    global _heap_owned
    _heap_owned = True


def settle_heap() -> None:
    """Collect what is garbage now, then exempt every surviving object from later collections (in a process
    that ``own_heap`` made one service's; elsewhere nothing)."""
    if not _heap_owned:
        return
    gc.unfreeze()  # a replaced model frozen earlier must be collectable, or its cycles would stay forever
    gc.collect()
    gc.freeze()
