"""Rewrite the generated blocks of an experiment's README (shared by its make_table.py scripts).

A block sits between ``<!-- table:NAME:begin -->`` and ``<!-- table:NAME:end -->``; a script
generates each block's Markdown from its report files, and nothing in a block is typed by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

BLOCK = re.compile(r"(<!-- table:(\w+):begin -->\n)(.*?)(<!-- table:\2:end -->)", re.S)


def rewrite(readme: Path, generated: dict[str, str], *, check: bool) -> int:
    """Put ``generated[NAME]`` into each NAME block (others stay); ``check``: only compare.

    Returns the exit status: 1 when ``check`` finds a stale block, else 0.
    """
    text = readme.read_text()

    def replace(match: re.Match) -> str:
        body = generated.get(match.group(2))
        return match.group(0) if body is None else f"{match.group(1)}{body}\n{match.group(4)}"

    new = BLOCK.sub(replace, text)
    if check:
        if new != text:
            name = readme.relative_to(Path(__file__).resolve().parents[1])
            print(f"{name} is stale; run {name.parent}/make_table.py")
            return 1
        return 0
    readme.write_text(new)
    return 0
