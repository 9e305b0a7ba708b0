"""Tables written from result files, and a check that a document still matches them.

`openhoi eval report RESULT.json...` renders each `openhoi eval motion` result file
(`benchmark_<dataset>_<split>.json`) as Markdown: a line saying where the numbers come from
(the command, date, machine and package version recorded in the file), then the tables of
`openhoi.benchmark.benchmark_markdown`.

A document embeds such a table between two comment lines naming its result file,

    <!-- table: docs/results/NAME.json -->
    ...the output of `openhoi eval report docs/results/NAME.json`...
    <!-- /table -->

and `stale_tables(document)` lists every block whose text no longer equals the rendering
of its file: a number edited by hand, or a result file replaced without regenerating the
text. `openhoi eval report --update DOC.md` rewrites the blocks. The test suite runs the
check on README.md and BENCHMARKS.md.

Result files that keep per-prompt records (`openhoi eval motion` since paired statistics)
also get a paired-difference table (`openhoi.eval.paired.paired_lines`). This module sits
above `openhoi.benchmark`, whose tables it renders; the benchmark itself uses only the
pieces below it (`openhoi.eval.paired`, `openhoi.provenance.run_record`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openhoi.errors import InputError, MissingFileError
from openhoi.eval.paired import NO_DIFFERENCE, PAIRED_REFERENCE, paired_intervals, paired_lines
from openhoi.provenance import run_record

# NO_DIFFERENCE, PAIRED_REFERENCE, paired_intervals, paired_lines (openhoi.eval.paired) and
# run_record (openhoi.provenance) are named here too: what a report is made of.
__all__ = ["NO_DIFFERENCE", "PAIRED_REFERENCE", "TableBlock", "paired_intervals",
           "paired_lines", "render_report", "run_record", "stale_tables", "table_blocks",
           "update_tables"]  # fmt: skip

_BLOCK = re.compile(
    r"^<!-- table: (?P<path>[^\s>]+) -->\n(?P<body>.*?)^<!-- /table -->$", re.M | re.S
)


def _load(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"result file {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"result file {path} is not readable JSON ({error})") from None
    if not (isinstance(data, dict) and {"settings", "variants", "ground_truth"} <= set(data)):
        raise InputError(
            f"result file {path} is not an `openhoi eval motion` result (it needs settings, "
            "variants and ground_truth)"
        )
    return data


def _source_line(results: Mapping[str, Any]) -> str:
    run = results["settings"].get("run") or {}
    command = f"`{run['command']}`" if run.get("command") else "command not recorded"
    parts = [command]
    parts += [run[key] for key in ("date", "machine") if run.get(key)]
    if run.get("openhoi"):
        parts.append(f"openhoi {run['openhoi']}")
    if run.get("commit"):
        parts.append(f"commit `{run['commit']}`")
    return "Made by " + ", ".join(parts) + "."


def render_report(paths: Sequence[str | Path]) -> str:
    """Markdown of one or more result files: per file its source line and its tables."""
    from openhoi.benchmark import benchmark_markdown

    if not paths:
        raise InputError("eval report needs at least one RESULT.json")
    sections = []
    for path in paths:
        results = _load(path)
        sections.append(_source_line(results) + "\n\n" + benchmark_markdown(results))
    return "\n".join(sections)


@dataclass(frozen=True)
class TableBlock:
    """One embedded table: its result file (relative to the document) and its text."""

    path: str
    body: str
    start: int
    end: int


def table_blocks(text: str) -> list[TableBlock]:
    """The `<!-- table: ... -->` blocks of a document, in order."""
    return [
        TableBlock(m["path"], m["body"], m.start("body"), m.end("body"))
        for m in _BLOCK.finditer(text)
    ]


def stale_tables(document: str | Path) -> list[str]:
    """The result files whose embedded table in `document` differs from their rendering."""
    document = Path(document)
    root = document.parent
    text = document.read_text(encoding="utf-8")
    return [
        block.path
        for block in table_blocks(text)
        if block.body != render_report([root / block.path])
    ]


def update_tables(document: str | Path) -> int:
    """Rewrite every embedded table of `document` from its result file; returns how many."""
    document = Path(document)
    text = document.read_text(encoding="utf-8")
    blocks = table_blocks(text)
    rendered = [render_report([document.parent / b.path]) for b in blocks]  # all or nothing
    for block, body in zip(reversed(blocks), reversed(rendered), strict=True):
        text = text[: block.start] + body + text[block.end :]
    from openhoi._io import atomic_open

    with atomic_open(document) as handle:
        handle.write(text.encode("utf-8"))
    return len(blocks)
