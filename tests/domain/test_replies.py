"""The reply grammar: commands by their first word, answers to an alert only when clear."""

from __future__ import annotations

import ast
import dataclasses
import doctest
import sys
from pathlib import Path

import pytest

from dispatcher.domain import keywords, replies
from dispatcher.domain.replies import INTENTS, Reply, parse_reply

SOURCES = (Path(replies.__file__), Path(keywords.__file__))

# DESIGN.md section 5, restated here so that the test does not read the module's own table.
GRAMMAR = {
    "accept": ["YES", "Y", "OK", "1", "JA", "J", "OUI", "SI", "KYLLÄ"],
    "decline": ["NO", "N", "2", "NEJ", "NEE", "NEIN", "NON", "EI"],
    "arrived": ["HERE", "3", "FRAMME"],
    "stop": ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"],
    "start": ["START", "UNSTOP"],
    "help": ["HELP", "INFO"],
    "pause": ["PAUSE"],
    "resume": ["RESUME"],
}


def alternating(word: str) -> str:
    """Return the word in alternating case: "yEs"."""
    return "".join(ch.upper() if i % 2 else ch.lower() for i, ch in enumerate(word))


def spellings(word: str) -> list[str]:
    """Return the ways a volunteer might type one keyword, all meaning the same."""
    cases = dict.fromkeys([word.upper(), word.lower(), word.title(), alternating(word)])
    return [
        *cases,
        f"{word}!",
        f"{word.lower()}.",
        f"  {word}",
        f"\n\n{word.lower()}\n",
        f"\t{word}\u00a0",  # a tab and a non-breaking space
        f"«{word}»",
        f"{word} 🙂",
        f"{word}, thanks",
    ]


ANSWERS = ("accept", "decline", "arrived")
KEYWORD_CASES = [
    (body, Reply(intent))
    for intent, words in GRAMMAR.items()
    for word in words
    for body in spellings(word)
] + [
    # A command is heard even as a question; an answer to an alert is not taken from one.
    (f"{word}?!", Reply("unknown" if intent in ANSWERS else intent))
    for intent, words in GRAMMAR.items()
    for word in words
]

