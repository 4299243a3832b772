"""The journal: each note once, in order; a failure names the items in hand, or setup."""

from __future__ import annotations

from srpipe.comparison.journal import Journal


def test_notes_are_kept_once_in_order() -> None:
    journal = Journal()
    for text in ("b", "a", "b"):
        journal.note(text)
    assert journal.notes == ["b", "a"]


def test_a_failure_names_the_items_or_setup() -> None:
    journal = Journal()
    assert journal.failed_at("x2") == "setup (x2)"
    journal.working_on = ["img3"]
    assert journal.failed_at("x2, variant 'hr'") == "item 'img3' (x2, variant 'hr')"
