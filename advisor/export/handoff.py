"""The handoff's content as one model: what `role-comm-database.md` says and what its JSON
twin `role-comm-database.json` holds, for people and for the agents and scripts that act on it.

`build_handoff` makes a `Handoff` from a report's inputs; report.py renders its markdown from
it and `handoff_json` serializes it, so the two cannot say different things. The JSON Schema
of the document is generated from these models (`python -m advisor.export.handoff_schema`
writes `config/handoff.schema.json`; a test checks that the committed file is what they
generate). Every list comes in the order the markdown shows it, and nothing in the document
depends on when it was written but the report's day: the same inputs give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.export.drizzle import imports_needed
from advisor.export.poolcode import pool_finding_views
from advisor.export.views import (
    Changes,
    IndexView,
    ReportInputs,
    TableChange,
    concurrent_script,
    index_views,
    invalid_check_sql,
    migration_script,
    proposed_drops,
    table_changes,
)
from advisor.model import Finding

HANDOFF_VERSION = 1
# The schema's identifier, named by each document in its "$schema" key (Handoff.schema_
# spells it again: a Literal takes no constant).
HANDOFF_SCHEMA_ID = "urn:pg-advisor:handoff:1"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Part(BaseModel):
    """A part of the document: immutable, nothing but its declared keys, and every key
    present in the JSON (null when it has no value), so that a consumer never guesses."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_serialization_defaults_required=True,
    )


class ValueDependency(_Part):
    """A value an index's advice rests on; if its share changes, the advice may drift."""

    target: str = Field(description="The column or expression compared with the values.")
    values: list[str]
    source: str = Field(description="Where the values were seen (pg_stats, pg_qualstats, ...).")
    share_of_calls: float | None
    share_of_rows: float | None
    description: str = Field(description="The dependency in words, as the markdown says it.")


class NewIndex(_Part):
    """One index to create, with the SQL and Drizzle code that declare it."""

    rank: int = Field(description="1 saves the most database time per day.")
    name: str
    table: str = Field(description="Schema-qualified, as SQL writes it.")
    drizzle_variable: str = Field(description="The table's variable in the Drizzle schema.")
    access_method: str
    keys: list[str] = Field(description="The key columns or expressions, with their order.")
    include: list[str]
    predicate: str | None
    definition: str = Field(description="What follows the index name in CREATE INDEX.")
    index_names: list[str] = Field(
        description="Its name, and on a partitioned table each partition's index's too."
    )
    create_concurrently_sql: str = Field(description="Run outside a transaction, before deploying.")
    migration_sql: str = Field(description="What replaces drizzle-kit's CREATE INDEX.")
    drizzle_code: str = Field(description="The entry for the table's index callback.")
    drizzle_cannot_declare: list[str] = Field(
        description="What the code leaves out and only the SQL builds (INCLUDE columns)."
    )
    estimated_ms_saved_per_day: float = Field(description="Net of the write cost.")
    estimated_size_bytes: int
    estimated_write_ms_per_day: float
    queryids: list[int] = Field(description="The statements it serves (see new_queries).")
    depends_on: list[ValueDependency]
    warnings: list[str]
    notes: list[str]
    partitions: list[str]


class DrizzleTableChange(_Part):
    """The code to add to one table's index callback in the Drizzle schema."""

    table: str
    drizzle_variable: str
    callback_style: Literal["array", "object", "block"] | None = Field(
        description="How its index callback returns indexes; null when it has none."
    )
    from_schema_file: bool = Field(description="Whether the names were read from the file.")
    snippet: str
    index_names: list[str]


class IndexDrop(_Part):
    """An existing index to drop, the evidence for it, and how to undo the drop."""

    name: str
    table: str
    kind: str = Field(description="unused, duplicate or redundant.")
    size_bytes: int
    evidence: str
    covered_by: str | None
    drop_sql: str
    rollback_sql: str


class SchemaChanges(_Part):
    """The indexes to create and to drop, and the Drizzle code for them."""

    create_indexes: list[NewIndex]
    drizzle_tables: list[DrizzleTableChange]
    drizzle_imports: list[str]
    drop_indexes: list[IndexDrop]
    estimated_ms_saved_per_day: float
    estimated_size_bytes: int


