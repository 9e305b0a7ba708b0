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
also get a paired-difference table (`paired_lines`): each variant against the full method
on the same prompts and seeds, the mean difference and its 95% cluster-bootstrap interval
(`openhoi.eval.statistics.cluster_bootstrap_interval`, episodes as clusters), and "no
detectable difference" wherever that interval contains 0. Files without records render as
before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openhoi.errors import InputError, MissingFileError

__all__ = ["PAIRED_REFERENCE", "TableBlock", "paired_intervals", "paired_lines",
           "render_report", "run_record", "stale_tables", "table_blocks",
           "update_tables"]  # fmt: skip

# The row every other variant is paired with.
PAIRED_REFERENCE = "full"
NO_DIFFERENCE = "no detectable difference"

_BLOCK = re.compile(
    r"^<!-- table: (?P<path>[^\s>]+) -->\n(?P<body>.*?)^<!-- /table -->$", re.M | re.S
)


def run_record(command: Sequence[str] | None = None) -> dict[str, Any]:
    """What a result file records about how it was made: command, UTC date, machine, version."""
    import datetime
    import os
    import platform

    from openhoi import __version__

    return {
        "command": " ".join(command) if command else None,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "python": platform.python_version(),
        "openhoi": __version__,
    }


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


def _pairs(reference, variant, metric: str, per_prompt: bool) -> tuple[list[float], list[int]]:
    """Differences variant − reference of `metric` on the same (episode, repeat[, prompt]),
    and each pair's episode; pairs where either value is missing are left out."""
    import math

    def values(records):
        out = {}
        for record in records:
            key = (record["episode"], record["repeat"])
            if per_prompt:
                for k, prompt in enumerate(record["prompts"]):
                    out[(*key, k)] = prompt.get(metric)
            else:
                out[key] = record["episode_metrics"].get(metric)
        return out

    mine, theirs = values(variant), values(reference)
    differences, clusters = [], []
    for key, value in mine.items():
        other = theirs.get(key)
        if value is None or other is None or not math.isfinite(value) or not math.isfinite(other):
            continue
        differences.append(value - other)
        clusters.append(key[0])
    return differences, clusters


def paired_intervals(
    results: Mapping[str, Any], metrics: Sequence[str], prompt_metrics: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per variant other than the reference, per metric with pairs: its `PairedInterval`.

    Args:
        results: `openhoi eval motion` results with per-prompt records.
        metrics: the metrics to pair.
        prompt_metrics: those of `metrics` recorded per prompt (the others per episode).
    """
    from openhoi.eval.statistics import cluster_bootstrap_interval

    variants = results["variants"]
    reference = variants.get(PAIRED_REFERENCE, {}).get("records")
    if not reference:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, row in variants.items():
        if name == PAIRED_REFERENCE or not row.get("records"):
            continue
        out[name] = {}
        for metric in metrics:
            differences, clusters = _pairs(
                reference, row["records"], metric, metric in prompt_metrics
            )
            if differences:
                out[name][metric] = cluster_bootstrap_interval(differences, clusters)
    return out


def _signed(fmt: str, value: float) -> str:
    return fmt.replace("{:", "{:+").format(value)


def paired_lines(
    results: Mapping[str, Any],
    columns: Sequence[tuple[str, str, str]],
    prompt_metrics: Sequence[str],
) -> list[str]:
    """The paired-difference table (Markdown lines); [] when the results hold no records.

    Args:
        results: `openhoi eval motion` results.
        columns: `(metric, header, format)` of the metrics to pair, as in the main tables.
        prompt_metrics: the metrics recorded per prompt (the others per episode).
    """
    from openhoi.eval.statistics import DEFAULT_RESAMPLES

    intervals = paired_intervals(results, [key for key, _, _ in columns], prompt_metrics)
    if not any(intervals.values()):
        return []
    per_prompt = [header.split(" (")[0] for key, header, _ in columns if key in prompt_metrics]
    lines = [
        "Paired differences, variant − ours, each on the same episode and repeat (seed)"
        + (f", and the same prompt for {', '.join(per_prompt)}" if per_prompt else "")
        + f": mean and 95% interval (percentile bootstrap, {DEFAULT_RESAMPLES} resamples of "
        f'the episodes with all their prompts and seeds, seed 0); "{NO_DIFFERENCE}" where '
        "the interval contains 0.",
        "",
        "| variant − ours | metric | difference | 95% interval | pairs (episodes) | |",
        "|---|---|---|---|---|---|",
    ]
    for name, per_metric in intervals.items():
        label = "ours" if name == PAIRED_REFERENCE else name
        for key, header, fmt in columns:
            if key not in per_metric:
                continue
            interval = per_metric[key]
            if interval.low != interval.low:  # NaN: a single episode
                span, verdict = "–", "needs 2+ episodes"
            else:
                span = f"[{_signed(fmt, interval.low)}, {_signed(fmt, interval.high)}]"
                verdict = (
                    ("higher" if interval.mean > 0 else "lower")
                    if interval.is_detectable
                    else NO_DIFFERENCE
                )
            lines.append(
                f"| {label} | {header} | {_signed(fmt, interval.mean)} | {span} | "
                f"{interval.num_pairs} ({interval.num_clusters}) | {verdict} |"
            )
    return lines


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
