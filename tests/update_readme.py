"""`python -m tests.update_readme`: regenerate the README's settings table and `.env.example` from the
Settings model."""

from __future__ import annotations

import re
from pathlib import Path

from rag.core.settings import env_example, settings_table


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


def update_env_example(path: Path) -> bool:
    new = env_example()
    changed = not path.exists() or path.read_text() != new
    path.write_text(new)
    return changed


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    print("README:", "updated" if update(root / "README.md") else "unchanged")
    print(".env.example:", "updated" if update_env_example(root / ".env.example") else "unchanged")