class NewQuery(_Part):
    """A statement a new index answers, with the planner's cost before and after."""

    index: str
    queryid: int
    statement: str = Field(description="Normalized: $1, $2 ... are its parameters.")
    calls: int
    mean_ms: float
    plan_cost_before: float
    plan_cost_after: float
    estimated_ms_saved_per_day: float


class AntipatternItem(_Part):
    """An application habit the workload shows, its evidence and its fix."""

    key: str = Field(description="Stable from one report to the next while it lasts.")
    kind: str
    title: str
    table: str
    evidence: str
    queryids: list[int]
    statements: list[str]
    columns: list[str]
    query_change: bool = Field(description="Whether the fix is a change to the code's queries.")
    fix: str
    code: str = Field(description="The fix as code; empty when the fix is in words only.")
    code_language: str


class HealthItem(_Part):
    """An index health finding (unused, duplicate, redundant, invalid, needed ...)."""

    kind: str
    table: str
    index: str
    size_bytes: int
    evidence: str
    fix_sql: str
    rollback_sql: str | None
    covered_by: str | None


class PoolChange(_Part):
    """A connection habit the samples of pg_stat_activity show, with the change to make."""

    kind: str
    title: str
    application: str | None = Field(description="null for a server-wide finding.")
    evidence: str
    advice: str
    code: str = Field(description="node-postgres/Drizzle pool code; empty when none.")
    timeout_sql: str = Field(description="SQL a DBA runs (a role's timeout); empty when none.")


class Findings(_Part):
    """What the workload and the catalogs show, with the evidence for each."""

    antipatterns: list[AntipatternItem]
    index_health: list[HealthItem]
    pool_changes: list[PoolChange]


class MigrationSteps(_Part):
    """The scripts and commands of the migration path; null where there is nothing to do."""

    generate_command: str | None
    migration_script: str | None = Field(
        description="Replaces drizzle-kit's CREATE INDEX lines in the generated migration."
    )
    concurrent_script: str | None = Field(description="advisor-indexes.sql, run with psql.")
    concurrent_command: str | None
    invalid_check_sql: str | None = Field(description="Lists what a failed build left invalid.")
    deploy_command: str | None
    partitioned_tables: list[str]
    drop_script: str | None = Field(description="advisor-drops.sql, run with psql.")
    drop_command: str | None
    rollback_script: str | None = Field(description="Builds each dropped index again.")


class Decision(_Part):
    """Something the previous report asked for and that is now settled."""

    what: str
    subject: str
    outcome: str


class CreatedIndex(_Part):
    """A recommended index that was built, and what it did to its statements."""

    name: str
    table: str
    created_on: date | None
    statements: int
    before_mean_ms: float
    after_mean_ms: float


class Decisions(_Part):
    """What was decided since the previous report (`previous_day` null: this is the first)."""

    previous_day: date | None
    resolved: list[Decision]
    created_indexes: list[CreatedIndex]


class ValueProbeItem(_Part):
    """A statement whose index needs a value no source showed, and how to learn it."""

    queryid: int
    statement: str
    ms_per_day: float
    unknown: str
    index_needs: str
    how_to_learn: str


class Drift(_Part):
    """A value an open recommendation depends on whose share moved since the last report."""

    index: str
    detail: str


class Pending(_Part):
    """What is still open: the changes above not yet made, and what needs a person."""

    indexes_to_create: list[str]
    indexes_to_drop: list[str]
    query_changes: list[str] = Field(description="Keys of the anti-patterns to fix in code.")
    value_probes: list[ValueProbeItem]
    values_drifted: list[Drift]


class Handoff(_Part):
    """The handoff to the application team for one database and day."""

    schema_: Literal["urn:pg-advisor:handoff:1"] = Field(alias="$schema")
    version: Literal[1]
    database: str
    day: date
    analyzed: bool = Field(description="False when no workload has been analyzed yet.")
    drizzle_schema: str | None = Field(description="The Drizzle schema file names came from.")
    schema_changes: SchemaChanges
    new_queries: list[NewQuery]
    findings: Findings
    migration: MigrationSteps
    decisions: Decisions
    pending: Pending


