"""Paired differences of `openhoi eval motion` results: each variant against the full method.

Result files that keep per-prompt records get a paired-difference table (`paired_lines`):
each variant against the full method on the same prompts and seeds, the mean difference and
its 95% cluster-bootstrap interval (`openhoi.eval.statistics.cluster_bootstrap_interval`,
episodes as clusters), and "no detectable difference" wherever that interval contains 0.
Files without records have no such table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NO_DIFFERENCE", "PAIRED_REFERENCE", "paired_intervals", "paired_lines"]

# The row every other variant is paired with.
PAIRED_REFERENCE = "full"
NO_DIFFERENCE = "no detectable difference"


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
