"""The paired-difference table of `openhoi eval report`, from per-prompt records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from openhoi.benchmark import PAIRED_COLUMNS, PROMPT_METRICS, benchmark_markdown
from openhoi.eval.report import NO_DIFFERENCE, paired_intervals, paired_lines, render_report

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "docs" / "results" / "contact_unseen_2026-12-07.json"


def _records(shift_mpjpe: float = 0.0, shift_penetration: float = 0.0) -> list[dict]:
    """3 episodes x 2 repeats, 2 prompts each; values vary by episode, repeat and prompt."""
    records = []
    for episode in range(3):
        for repeat in range(2):
            prompts = [
                {"mpjpe_mm": 50.0 + 7 * episode + 3 * repeat + k + shift_mpjpe,
                 "root_aligned_mpjpe_mm": 20.0 + k, "fol_m": 0.1 * episode}
                for k in range(2)
            ]  # fmt: skip
            records.append({
                "episode": episode, "repeat": repeat, "seed": repeat * 1000 + episode * 16,
                "prompts": prompts,
                "episode_metrics": {"penetration_depth_mean_mm": 1.0 + episode + shift_penetration,
                                    "contact_ratio": 0.5},
            })  # fmt: skip
    return records


def _results() -> dict:
    results = json.loads(RESULT.read_text())
    full = results["variants"]["full"]
    full["records"] = _records()
    same = copy.deepcopy(full)
    shifted = copy.deepcopy(full)
    shifted["records"] = _records(shift_mpjpe=-4.0, shift_penetration=0.25)
    results["variants"].update(no_cfg=same, no_penetration=shifted)
    return results


def test_identical_variant_has_no_detectable_difference_and_a_shift_is_found():
    intervals = paired_intervals(_results(), [k for k, _, _ in PAIRED_COLUMNS], PROMPT_METRICS)
    same, shifted = intervals["no_cfg"], intervals["no_penetration"]
    assert same["mpjpe_mm"].num_pairs == 12 and same["mpjpe_mm"].num_clusters == 3
    assert same["penetration_depth_mean_mm"].num_pairs == 6
    assert (same["mpjpe_mm"].low, same["mpjpe_mm"].high) == (0.0, 0.0)
    assert shifted["mpjpe_mm"].high < 0 and shifted["penetration_depth_mean_mm"].low > 0
    assert shifted["contact_ratio"].mean == 0.0 and not shifted["contact_ratio"].is_detectable

    lines = paired_lines(_results(), PAIRED_COLUMNS, PROMPT_METRICS)
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in lines[4:]}
    assert NO_DIFFERENCE in rows["no_cfg", "MPJPE (mm) ↓"]
    assert "| -4.0 | [-4.0, -4.0] | 12 (3) | lower |" in rows["no_penetration", "MPJPE (mm) ↓"]
    assert rows["no_penetration", "pen. mean (mm) ↓"].endswith("| higher |")
    assert NO_DIFFERENCE in rows["no_penetration", "contact ↑"]
    # Metrics without records (FID, SmoothRate: set-level) get no paired row.
    assert not any(metric.startswith(("FID", "SmoothRate")) for _, metric in rows)


def test_the_table_follows_the_main_tables_and_old_files_render_as_before(tmp_path):
    text = benchmark_markdown(_results())
    assert text.index("| GT |") < text.index("Paired differences, variant − ours")
    old = render_report([RESULT])
    assert "Paired differences" not in old
    # Records of the full method alone: nothing to pair, no table.
    alone = json.loads(RESULT.read_text())
    alone["variants"]["full"]["records"] = _records()
    (tmp_path / "alone.json").write_text(json.dumps(alone))
    assert render_report([tmp_path / "alone.json"]) == old