# -------------------------------------------------------------------- building

# The commands the migration steps run, as the handoff prints them.
GENERATE_COMMAND = "npx drizzle-kit generate --name advisor_indexes"
INDEXES_COMMAND = 'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f advisor-indexes.sql'
DROPS_COMMAND = 'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f advisor-drops.sql'
DEPLOY_COMMAND = "npx drizzle-kit migrate"


def build_handoff(
    inputs: ReportInputs, changes: Changes, antipatterns: Sequence[AntipatternItem]
) -> Handoff:
    """Everything the handoff says, from which its markdown and its JSON both come: the
    report's inputs, what changed since the previous report, and the anti-patterns with
    their fixes (report.py writes those)."""
    views = index_views(inputs)
    drops = tuple(_index_drop(f) for f in proposed_drops(inputs))
    return Handoff.model_validate(
        {
            "$schema": HANDOFF_SCHEMA_ID,
            "version": HANDOFF_VERSION,
            "database": inputs.database,
            "day": inputs.day,
            "analyzed": inputs.analysis is not None,
            "drizzle_schema": str(inputs.drizzle.path) if inputs.drizzle is not None else None,
            "schema_changes": SchemaChanges(
                create_indexes=[_new_index(view) for view in views],
                drizzle_tables=[_table_change(change) for change in table_changes(views)],
                drizzle_imports=list(imports_needed([v.drizzle for v in views])),
                drop_indexes=list(drops),
                estimated_ms_saved_per_day=_ms(
                    sum(v.recommendation.estimated_ms_saved_per_day for v in views)
                ),
                estimated_size_bytes=sum(v.recommendation.estimated_size_bytes for v in views),
            ),
            "new_queries": [
                NewQuery(
                    index=view.name,
                    queryid=effect.queryid,
                    statement=effect.query,
                    calls=effect.calls,
                    mean_ms=_ms(effect.mean_ms),
                    plan_cost_before=round(effect.cost_before, 2),
                    plan_cost_after=round(effect.cost_after, 2),
                    estimated_ms_saved_per_day=_ms(effect.estimated_ms_saved_per_day),
                )
                for view in views
                for effect in view.recommendation.statements
            ],
            "findings": Findings(
                antipatterns=list(antipatterns),
                index_health=[_health_item(f) for f in inputs.findings],
                pool_changes=[
                    PoolChange(
                        kind=view.finding.kind.value,
                        title=view.title,
                        application=view.finding.application,
                        evidence=view.finding.evidence,
                        advice=view.finding.advice,
                        code=view.code,
                        timeout_sql=view.sql,
                    )
                    for view in pool_finding_views(inputs.pools)
                ],
            ),
            "migration": _migration(views, drops),
            "decisions": _decisions(inputs, changes),
            "pending": Pending(
                indexes_to_create=[view.name for view in views],
                indexes_to_drop=[drop.name for drop in drops],
                query_changes=[a.key for a in antipatterns if a.query_change],
                value_probes=[
                    ValueProbeItem(
                        queryid=p.queryid,
                        statement=p.query,
                        ms_per_day=_ms(p.ms_per_day),
                        unknown=p.unknown,
                        index_needs=p.index_needs,
                        how_to_learn=p.how_to_learn,
                    )
                    for p in (inputs.analysis.value_probes if inputs.analysis else ())
                ],
                values_drifted=[Drift(index=c.subject, detail=c.detail) for c in changes.drifted],
            ),
        }
    )


def _ms(value: float) -> float:
    return round(value, 3)


