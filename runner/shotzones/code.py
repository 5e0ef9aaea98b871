"""Code fingerprints: what built a partition, as dbt compiles it.

A model's fingerprint hashes its compiled SQL for the full range (no batch: the form a plain
`dbt build` compiles, so batch bounds never enter it), which covers its own SQL, the macros it
calls and the vars it reads, and chains the fingerprints of every model upstream of it. A var
that changes nothing in the compiled SQL (a test threshold) changes no fingerprint.

Compiling costs a dbt invocation (seconds), so fingerprints are cached in dbt's target/ under a
key of everything that can change the compiled SQL: the project's model and macro files,
dbt_project.yml, the profile, the vars and the target. The same compile's parse of the sources'
freshness is cached beside them: dbt's manifest.json is no place to read it later, as a dbt
killed while writing it leaves it cut short. So is the compiled SQL of the ephemeral models,
which the runner runs itself (`query`), and, cached the same way, the SQL a macro compiles to
(`macro_sql`, `DuckDBMacro`) where Python needs a dbt rule outside a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from shotzones import dbt, retry
from shotzones.busy import WarehouseBusy, held_file
from shotzones.settings import BadVar, Settings

CACHE = "shotzones_code_fingerprints.json"  # in dbt's target directory
SOURCE_FILES = ("models", "macros", "dbt_project.yml")
CACHE_ENTRIES = 16
CACHE_FORMAT = 6  # 2: every model, views too; 3: the sources' freshness; 4: ephemeral models' SQL; 5: every model's
# 6: fingerprints of the SQL as executed, without comments or layout (executed_sql)
MACRO_CACHE = "shotzones_macro_sql.json"  # in dbt's target directory
MACRO_TARGET_PATH = "shotzones_macro_sql"  # macro_sql's own dbt target directory, inside dbt's


@dataclass(frozen=True)
class CodeVersion:
    """One model's fingerprint, and what went into it (to say what changed)."""

    fingerprint: str
    # the compiled SQL without the warehouse's name, which a direct dbt run's on-run-end hook
    # records too: the same hash means that run built this version
    compiled_md5: str
    # "sql": hash of the model's own SQL file; "macros": {name: hash} of every macro it and its
    # upstream models call; "upstream": {model: fingerprint}; "vars": every var's value
    components: dict
    materialized: str = "incremental"  # or "view"

    def changes_since(self, before: CodeVersion | None) -> str:
        """What differs from an earlier version, as well as can be told."""
        if before is None:
            return "code unknown: built before code fingerprints, or by a direct dbt run of other code"
        now, then = self.components, before.components
        parts = []
        if now.get("sql") != then.get("sql"):
            parts.append("its SQL")
        for kind in ("upstream", "macros"):
            changed = sorted(
                k
                for k in now.get(kind, {}).keys() | then.get(kind, {}).keys()
                if now.get(kind, {}).get(k) != then.get(kind, {}).get(k)
            )
            parts += [f"{kind[:-1] if kind == 'macros' else 'upstream model'} {name}" for name in changed]
        now_vars, then_vars = now.get("vars", {}), then.get("vars", {})
        for name in sorted(now_vars.keys() | then_vars.keys()):
            if now_vars.get(name) != then_vars.get(name):
                parts.append(f"var {name} {then_vars.get(name)!r} -> {now_vars.get(name)!r}")
        return ", ".join(parts) or "its compiled SQL"


def _md5(text: str) -> str:
    # md5, as dbt's `local_md5`, so the on-run-end hook can hash compiled SQL the same way
    return hashlib.md5(text.encode()).hexdigest()


# A quoted string or identifier ('it''s', "a ""b""", `t`), kept as written, or a gap between
# tokens: whitespace and comments (`-- ...` to the end of the line, `/* ... */`). Unrolled loops:
# linear time even on an unterminated quote. BigQuery's strings escape with a backslash too.
_QUOTED = r"""'[^']*(?:''[^']*)*'|"[^"]*(?:""[^"]*)*"|`[^`]*`"""
_QUOTED_WITH_BACKSLASHES = r"""'[^'\\]*(?:(?:''|\\.)[^'\\]*)*'|"[^"\\]*(?:(?:""|\\.)[^"\\]*)*"|`[^`]*`"""
_GAP = r"(?:\s+|--[^\n]*|/\*.*?\*/)+"
_SQL_TOKENS = {
    escapes: re.compile(f"(?P<quoted>{quoted})|{_GAP}", re.DOTALL)
    for escapes, quoted in ((False, _QUOTED), (True, _QUOTED_WITH_BACKSLASHES))
}


