"""The injection request as Snips apps send it, checked whole before any file is written."""

from __future__ import annotations

import pytest

from services.injection.operations import InjectionRequestError, parse_request, spoken_form


def test_values_are_literal_names_and_weights_are_dropped() -> None:
    plan = parse_request([["add", {"films": ["Song (Remix)", ["Pulp Fiction", 4], "a|b: $c!", "()"]}]], {})
    assert plan.operations[0].kind == "add"
    assert plan.operations[0].values == {"films": ["Song Remix", "Pulp Fiction", "a b c"]}
    assert plan.skipped == ["films: '()' has nothing to say once template characters go"]
    assert spoken_form("  kitchen \t radio ") == "kitchen radio"


def test_a_lexicon_gives_phone_strings_per_word() -> None:
    plan = parse_request([], {"zorblax": ["Z AO R  B L AE K S", "Z OW R B L AE K S"]})
    assert plan.lexicon == {"zorblax": ["Z AO R B L AE K S", "Z OW R B L AE K S"]}


@pytest.mark.parametrize(("operations", "lexicon", "says"), [
    ({"add": {}}, {}, "a list of [kind"),
    ([["remove", {"films": ["x"]}]], {}, "unknown operation 'remove'"),
    ([["add", ["films"]]], {}, "an operation is [kind"),
    ([["add", {"films": "x"}]], {}, "the values are a list"),
    ([["add", {"films": [{"value": "x"}]}]], {}, "a value is a string or [string, weight]"),
    ([["add", {"films": ["two\nlines"]}]], {}, "one line"),
    ([["add", {"../profile.json": ["x"]}]], {}, "not a plain slot name"),
    ([["add", {".hidden": ["x"]}]], {}, "not a plain slot name"),
    ([["add", {"": ["x"]}]], {}, "a slot name"),
    ([], {"two words": ["T UW"]}, "not one word"),
    ([], {"word": "W ER D"}, "a list of phone strings"),
    ([], {"word": [""]}, "a list of phone strings"),
])
def test_a_bad_request_is_refused_naming_what_is_wrong(operations: object, lexicon: object, says: str) -> None:
    with pytest.raises(InjectionRequestError, match=says.replace("[", r"\[").replace("(", r"\(")):
        parse_request(operations, lexicon)
