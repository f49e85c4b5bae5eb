"""What the tests check of the JSON handoff: it validates against the committed schema, and
every item the markdown handoff shows is in it (code blocks, SQL, names, evidence, probes)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema

from advisor.export.report import sentence, text

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "config" / "handoff.schema.json"
TEMPLATE = ROOT / "advisor" / "export" / "templates" / "handoff.md.j2"
FENCE = re.compile(r"^(`{3,})(\w*)\n(.*?)\n\1$", flags=re.MULTILINE | re.DOTALL)
SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def validate(document: Any) -> None:
    """Raise jsonschema.ValidationError unless the document matches the committed schema."""
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys aside."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def fenced(markdown: str, language: str | None = None) -> list[str]:
    """The fenced code blocks' contents (of one language, if given)."""
    return [m.group(3) for m in FENCE.finditer(markdown) if language in (None, m.group(2))]


def statements(script: str) -> list[str]:
    """The SQL statements of a script, one per `;` that ends a line."""
    return [s.strip() + ";" for s in re.split(r";\s*$", script, flags=re.MULTILINE) if s.strip()]


def json_sql(document: Any) -> set[str]:
    """Every SQL statement the JSON holds in a field meant to be run."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and (key.endswith("_sql") or key.endswith("_script")):
                    found.update(statements(item))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    return found


def missing_from_json(markdown: str, document: Any) -> list[str]:
    """The items the markdown shows that the JSON does not hold; [] when it holds them all."""
    leaves = list(strings(document))
    lines = {line for leaf in leaves for line in leaf.splitlines()}
    flat = [" ".join(leaf.split()) for leaf in leaves]
    template = TEMPLATE.read_text()
    missing = []
    # Every line of every code block: the Drizzle code, imports, commands and SQL.
    for block in fenced(markdown):
        missing += [f"code line: {line}" for line in block.splitlines() if line not in lines]
    # Every SQL statement to run, as a statement the JSON gives to run.
    sql = json_sql(document)
    for block in fenced(markdown, "sql"):
        missing += [f"SQL: {s}" for s in statements(block) if s not in sql]
    # Every name, statement and key in an inline code span, but the template's own words.
    prose = FENCE.sub("", markdown)
    for match in SPAN.finditer(prose):
        span = match.group(2).replace("\\|", "|").strip()
        if match.group(0) in template:
            continue
        if not any(span.rstrip("…") in leaf for leaf in flat):
            missing.append(f"code span: {span}")
    # Every anti-pattern's evidence, every drop's and every value probe's words.
    antipatterns = {
        (a["title"], sentence(a["evidence"])) for a in document["findings"]["antipatterns"]
    }
    # ...and every pool change's (its evidence as the handoff escapes it).
    antipatterns |= {
        (p["title"], text(p["evidence"])) for p in document["findings"]["pool_changes"]
    }
    for title, evidence in re.findall(r"^\*\*(.+?)\*\* \(.+?\): (.+)$", markdown, re.MULTILINE):
        if (title, evidence) not in antipatterns:
            missing.append(f"finding: {title}: {evidence}")
    drops = {(d["name"], d["evidence"]) for d in document["schema_changes"]["drop_indexes"]}
    for name, reason in re.findall(r"^- `([^`]+)` on .+?, \w+, [^:]+: (.+)\.$", markdown, re.M):
        if (name, reason) not in drops:
            missing.append(f"drop: {name}: {reason}")
    probes = {
        (p["unknown"], p["index_needs"], p["how_to_learn"])
        for p in document["pending"]["value_probes"]
    }
    pattern = r"the unknown is (.+?); the index needs (.+?)\. To learn it: (.+)$"
    for found in re.findall(pattern, markdown, re.MULTILINE):
        if tuple(found) not in probes:
            missing.append(f"value probe: {found}")
    return missing