def executed_sql(sql: str, backslash_escapes: bool = False) -> str:
    """SQL as the warehouse executes it: without comments, every run of whitespace one space,
    except inside quoted strings and identifiers. A change to a comment or the layout leaves it
    as it was, so it changes no fingerprint."""
    gaps_to_space = _SQL_TOKENS[backslash_escapes].sub(lambda m: m.group("quoted") or " ", sql)
    return gaps_to_space.strip()


def without_warehouse_name(compiled: str, database: str) -> str:
    """Compiled SQL without the warehouse's name (a DuckDB file's stem, a GCP project): a copy
    of the warehouse runs the same code. The on-run-end hook strips it the same way."""
    return compiled.replace(f'"{database}".', "").replace(f"`{database}`.", "")


def target_dir(settings: Settings) -> Path:
    """dbt's target directory: target/ in the project, unless DBT_TARGET_PATH says otherwise."""
    return settings.project_dir / os.environ.get("DBT_TARGET_PATH", "target")


def _cache_key(settings: Settings, *extra: str, files: tuple[str, ...] = SOURCE_FILES) -> str:
    digest = hashlib.sha256()
    paths = [settings.project_dir / "profiles" / "profiles.yml"]
    for name in files:
        root = settings.project_dir / name
        paths += sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    for path in paths:
        digest.update(str(path.relative_to(settings.project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    # on BigQuery the compiled SQL names the project and dataset: another warehouse compiles anew
    where = [settings.bq_project, settings.bq_dataset] if settings.target == "bigquery" else []
    digest.update(json.dumps([CACHE_FORMAT, settings.target, *where, settings.dbt_vars, *extra]).encode())
    return digest.hexdigest()


def _cached(path: Path, key: str, compute, entries: int = CACHE_ENTRIES):
    """`compute()`, cached in the JSON file at `path` under `key`: the newest few keys
    (warehouses, vars, code versions) stay, so the file stays small."""
    cached = json.loads(path.read_text()) if path.exists() else {}
    if key not in cached:
        cached = dict(list(cached.items())[-(entries - 1) :]) | {key: compute()}
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_text(json.dumps(cached))
        partial.replace(path)  # atomic: a concurrent reader sees the old file or the new
    return cached[key]


def _compiled(settings: Settings) -> dict:
    """What the project compiles to now (cached): {"models": {model: version}, "freshness":
    {source: its freshness config}}."""
    return _cached(target_dir(settings) / CACHE, _cache_key(settings), lambda: compile_project(settings))


def current_versions(settings: Settings) -> dict[str, CodeVersion]:
    """The fingerprint of every model (the incremental ones and the views) as the project
    compiles now."""
    return {model: CodeVersion(**version) for model, version in _compiled(settings)["models"].items()}


def query(settings: Settings, model: str) -> str:
    """A model's SQL as the project compiles now (for every date), without the warehouse's
    name: the runner runs the ephemeral ones itself, needing nothing built."""
    return _compiled(settings)["compiled"][model]


def compiled_models(settings: Settings) -> dict[str, str]:
    """Every model's SQL as the project compiles now, without the warehouse's name."""
    return _compiled(settings)["compiled"]


def relations(settings: Settings) -> dict[str, str]:
    """Each model's relation as the project compiles now, without the warehouse's name."""
    return _compiled(settings)["relations"]


# dbt runs one invocation at a time in a process: the first of threads asking at once compiles
_compiling = threading.Lock()
# what macro_sql puts between the calls it compiles in one invocation
MACRO_SEPARATOR = "\n-- shotzones: next macro call --\n"
# what the macro calls read: the macros and the project's vars, not the models
MACRO_FILES = ("macros", "dbt_project.yml")


def macro_sql(settings: Settings, calls: tuple[str, ...]) -> dict[str, str]:
    """The SQL each macro call (`canonical_game_id('{0}')`) compiles to on the settings'
    target, cached per version of the macros: one dbt invocation for them all. DuckDB compiles
    against an in-memory database (a macro reads no warehouse, and the warehouse file may be
    held, or not exist yet), and BigQuery without listing the warehouse's relations; in a
    target directory of its own, so that its parse leaves the models' partial parse alone."""
    if settings.target == "duckdb":
        settings = replace(settings, duckdb_path=Path(":memory:"))

    def compile_calls() -> dict[str, str]:
        inline = MACRO_SEPARATOR.join("{{ " + call + " }}" for call in calls)
        command = [
            "compile",
            "--no-populate-cache",
            "--inline",
            inline,
            "--log-level",
            "none",
            "--target-path",
            str(target_dir(settings) / MACRO_TARGET_PATH),
        ]
        node = _compile(settings, command).result.results[0].node
        # a ref() names the in-memory database on DuckDB: the warehouse's own is the default
        compiled = (
            without_warehouse_name(node.compiled_code, node.database)
            if settings.target == "duckdb"
            else node.compiled_code
        )
        return dict(zip(calls, (part.strip() for part in compiled.split(MACRO_SEPARATOR))))

    key = _cache_key(settings, *calls, files=MACRO_FILES)
    with _compiling:
        return _cached(target_dir(settings) / MACRO_CACHE, key, compile_calls, 4 * CACHE_ENTRIES)


class DuckDBMacro:
    """A dbt macro call (`canonical_game_id('{0}')`) for code that runs before dbt has built
    anything (the loader, on either target): `sql(settings)` is the template string of DuckDB
    SQL it compiles to in the settings' project, compiled on first use with every other such
    call (`macro_sql`: one dbt invocation, cached), so that the macro stays the one home of the
    rule."""

    calls: list[str] = []  # every instance's, compiled together

    def __init__(self, call: str):
        self.call = call
        DuckDBMacro.calls.append(call)

    def sql(self, settings: Settings) -> str:
        return macro_sql(replace(settings, target="duckdb"), tuple(DuckDBMacro.calls))[self.call]


def source_freshness(settings: Settings, source: str) -> dict:
    """A source's freshness config as dbt parses it now (warn_after, error_after), {} if none."""
    return _compiled(settings)["freshness"].get(source) or {}


# the line of a compile error that a var's rule raised (macros/vars.sql, model_features)
_REFUSED_VAR = re.compile(r"var \w+\b.*\bmust be\b")


def _compile(settings: Settings, command: list[str]):
    """`dbt compile`, which opens the DuckDB file: while another process holds it (one that did
    not announce itself, e.g. a `dbt build`), tried again until `settings.wait_seconds` have
    passed, then WarehouseBusy naming it."""

    def once():
        try:
            return dbt.invoke(settings, command)
        except dbt.DbtError as error:
            raise held_file(settings, error) or error from error.__cause__

    return retry.until(time.monotonic() + settings.wait_seconds, once, retry_on=lambda e: isinstance(e, WarehouseBusy))


def compile_project(settings: Settings) -> dict:
    """One `dbt compile` of every model, for every date. A var its rule refuses is BadVar, its
    one line without dbt's wrapper; a failed compile raises, so it is never cached."""
    try:
        invocation = _compile(settings, ["compile", "--select", "resource_type:model", "--log-level", "none"])
    except dbt.DbtError as error:
        refused = [line.strip() for line in str(error).splitlines() if _REFUSED_VAR.match(line.strip())]
        if refused:
            raise BadVar(refused[0]) from error
        raise
    nodes = {result.node.unique_id: result.node for result in invocation.result.results}
    manifest = json.loads((target_dir(settings) / "manifest.json").read_text())
    macros = manifest["macros"]

    def macro_closure(names: list[str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        todo = list(names)
        while todo:
            name = todo.pop()
            if name in seen or name not in macros:
                continue
            seen[name] = _md5(macros[name]["macro_sql"])
            todo += macros[name]["depends_on"]["macros"]
        return seen

    project_vars = settings.vars
    versions: dict[str, dict] = {}

    def version(unique_id: str) -> dict:
        if unique_id not in versions:
            node = nodes[unique_id]
            code = without_warehouse_name(node.compiled_code, node.database)
            upstream = {nodes[d].name: version(d)["fingerprint"] for d in node.depends_on.nodes if d in nodes}
            own_macros = macro_closure(list(node.depends_on.macros))
            all_macros = {}
            for d in node.depends_on.nodes:
                if d in nodes:
                    all_macros |= version(d)["components"]["macros"]
            all_macros |= own_macros
            versions[unique_id] = {
                # only what the warehouse executes: a comment or layout change is no change
                "fingerprint": _md5(
                    executed_sql(code, backslash_escapes=settings.target == "bigquery")
                    + json.dumps(upstream, sort_keys=True)
                ),
                "compiled_md5": _md5(code),
                "components": {
                    "sql": _md5(node.raw_code),
                    "upstream": upstream,
                    "macros": {name.removeprefix("macro."): digest for name, digest in sorted(all_macros.items())},
                    "vars": project_vars,
                },
                "materialized": node.config.materialized,
            }
        return versions[unique_id]

    return {
        "models": {node.name: version(unique_id) for unique_id, node in nodes.items()},
        # each model's SQL and relation, without the warehouse's name: the runner runs the
        # ephemeral ones itself, and asks the warehouse what columns the others compile to
        "compiled": {node.name: without_warehouse_name(node.compiled_code, node.database) for node in nodes.values()},
        "relations": {
            node.name: without_warehouse_name(node.relation_name, node.database)
            for node in nodes.values()
            if node.relation_name
        },
        "freshness": {unique_id: source.get("freshness") for unique_id, source in manifest["sources"].items()},
    }
