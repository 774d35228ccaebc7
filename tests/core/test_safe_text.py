"""greta_core.safe_text: control and bidi characters shown escaped, long names shortened."""

from __future__ import annotations

import time

from greta_core.safe_text import escape_controls, for_display, shorten, shown_name, shown_text
from greta_core.report.text import wrap


def test_every_control_and_bidi_character_is_escaped() -> None:
    hostile = "".join(map(chr, (*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F),
                                *range(0x2066, 0x206A))))
    shown = shown_name(hostile)
    assert len(shown) <= 100 and shown.startswith("\\x00\\x01") and "\\x9b" in escape_controls(hostile)
    assert all(c.isprintable() for c in escape_controls(hostile))
    assert escape_controls("a\tb\nc\u202e", keep_layout=True) == "a\tb\nc\\u202e"
    assert escape_controls("température °C 価格") == "température °C 価格"  # printable: as is


def test_long_names_are_cut_in_the_middle() -> None:
    assert shorten("a" * 100) == "a" * 100
    cut = shorten("a" * 60 + "b" * 60)
    assert len(cut) == 100 and cut.startswith("a" * 50) and cut.endswith("b" * 49) and "…" in cut
    assert shown_text("see " + "x" * 5000 + " end") == f"see {shorten('x' * 5000)} end"


def test_for_display_replaces_names_inside_sentences_and_keeps_the_original() -> None:
    evil, long = "\x1b]0;T\x07", "N" * 70_000
    doc = {"target": "y", "columns": [{"name": evil, "sentence": f"As {evil} rises"},
                                      {"name": long, "sentence": f"{long} matters", "terms": [f"{long}^2"]}],
           "target_info": {"class_shares": {evil: 0.5}}, "hypotheses": []}
    shown = for_display(doc)
    assert shown["columns"][0]["sentence"] == "As \\x1b]0;T\\x07 rises"
    assert shown["columns"][1]["sentence"] == f"{shorten(long)} matters"
    assert [len(t) <= 100 and t.endswith("N^2") for t in shown["columns"][1]["terms"]] == [True]
    assert list(shown["target_info"]["class_shares"]) == ["\\x1b]0;T\\x07"]
    assert doc["columns"][1]["name"] == long  # the document itself is unchanged


def test_wrapping_a_long_word_takes_linear_time() -> None:
    t0 = time.perf_counter()
    lines = wrap("w" * 200_000, 88)
    assert time.perf_counter() - t0 < 5  # was minutes: each piece re-measured per character
    assert len(lines) == -(-200_000 // 88) and all(len(line) <= 88 for line in lines)
    assert wrap("界" * 5, 4) == ["界界", "界界", "界"]
