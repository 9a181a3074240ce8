"""The collector is kept off a service process's long-lived objects, and a replaced model is still freed."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

from services.runtime import gc_pauses

ROOT = Path(__file__).resolve().parents[2]


def test_a_program_that_only_embeds_a_service_keeps_its_heap_as_it_is() -> None:
    assert not gc_pauses._heap_owned  # the test process runs services in-process: it never owns the heap
    before = gc.get_freeze_count()
    gc_pauses.settle_heap()
    assert gc.get_freeze_count() == before


def test_in_a_service_process_settling_freezes_the_survivors_and_frees_what_a_training_replaced() -> None:
    # In a child: freezing is process-wide and would outlive this test in the test process.
    code = textwrap.dedent("""
        import gc, weakref
        from services.runtime.gc_pauses import own_heap, settle_heap

        class Model:  # a trained model with a reference cycle, as object graphs often have
            def __init__(self):
                self.me = self

        own_heap()
        old = Model()
        settle_heap()  # set-up done: the old model is frozen with everything else
        frozen = gc.get_freeze_count()
        assert frozen > 1000, frozen
        gc.collect()
        assert gc.get_freeze_count() == frozen  # a full collection leaves the frozen objects alone
        gone = weakref.ref(old)
        old = Model()  # a training replaced it: only its cycle keeps it now
        gc.collect()
        assert gone() is not None  # frozen garbage is out of the collector's reach...
        settle_heap()  # ...until the next settling, after the training
        assert gone() is None
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
