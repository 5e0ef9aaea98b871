"""The docs (README.md and docs/*.md) name only what exists: every repository file and folder
they name or link to, every `shotzones` command and each option named with it, every runner
function (`code.macro_sql`, `model_features()`), every `make` target, every `SHOTZONES_*`
environment variable and every dbt var. A renamed function, a removed option or a moved file
fails here, naming the page and the name. And they name no path outside the repository.

The matching is deliberately narrow, to raise no false alarms: names are read from inline code
(`...`), from code blocks and from links, never from prose; an example value (`data/synthetic`,
`slate.parquet`, a path under a folder the commands create) is not a repository file."""

from __future__ import annotations

import functools
import importlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
import yaml

from shotzones.cli import main

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "runner" / "shotzones"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# --- reading a page -----------------------------------------------------------------------------


@dataclass
class Page:
    """A markdown page split into what names things: its inline code spans, the lines of its code
    blocks, its links, its headings, and its text (prose and code) as a whole."""

    path: Path
    text: str
    spans: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (span, its section's commands)
    code_lines: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.path.relative_to(ROOT))


FENCE = re.compile(r"^\s*```")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
SPAN = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
COMMAND_IN_HEADING = re.compile(r"`shotzones ([a-z][a-z-]*)")


def read_page(path: Path) -> Page:
    text = path.read_text(encoding="utf-8")
    page = Page(path, text)
    in_code = False
    prose: list[tuple[str, tuple[str, ...]]] = []  # (line, the commands its section is about)
    section: tuple[str, ...] = ()
    for line in text.splitlines():
        if FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            page.code_lines.append(line)
            continue
        heading = HEADING.match(line)
        if heading:
            page.headings.append(heading[2])
            section = tuple(COMMAND_IN_HEADING.findall(heading[2]))
        prose.append((line, section))
    # inline code may run across a line break: read each paragraph (or table row) whole
    paragraph: list[str] = []
    paragraph_section: tuple[str, ...] = ()
    for line, line_section in [*prose, ("", ())]:
        if line.strip() and not line.lstrip().startswith("|") and not HEADING.match(line):
            if not paragraph:
                paragraph_section = line_section
            paragraph.append(line)
            continue
        for block, block_section in ((" ".join(paragraph), paragraph_section), (line, line_section)):
            block = block.replace("\\|", "|")
            page.spans += [(span.strip(), block_section) for span in SPAN.findall(block)]
            page.links += LINK.findall(block)
        paragraph = []
    return page


PAGES = {path.name: read_page(path) for path in DOCS}


def pages() -> list[Page]:
    return list(PAGES.values())


def page_ids() -> list[str]:
    return [page.name for page in pages()]


def code_tokens(page: Page) -> Iterator[str]:
    """The inline code spans, and the words of the code blocks."""
    for span, _ in page.spans:
        yield from span.split()
    for line in page.code_lines:
        yield from line.split()


# --- what exists --------------------------------------------------------------------------------

# folders the commands create, not the repository's: names under them are examples
GENERATED = ("bench/cache/", "warehouse/", "target/", "data/", "logs/", ".venv")
# what the commands and tools create, from the repository's root; and caches anywhere
IGNORED_PATHS = {".git", ".venv", ".venv-emulator", ".venv-bench", "target", "logs", "warehouse", "data", "bench/cache"}
IGNORED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".cache"}
REPOSITORY_ROOTS = ("runner/", "models/", "macros/", "tests/", "docs/", "bench/", "profiles/", ".ci/")
RUNNER_FOLDERS = ("load/", "generate/")  # named from inside runner/shotzones/
FILE_SUFFIXES = (".py", ".sql", ".yml", ".yaml", ".md", ".toml", ".txt")
PLACEHOLDER = re.compile(r"[*?<>{}\[\]$|]")


def repository_files() -> list[Path]:
    """The repository's files, without the folders the commands and tools create."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        here = Path(folder).relative_to(ROOT)
        subfolders[:] = [
            d
            for d in subfolders
            if str(here / d) not in IGNORED_PATHS and d not in IGNORED_DIRS and not d.endswith(".egg-info")
        ]
        found += [Path(folder) / name for name in files]
    return found


FILE_NAMES = {path.name for path in repository_files()}


def commands() -> dict[str, set[str]]:
    """Each `shotzones` command and its options, as click has them."""
    options = {}
    for name, command in main.commands.items():
        names = {"--help"}
        for param in command.params:
            if isinstance(param, click.Option):
                names |= {opt for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--")}
        options[name] = names
    return options


COMMANDS = commands()
EVERY_OPTION = set().union(*COMMANDS.values())


def runner_modules() -> dict[str, str]:
    """Each runner module by the name the docs give it (`code`, `tables`), to its import path;
    a top-level module wins over a package's module of the same name."""
    modules = {}
    for folder, package in ((RUNNER / "generate", "shotzones.generate"), (RUNNER / "load", "shotzones.load")):
        modules |= {path.stem: f"{package}.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__"}
    modules |= {"load": "shotzones.load", "generate": "shotzones.generate"}
    modules |= {path.stem: f"shotzones.{path.stem}" for path in RUNNER.glob("*.py") if path.stem != "__init__"}
    return modules


