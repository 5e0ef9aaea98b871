"""What a model's table will hold, as the project compiles now, against what it holds: the
columns a code change adds, removes or retypes. A model whose columns change cannot be rebuilt
partition by partition into its table; the runner rebuilds it beside the live one instead
(rebuild.py). The compiled SQL is asked for its columns without running it (DuckDB binds it,
BigQuery dry-runs it), with every model it reads inlined as the project compiles it now: a
view or table in the warehouse may still be an older version."""

from __future__ import annotations

from dataclasses import dataclass

from shotzones import code
from shotzones.warehouse import Warehouse


@dataclass(frozen=True)
class SchemaChange:
    """A model's columns as compiled now, against its table's: name -> type."""

    model: str
    table: dict[str, str]
    compiled: dict[str, str]

    @property
    def added(self) -> list[str]:
        return [name for name in self.compiled if name not in self.table]

    @property
    def removed(self) -> list[str]:
        return [name for name in self.table if name not in self.compiled]

    @property
    def retyped(self) -> list[str]:
        return [name for name in self.compiled if name in self.table and self.compiled[name] != self.table[name]]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    def describe(self) -> str:
        """`columns added: x (DOUBLE); removed: y; retyped: z VARCHAR -> BIGINT`"""
        parts = []
        if self.added:
            parts.append("added " + ", ".join(f"{name} ({self.compiled[name]})" for name in self.added))
        if self.removed:
            parts.append("removed " + ", ".join(self.removed))
        if self.retyped:
            parts.append(
                "retyped " + ", ".join(f"{name} {self.table[name]} -> {self.compiled[name]}" for name in self.retyped)
            )
        return "columns " + "; ".join(parts)


def inlined_sql(model: str, compiled: dict[str, str], relations: dict[str, str]) -> str:
    """The model's compiled SQL with every model of `relations` ({model: relation}) it reads,
    however indirectly, replaced by that model's compiled SQL."""
    sql = compiled[model]
    changed = True
    while changed:
        changed = False
        for name, relation in relations.items():
            if name != model and relation in sql:
                sql = sql.replace(relation, f"(\n{compiled[name]}\n)")
                changed = True
    return sql


def schema_change(wh: Warehouse, model: str) -> SchemaChange | None:
    """How the model's table differs from what the project compiles it to; None when it does
    not exist yet."""
    if not wh.table_exists(model):
        return None
    sql = inlined_sql(model, code.compiled_models(wh.settings), code.relations(wh.settings))
    return SchemaChange(model, wh.column_types(wh.relation(model)), wh.query_column_types(sql))