def _new_index(view: IndexView) -> NewIndex:
    rec, design = view.recommendation, view.design
    return NewIndex(
        rank=view.rank,
        name=view.name,
        table=str(design.table),
        drizzle_variable=view.names.variable,
        access_method=design.access_method,
        keys=[key.sql() for key in design.keys],
        include=list(design.include),
        predicate=design.predicate,
        definition=design.definition_sql(),
        index_names=list(view.index_names),
        create_concurrently_sql=view.concurrent_sql,
        migration_sql=view.migration_sql,
        drizzle_code=view.drizzle.code,
        drizzle_cannot_declare=list(view.drizzle.missing),
        estimated_ms_saved_per_day=_ms(rec.estimated_ms_saved_per_day),
        estimated_size_bytes=rec.estimated_size_bytes,
        estimated_write_ms_per_day=_ms(rec.estimated_write_ms_per_day),
        queryids=[effect.queryid for effect in rec.statements],
        depends_on=[
            ValueDependency(
                target=a.target,
                values=list(a.values),
                source=a.source.value,
                share_of_calls=a.share_of_calls,
                share_of_rows=a.share_of_rows,
                description=a.describe(),
            )
            for a in rec.depends_on
        ],
        warnings=list(rec.warnings),
        notes=list(rec.notes),
        partitions=[str(p.table) for p in rec.partitions],
    )


def _table_change(change: TableChange) -> DrizzleTableChange:
    return DrizzleTableChange(
        table=str(change.table),
        drizzle_variable=change.names.variable,
        callback_style=change.names.callback_style,
        from_schema_file=change.names.from_schema_file,
        snippet=change.snippet,
        index_names=[view.name for view in change.indexes],
    )


def _index_drop(finding: Finding) -> IndexDrop:
    return IndexDrop(
        name=finding.index,
        table=str(finding.table),
        kind=finding.kind.value,
        size_bytes=finding.size_bytes,
        evidence=finding.reason,
        covered_by=finding.covered_by,
        drop_sql=finding.fix_sql,
        rollback_sql=finding.restore_sql or "",
    )


def _health_item(finding: Finding) -> HealthItem:
    return HealthItem(
        kind=finding.kind.value,
        table=str(finding.table),
        index=finding.index,
        size_bytes=finding.size_bytes,
        evidence=finding.reason,
        fix_sql=finding.fix_sql,
        rollback_sql=finding.restore_sql,
        covered_by=finding.covered_by,
    )


def _migration(views: Sequence[IndexView], drops: Sequence[IndexDrop]) -> MigrationSteps:
    creates = bool(views)
    return MigrationSteps(
        generate_command=GENERATE_COMMAND if creates else None,
        migration_script=migration_script(views) if creates else None,
        concurrent_script=concurrent_script(views) if creates else None,
        concurrent_command=INDEXES_COMMAND if creates else None,
        invalid_check_sql=invalid_check_sql(views) if creates else None,
        deploy_command=DEPLOY_COMMAND if creates else None,
        partitioned_tables=sorted(
            {str(v.design.table) for v in views if v.recommendation.partitions}
        ),
        drop_script="\n".join(d.drop_sql for d in drops) if drops else None,
        drop_command=DROPS_COMMAND if drops else None,
        rollback_script="\n".join(d.rollback_sql for d in drops) if drops else None,
    )


def _decisions(inputs: ReportInputs, changes: Changes) -> Decisions:
    return Decisions(
        previous_day=changes.previous_day,
        resolved=[
            Decision(what=c.what, subject=c.subject, outcome=c.detail) for c in changes.resolved
        ],
        created_indexes=[
            CreatedIndex(
                name=c.name,
                table=str(c.table),
                created_on=c.created_on,
                statements=c.statements,
                before_mean_ms=_ms(c.before_mean_ms),
                after_mean_ms=_ms(c.after_mean_ms),
            )
            for c in inputs.created or ()
        ],
    )


def handoff_json(handoff: Handoff) -> str:
    """The JSON document: the same handoff always gives the same bytes."""
    return handoff.model_dump_json(by_alias=True, indent=2) + "\n"


def handoff_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every handoff document validates against."""
    generated = Handoff.model_json_schema(by_alias=True, mode="serialization")
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": HANDOFF_SCHEMA_ID, **generated}


def handoff_schema_text() -> str:
    """The schema as `config/handoff.schema.json` holds it."""
    return json.dumps(handoff_schema(), indent=2, ensure_ascii=False) + "\n"