MODULES = runner_modules()


def macros() -> set[str]:
    found = set()
    for path in [*(ROOT / "macros").rglob("*.sql"), *(ROOT / "tests" / "generic").glob("*.sql")]:
        found |= set(re.findall(r"\{%-?\s*(?:macro|test)\s+(\w+)\s*\(", path.read_text()))
    return found


MACROS = macros()


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.M))


def project_vars() -> set[str]:
    return set(yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"])


@functools.cache
def environment_read() -> str:
    """Every source file that could read an environment variable, as one text."""
    places = [ROOT / "Makefile", ROOT / "dbt_project.yml"]
    for folder in ("runner", "profiles", "macros", "models", "tests", "bench"):
        places += [p for p in repository_files() if p.is_relative_to(ROOT / folder)]
    this = Path(__file__).resolve()
    return "\n".join(
        p.read_text(errors="ignore")
        for p in places
        if p.suffix in (".py", ".sql", ".yml", ".yaml", "") and p.resolve() != this
    )


# --- the checks, each a list of what a page names that does not exist ---------------------------


def missing_files(page: Page) -> list[str]:
    """A repository path (`runner/shotzones/code.py`, `load/bundles.py`) or a file named bare
    (`retry.py`, `dbt_project.yml`, `Makefile`) that is not in the repository."""
    wrong = []
    for token in code_tokens(page):
        token = token.lstrip("('\"").rstrip(",.;:)'\"")
        if not token or PLACEHOLDER.search(token) or token.startswith(GENERATED):
            continue
        if token.startswith(REPOSITORY_ROOTS):
            if not (ROOT / token).exists():
                wrong.append(token)
        elif token.startswith(RUNNER_FOLDERS):
            if not (RUNNER / token).exists():
                wrong.append(token)
        elif token.startswith("../") or token.startswith("./"):
            if not (page.path.parent / token).resolve().exists():
                wrong.append(token)
        elif token == "Makefile" or re.fullmatch(r"[\w.-]+", token) and token.endswith(FILE_SUFFIXES):
            if token not in FILE_NAMES:
                wrong.append(token)
    return wrong


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def broken_links(page: Page) -> list[str]:
    """A link to a file that does not exist, outside the repository, or to a heading the page
    does not have."""
    wrong = []
    for link in page.links:
        if re.match(r"[a-z]+:", link):  # https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        path = (page.path.parent / target).resolve() if target else page.path  # `#heading`: this page
        if target and (not path.is_relative_to(ROOT) or not path.exists()):
            wrong.append(link)
        elif anchor and path.suffix == ".md":
            headings = PAGES[path.name].headings if path in DOCS else read_page(path).headings
            if anchor not in {slug(h) for h in headings}:
                wrong.append(link)
    return wrong


OUTSIDE = re.compile(
    r"(?<![\w.:/$~-])/(?:tmp|home|srv|var|work|usr|opt|etc|mnt|root|private|Users|shared)/[^\s`)]*"
    r"|(?<![\w.$/-])~/[^\s`)]*"
    r"|(?<![\w.$/-])\.\./[^\s`)]*"
)


def paths_outside(page: Page) -> list[str]:
    """An absolute path on some machine, a home folder, or a path climbing out of the
    repository (`../shared/SPEC.md` from the README); `../BENCHMARKS.md` from docs/ stays in."""
    wrong = []
    for found in OUTSIDE.findall(page.text):
        if found.startswith("../") and (page.path.parent / found).resolve().is_relative_to(ROOT):
            continue
        wrong.append(found)
    return wrong


INVOCATION = re.compile(r"(?:^|[\s(/`\"])shotzones ([a-z][a-z-]*)(.*)")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
# where the options of one command end: a comment, a pipe or list, a redirection, another command
END_OF_COMMAND = re.compile(r"\s#|\||&&|;|>|\)|`|\bshotzones ")


def command_options(text: str) -> Iterator[tuple[str, list[str]]]:
    """Each `shotzones COMMAND --option ...` in a text, with the options given to it."""
    while match := INVOCATION.search(text):
        rest = match[2]
        end = END_OF_COMMAND.search(rest)
        yield match[1], OPTION.findall(rest[: end.start()] if end else rest)
        text = rest[end.start() :] if end else ""


def unknown_commands_and_options(page: Page) -> list[str]:
    """A `shotzones` command that is not one, or an option its command does not take: given to
    it (`shotzones backfill --force`, `backfill --force`), or named alone in a section about it
    (cli.md's `### shotzones backfill`), or named alone anywhere and no command's at all."""
    wrong = []
    for text in [span for span, _ in page.spans] + page.code_lines:
        for command, options in command_options(text):
            if command not in COMMANDS:
                wrong.append(f"shotzones {command}")
            else:
                wrong += [f"shotzones {command} {opt}" for opt in options if opt not in COMMANDS[command]]
    for span, section in page.spans:
        first = span.split(" ", 1)[0]
        if first in COMMANDS and re.match(r"[a-z-]+ --", span):  # `backfill --full-refresh`
            wrong += [f"{first} {opt}" for opt in OPTION.findall(span) if opt not in COMMANDS[first]]
        elif span.startswith("--"):  # `--wait`, `--start/--end`
            for opt in OPTION.findall(span):
                if section and not all(opt in COMMANDS.get(c, ()) for c in section):
                    wrong.append(f"{' and '.join(section)}: {opt}")
                elif opt not in EVERY_OPTION:
                    wrong.append(opt)
    return wrong


DOTTED = re.compile(r"([A-Za-z_]\w*)\.([A-Za-z_]\w*)(\(\))?")
CALL = re.compile(r"([a-z_]\w*)\(\)")
NOT_CODE = (".yml", ".yaml", ".py", ".sql", ".md", ".toml", ".txt", ".csv", ".json", ".jsonl", ".parquet", ".png")


def runner_class(name: str):
    for module in MODULES.values():
        found = getattr(importlib.import_module(module), name, None)
        if isinstance(found, type):
            return found
    return None


def unknown_functions(page: Page) -> list[str]:
    """`module.name` of a runner module (`code.macro_sql`, `tables.TABLES`), `Class.name` of a
    runner class (`Settings.vars`), or `name()`, a runner function or a dbt macro
    (`model_features()`), that does not exist."""
    wrong = []
    for span, _ in page.spans:
        dotted, call = DOTTED.fullmatch(span), CALL.fullmatch(span)
        if dotted and not span.endswith(NOT_CODE):
            owner, name = dotted[1], dotted[2]
            if owner in MODULES:
                if not hasattr(importlib.import_module(MODULES[owner]), name):
                    wrong.append(span)
            elif owner[0].isupper() and (cls := runner_class(owner)) is not None and not hasattr(cls, name):
                wrong.append(span)
        elif call:
            name = call[1]
            in_runner = any(hasattr(importlib.import_module(module), name) for module in MODULES.values())
            if not in_runner and name not in MACROS:
                wrong.append(span)
    return wrong


MAKE = re.compile(r"(?:^|[\s`(])make ([a-z][\w-]*)")


def unknown_make_targets(page: Page) -> list[str]:
    targets = make_targets()
    named = [t for text in [s for s, _ in page.spans] + page.code_lines for t in MAKE.findall(text)]
    return [f"make {target}" for target in named if target not in targets]


ENVIRONMENT = re.compile(r"\bSHOTZONES_[A-Z][A-Z0-9_]*\b")


def unread_environment_variables(page: Page) -> list[str]:
    read = environment_read()
    return sorted({name for name in ENVIRONMENT.findall(page.text) if not re.search(rf"\b{name}\b", read)})


# "var `zone_scheme`", "vars `window_games`, `long_window_games` and `window_scope`"
VAR = re.compile(r"\bvars? ((?:`[a-z_]+`(?:, | and | or )?)+)")


def unknown_vars(page: Page) -> list[str]:
    """A dbt var named as the docs name one (var `name`) that dbt_project.yml does not declare."""
    declared = project_vars()
    named = [name for names in VAR.findall(" ".join(page.text.split())) for name in re.findall(r"`(\w+)`", names)]
    return [name for name in named if name not in declared]


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", pages(), ids=page_ids())
def test_every_file_named_exists(page):
    assert missing_files(page) == [], f"{page.name} names files the repository does not have"


@pytest.mark.parametrize("page", pages(), ids=page_ids())
def test_every_link_leads_to_a_page_and_heading_in_the_repository(page):
    assert broken_links(page) == [], f"{page.name} links to what does not exist"


@pytest.mark.parametrize("page", pages(), ids=page_ids())
def test_no_path_outside_the_repository(page):
    assert paths_outside(page) == [], f"{page.name} names paths outside the repository"


@pytest.mark.parametrize("page", pages(), ids=page_ids())
def test_every_command_and_option_named_exists(page):
    assert unknown_commands_and_options(page) == [], f"{page.name} names commands or options that do not exist"


@pytest.mark.parametrize("page", pages(), ids=page_ids())
def test_every_runner_function_named_exists(page):
    assert unknown_functions(page) == [], f"{page.name} names functions that do not exist"


@pytest.mark.parametrize("page", pages(), ids=page_ids())
def test_every_make_target_named_exists(page):
    assert unknown_make_targets(page) == [], f"{page.name} names make targets the Makefile does not have"


@pytest.mark.parametrize("page", pages(), ids=page_ids())
def test_every_environment_variable_named_is_read(page):
    assert unread_environment_variables(page) == [], f"{page.name} names variables nothing reads"


@pytest.mark.parametrize("page", pages(), ids=page_ids())
def test_every_var_named_is_a_var_of_the_project(page):
    assert unknown_vars(page) == [], f"{page.name} names vars dbt_project.yml does not declare"


def test_the_docs_name_enough_to_check():
    """The checks read names at all: a parse that finds none would pass everything."""
    spans = [span for page in pages() for span, _ in page.spans]
    invocations = [
        c for page in pages() for t in [s for s, _ in page.spans] + page.code_lines for c in command_options(t)
    ]
    assert {command for command, _ in invocations} == set(COMMANDS), "every command is named somewhere"
    assert len({opt for _, options in invocations for opt in options}) >= 15
    assert sum(bool(DOTTED.fullmatch(s)) and s.split(".")[0] in MODULES for s in spans) >= 5
    assert sum(s.startswith(REPOSITORY_ROOTS) for s in spans) >= 30


def test_the_architecture_names_every_runner_module():
    """docs/architecture.md has a room for every module of the runner."""
    text = PAGES["architecture.md"].text
    modules = [p.name for p in RUNNER.glob("*.py") if p.name != "__init__.py"] + ["load/", "generate/"]
    assert [m for m in modules if not re.search(rf"(?<!\w){re.escape(m)}", text)] == []


def test_the_checks_catch_a_wrong_name(tmp_path):
    """Each check reports a name that does not exist, in the forms the docs use."""
    wrong = tmp_path / "wrong.md"
    wrong.write_text(
        "See `../shared/SPEC.md` and [the notes](bigquery-emulator-notes.md), [a heading](#nowhere).\n"
        "`runner/shotzones/nowhere.py`, `load/nowhere.py`, `nowhere.py`; /tmp/demo/w.duckdb.\n"
        "`shotzones backfil`, `shotzones backfill --no-such-option`, `export --as-served --as-trained`,\n"
        "`--no-such-option`, `code.no_such_function`, `Settings.no_such_setting`, `no_such_macro()`,\n"
        "`make no-such-target`, SHOTZONES_NO_SUCH_VARIABLE, vars `window_games` and `no_such_var`.\n\n"
        "## `shotzones status`\n\n| `--force` | not a status option |\n\n"
        "```sh\nshotzones plan --select x --no-such-flag   # a comment --not-checked\n```\n"
    )
    page = read_page(wrong)
    assert missing_files(page) == ["../shared/SPEC.md", "runner/shotzones/nowhere.py", "load/nowhere.py", "nowhere.py"]
    assert broken_links(page) == ["bigquery-emulator-notes.md", "#nowhere"]
    assert paths_outside(page) == ["../shared/SPEC.md", "/tmp/demo/w.duckdb."]
    assert unknown_commands_and_options(page) == [
        "shotzones backfil",
        "shotzones backfill --no-such-option",
        "shotzones plan --no-such-flag",
        "export --as-trained",
        "--no-such-option",
        "status: --force",
    ]
    assert unknown_functions(page) == ["code.no_such_function", "Settings.no_such_setting", "no_such_macro()"]
    assert unknown_make_targets(page) == ["make no-such-target"]
    assert unread_environment_variables(page) == ["SHOTZONES_NO_SUCH_VARIABLE"]
    assert unknown_vars(page) == ["no_such_var"]