CASES = [
    # Accents and compatibility forms fold away.
    ("KYLLÄ", Reply("accept")),
    ("kyllä", Reply("accept")),
    ("KYLLA", Reply("accept")),
    ("Kyllä!", Reply("accept")),
    ("kylla\u0308", Reply("accept")),  # a decomposed ä
    ("Sí", Reply("accept")),
    ("SÍ", Reply("accept")),
    ("Oui", Reply("accept")),
    ("NÓ", Reply("decline")),
    ("Nón", Reply("decline")),
    ("Ｙｅｓ", Reply("accept")),  # full-width letters
    ("١", Reply("accept")),  # an Arabic-Indic one
    # Words after a clear answer that neither hedge nor contradict it don't change it.
    ("Yes!", Reply("accept")),
    ("ja.", Reply("accept")),
    ("  yes", Reply("accept")),
    ("OK!!", Reply("accept")),
    ("ok 👍", Reply("accept")),
    ("Ja tack", Reply("accept")),
    ("Ja, ik kom", Reply("accept")),
    ("yes no", Reply("unknown")),  # yes and no together is unclear
    ("Nej tyvärr", Reply("decline")),
    ("No, sorry, at work", Reply("decline")),
    ("Nein danke", Reply("decline")),
    ("Stop.", Reply("stop")),
    ("STOP ALL", Reply("stop")),
    ("UNSUBSCRIBE", Reply("stop")),
    ("start", Reply("start")),
    ("HELP", Reply("help")),
    ("info?", Reply("help")),
    ("HERE", Reply("arrived")),
    ("framme!", Reply("arrived")),
    ("Framme nu", Reply("arrived")),
    ("1", Reply("accept")),
    ("2", Reply("decline")),
    ("3", Reply("arrived")),
    ("1.", Reply("accept")),
    ("resume", Reply("resume")),
    ("RESUME 8", Reply("resume")),
    # A code is the first later word of exactly four digits.
    ("YES 4821", Reply("accept", code="4821")),
    ("yes,4821", Reply("accept", code="4821")),
    ("yes, 4821", Reply("accept", code="4821")),
    ("YES ref 4821", Reply("accept", code="4821")),
    ("yes (ref #4821)", Reply("accept", code="4821")),
    ("Ja 0042", Reply("accept", code="0042")),
    ("YES 4821 1234", Reply("accept", code="4821")),
    ("YES 12345 4821", Reply("accept", code="4821")),
    ("YES 482", Reply("accept")),
    ("YES 48211", Reply("accept")),
    ("YES ref4821", Reply("accept")),
    ("ＹＥＳ ４８２１", Reply("accept", code="4821")),
    ("NO 1234", Reply("decline", code="1234")),
    ("2 1234", Reply("decline", code="1234")),
    ("HERE 4821", Reply("arrived", code="4821")),
    ("STOP 4821", Reply("stop")),  # stopping is for every alert, not one
    ("HELP 4821", Reply("help")),
    # Pause takes its hours from the first later word that is a number.
    ("PAUSE 8", Reply("pause", hours=8.0)),
    ("pause 1.5", Reply("pause", hours=1.5)),
    ("pause 1,5", Reply("pause", hours=1.5)),
    ("Pause for 2 hours", Reply("pause", hours=2.0)),
    ("PAUSE 720", Reply("pause", hours=720.0)),
    ("PAUSE 0.25", Reply("pause", hours=0.25)),
    ("PAUSE", Reply("pause")),
    ("PAUSE 0", Reply("pause")),
    ("PAUSE 0.0", Reply("pause")),
    ("PAUSE -8", Reply("pause")),
    ("PAUSE −8", Reply("pause")),  # a Unicode minus sign
    ("PAUSE 720.5", Reply("pause")),
    ("PAUSE 9999", Reply("pause")),
    ("PAUSE 99999999999999999999999", Reply("pause")),
    ("pause forever", Reply("pause")),
    ("PAUSE 8h", Reply("pause", hours=8.0)),
    ("PAUSE 3h", Reply("pause", hours=3.0)),
    ("PAUSE 30 min", Reply("pause", hours=0.5)),
    ("PAUSE 90m", Reply("pause", hours=1.5)),
    ("PAUSE 2 hours", Reply("pause", hours=2.0)),
    ("PAUSE 1d", Reply("pause", hours=24.0)),
    ("pause 2 dagar", Reply("pause", hours=48.0)),
    ("PAUSE 1 week", Reply("pause", hours=168.0)),
    ("PAUSE 31d", Reply("pause")),  # beyond MAX_PAUSE_HOURS
    ("PAUSE 0 min", Reply("pause")),
    ("PAUSE 8 please", Reply("pause", hours=8.0)),  # a word that is no unit leaves hours
    ("PAUSE8", Reply("unknown")),
    # Anything else means nothing.
    ("", Reply("unknown")),
    (None, Reply("unknown")),
    ("   ", Reply("unknown")),
    ("\n\u00a0\t", Reply("unknown")),
    ("?", Reply("unknown")),
    ("!!!...", Reply("unknown")),
    ("👍", Reply("unknown")),
    ("👍 yes", Reply("accept")),
    ("Yesterday", Reply("unknown")),
    ("Nope", Reply("decline")),
    ("yess", Reply("unknown")),
    ("okay", Reply("accept")),
    ("Ending", Reply("unknown")),
    ("y_e_s", Reply("accept")),  # an underscore separates words like any other punctuation
    ("11", Reply("unknown")),
    ("4821 YES", Reply("accept", code="4821")),
    ("Who is this?", Reply("unknown")),
    # Long bodies are read from their first word.
    ("YES " + "x" * 1596, Reply("accept")),
    ("yes 4821 " + "blah " * 318, Reply("accept", code="4821")),
    ("x" * 1600, Reply("unknown")),
    ("🙂" * 1600, Reply("unknown")),
]


def describe(body: str | None) -> str:
    """Return a short test id for a body."""
    if body is not None and len(body) > 40:
        return f"{body[:12]!r}...({len(body)} chars)"
    return repr(body)


@pytest.mark.parametrize(("body", "expected"), CASES + KEYWORD_CASES,
                         ids=[describe(body) for body, _ in CASES + KEYWORD_CASES])
def test_a_reply_is_read_as_its_words_mean(body, expected):
    assert parse_reply(body) == expected


def test_every_intent_of_the_design_is_named():
    assert set(INTENTS) == {*GRAMMAR, "unknown"}


def test_every_parsed_intent_is_one_of_the_named_intents():
    assert {parse_reply(body).intent for body, _ in CASES + KEYWORD_CASES} <= INTENTS


def test_a_reply_cannot_be_changed_once_read():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_reply("YES").intent = "decline"


def test_nothing_after_the_bounded_prefix_is_read():
    late_code = "YES" + " " * replies.PREFIX + "4821"

    assert parse_reply(late_code) == Reply("accept")


def test_a_word_cut_at_the_prefix_does_not_pass_for_a_code():
    cut = "YES" + " " * (replies.PREFIX - 7) + "48213"

    assert parse_reply(cut) == Reply("accept")


def test_a_huge_body_is_read_only_as_far_as_its_bounded_prefix():
    huge = "YES " + "é🙂 " * 1_000_000 + "4821"

    assert parse_reply(huge) == parse_reply(huge[: replies.PREFIX]) == Reply("accept")


def test_the_docstring_examples_run():
    failed, attempted = doctest.testmod(replies)

    assert attempted > 0
    assert failed == 0


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_the_grammar_imports_the_standard_library_and_its_keywords_only(source):
    roots = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add("." * node.level + (node.module or ""))

    own = {r for r in roots if r.split(".")[0] == "dispatcher"}
    assert own <= {"dispatcher.domain"}  # from dispatcher.domain import keywords
    assert not any(r.startswith(".") for r in roots)
    assert {r.split(".")[0] for r in roots - own} <= set(sys.stdlib_module_names) | {"__future__"}
