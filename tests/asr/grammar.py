"""A small hand-written grammar (Sphinx FSG text) for engine tests that do not need the NLU's graph."""

from __future__ import annotations

# "turn (on|off) [the] (living room lamp | garage light | kitchen light)" | "what time is it" | "hey rhasspy"
LIGHTS_FSG = """FSG_BEGIN lights
NUM_STATES 13
START_STATE 0
FINAL_STATE 12
TRANSITION 0 1 0.6 turn
TRANSITION 1 2 0.5 on
TRANSITION 1 2 0.5 off
TRANSITION 2 3 0.5 the
TRANSITION 2 3 0.5
TRANSITION 3 4 0.34 living
TRANSITION 4 5 1.0 room
TRANSITION 5 12 1.0 lamp
TRANSITION 3 6 0.33 garage
TRANSITION 6 12 1.0 light
TRANSITION 3 7 0.33 kitchen
TRANSITION 7 12 1.0 light
TRANSITION 0 8 0.3 what
TRANSITION 8 9 1.0 time
TRANSITION 9 10 1.0 is
TRANSITION 10 12 1.0 it
TRANSITION 0 11 0.1 hey
TRANSITION 11 12 1.0 rhasspy
FSG_END
"""

LIGHTS_SENTENCES = [
    "turn on the living room lamp",
    "turn off the garage light",
    "turn on the kitchen light",
    "what time is it",
]

# The same grammar limited to one "intent" (what an intent filter asks for).
TIME_ONLY_FSG = """FSG_BEGIN time
NUM_STATES 5
START_STATE 0
FINAL_STATE 4
TRANSITION 0 1 1.0 what
TRANSITION 1 2 1.0 time
TRANSITION 2 3 1.0 is
TRANSITION 3 4 1.0 it
FSG_END
"""
