"""What a comparison tells besides its numbers: the report's notes and the items in hand.

Every step writes to it: the variant list notes a model skipped at a scale, the image step an
uncached model, scoring a task that cannot map predictions back to HR, the gather step the
other ranks' notes; and each step records the items it is working on, so that a failure
under torchrun names them. It is a type of its own so that the step modules share it without
importing the harness that owns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from srpipe.distributed import describe_items


@dataclass
class Journal:
    """The notes a comparison's report shows, and the items this rank is working on."""

    #: shown under the report's tables, each once, in the order they arose
    notes: list[str] = field(default_factory=list)
    #: ids of the items this rank is on (named if it fails)
    working_on: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Add ``text`` to the report's notes unless it is there already."""
        if text not in self.notes:
            self.notes.append(text)

    def failed_at(self, where: str) -> str:
        """What a failure names: ``item 'a.png' (x2, variant 'hr')``, or ``setup (x2)``."""
        what = describe_items(self.working_on) if self.working_on else "setup"
        return f"{what} ({where})"
