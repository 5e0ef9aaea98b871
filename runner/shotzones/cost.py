"""What a BigQuery backfill would scan, before it runs: each wave's statements compiled by dbt
for its batches and dry-run (BigQuery plans the query and reports the bytes it would process,
at no charge)."""

from __future__ import annotations

from dataclasses import dataclass

from shotzones import dbt
from shotzones.planning import Batch
from shotzones.settings import Settings
from shotzones.warehouse import BigQueryWarehouse, open_warehouse
from shotzones.waves import wave_command

TIB = 2**40


@dataclass(frozen=True)
class WaveCost:
    """The bytes each statement of one wave would process: the models' SELECTs (the source
    of each insert_overwrite MERGE) and the data tests. Views cost nothing to create."""

    batches: list[Batch]
    bytes_by_node: dict[str, int]

    @property
    def bytes(self) -> int:
        return sum(self.bytes_by_node.values())

    def dollars(self, price_per_tib: float) -> float:
        return self.bytes / TIB * price_per_tib


def estimate(settings: Settings, planned_waves: list[list[Batch]]) -> list[WaveCost]:
    costs = []
    with open_warehouse(settings) as wh:
        if not isinstance(wh, BigQueryWarehouse):
            raise ValueError(f"a cost estimate needs BigQuery's dry runs, not {settings.target}")
        for wave in planned_waves:
            # the wave's build selects the models, the views over them and every test of both
            selection = wave_command(wave[0].models)[1:]
            # compile prints each node it compiled unless told to log nothing
            invocation = dbt.invoke(
                settings, ["compile", *selection, "--log-level", "none"], [(b.start, b.end) for b in wave]
            )
            compiled = {
                result.node.name: result.node.compiled_code
                for result in invocation.result.results
                if result.node.config.materialized != "view"
            }
            costs.append(WaveCost(wave, {name: wh.dry_run(sql) for name, sql in sorted(compiled.items())}))
    return costs
