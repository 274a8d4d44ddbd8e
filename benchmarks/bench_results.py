"""What every benchmark script does with its results: the same JSON + Markdown layout in results/."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def write_results(out: str | Path, meta: dict, rows: list, table: str) -> None:
    """`out` gets {"meta", "rows"} as JSON, `out` with .md the printed table (the README quotes it)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    out.with_suffix(".md").write_text(table + "\n")
    print(f"wrote {out}", file=sys.stderr)
