"""Writes the handoff's JSON Schema, generated from its model, to the repository's
`config/handoff.schema.json` (or the path given): `python -m advisor.export.handoff_schema`."""

from __future__ import annotations

import sys
from pathlib import Path

from advisor.export.handoff import handoff_schema_text

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "handoff.schema.json"


def main(argv: list[str]) -> int:
    if argv and (argv[0].startswith("-") or len(argv) > 1):
        print("usage: python -m advisor.export.handoff_schema [PATH]", file=sys.stderr)
        return 2
    path = Path(argv[0]) if argv else SCHEMA_PATH
    path.write_text(handoff_schema_text(), encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
