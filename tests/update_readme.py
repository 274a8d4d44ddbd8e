"""`python -m tests.update_readme`: regenerate the README's settings table from the Settings model."""

from __future__ import annotations

import re
from pathlib import Path

from rag.core.settings import settings_table


def update(readme: Path) -> bool:
    text = readme.read_text()
    new = re.sub(
        r"(<!-- settings-table:start -->\n).*?(<!-- settings-table:end -->)",
        lambda m: m.group(1) + settings_table() + "\n" + m.group(2),
        text,
        flags=re.S,
    )
    readme.write_text(new)
    return new != text


if __name__ == "__main__":
    print("updated" if update(Path(__file__).resolve().parent.parent / "README.md") else "unchanged")
