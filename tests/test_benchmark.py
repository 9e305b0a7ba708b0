"""The motion benchmark protocol (openhoi.benchmark) on tiny SynthHOI and H2O-format splits."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from openhoi.benchmark import (
    BenchmarkConfig,
    benchmark_markdown,
    parse_variants,
    run_benchmark,
    select_episodes,
)
from openhoi.errors import InputError, MissingFileError

ROOT = Path(__file__).resolve().parents[1]
FAST = {"steps": 2, "bridge_frames": 4}


@pytest.fixture(scope="module")
def h2o_folder(tmp_path_factory):
    """The H2O release-format fixture, prepared with `openhoi data prepare`."""
    sys.path.insert(0, str(ROOT / "tests" / "data"))
    from fixtures_h2o import write_h2o_dataset

    from openhoi.data.prepare import prepare_dataset

    base = tmp_path_factory.mktemp("h2o")
    fixture = write_h2o_dataset(base / "raw")
    prepare_dataset("h2o", fixture.root, base / "prepared", progress=False)
    return base / "prepared"


def finite(stats) -> bool:
    return stats is not None and math.isfinite(stats["mean"])


@pytest.mark.slow  # ~2 min on 2 cores: physics and SmoothRate of 2 variants x 2 repeats
def test_synth_benchmark_reports_every_metric_per_repeat(synth_folder):
    config = BenchmarkConfig(
        data=str(synth_folder),
        dataset="synth",
        split="unseen",
        repeats=2,
        variants=("full", "no_inbetween"),
        generate=FAST,
    )
    results = run_benchmark(config, log=lambda _: None)
    assert results["settings"]["num_episodes"] == 2
    full = results["variants"]["full"]
    assert len(full["repeats"]) == 2
    summary = full["summary"]
    for key in ("mpjpe_mm", "fol_m", "fid", "diversity", "raw_fid", "penetration_depth_mean_mm",
                "contact_ratio", "smooth_rate", "r_precision_top1"):  # fmt: skip
        assert finite(summary[key]), key
    assert summary["mpjpe_mm"]["n"] == 2 and summary["mpjpe_mm"]["mean"] > 0
    assert finite(summary["multimodality"])
    # The ground-truth row: its Diversity, physics and transitions of the data itself.
    truth = results["ground_truth"]
    assert truth["diversity"] > 0 and math.isfinite(truth["penetration_depth_mean_mm"])
    # Joining segments directly leaves no bridge: fewer frames than with bridges.
    table = benchmark_markdown(results)
    assert "| GT |" in table and "| ours |" in table and "| no_inbetween |" in table
    assert "MPJPE (mm)" in table and "SmoothRate" in table


@pytest.mark.slow  # 75 s; README's split-run check repeats a run (without MuJoCo) by default
def test_same_seed_gives_the_same_numbers(synth_folder):
    # The MuJoCo check included: its columns are deterministic too.
    config = BenchmarkConfig(
        data=str(synth_folder), dataset="synth", repeats=1, limit=1, generate=FAST
    )
    first = run_benchmark(config, log=lambda _: None)
    second = run_benchmark(config, log=lambda _: None)["variants"]["full"]["repeats"][0]
    keys = ("mpjpe_mm", "fol_m", "fid", "penetration_depth_mean_mm", "holding_ratio",
            "hold_success", "tracking_success")  # fmt: skip
    for key in keys:
        assert first["variants"]["full"]["repeats"][0][key] == pytest.approx(
            second[key], rel=1e-6, nan_ok=True
        ), key
    assert "MuJoCo hold" in benchmark_markdown(first)


def test_prepared_h2o_fixture_with_and_without_an_evaluator(h2o_folder, tmp_path):
    from openhoi.eval.evaluator_training import run_train_evaluator

    episodes = select_episodes(h2o_folder, "h2o", "all")
    assert episodes and all(e.source == "h2o" for e in episodes)
    base = dict(data=str(h2o_folder), dataset="h2o", split="all", repeats=2, limit=1,
                generate=FAST, simulate=False)  # fmt: skip
    messages: list[str] = []
    plain = run_benchmark(BenchmarkConfig(**base), log=messages.append)
    summary = plain["variants"]["full"]["summary"]
    assert finite(summary["mpjpe_mm"]) and finite(summary["raw_fid"])
    assert "fid" not in summary and any("no motion evaluator" in m for m in messages)

    # An evaluator trained on the prepared folder (a few steps) fills the feature columns.
    evaluator = tmp_path / "evaluator"
    run_train_evaluator(
        [f"data={h2o_folder}", f"out={evaluator}", "steps=3", "batch_size=4",
         "model.hidden_size=16", "model.num_layers=1", "model.num_heads=2", "model.ff_size=32",
         "model.embedding_dim=8", "validation_interval=100", "log_interval=100"]
    )  # fmt: skip
    scored = run_benchmark(
        BenchmarkConfig(**base, evaluator_path=str(evaluator)), log=lambda _: None
    )
    summary = scored["variants"]["full"]["summary"]
    assert finite(summary["fid"]) and finite(summary["diversity"])


def test_bad_settings_are_clear_errors(synth_folder, tmp_path):
    with pytest.raises(MissingFileError, match="nowhere"):
        BenchmarkConfig(data=str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="variants"):
        BenchmarkConfig(data=str(synth_folder), variants=("no_such_row",))
    with pytest.raises(InputError, match="grab"):
        select_episodes(synth_folder, "grab", "all")
    with pytest.raises(InputError, match="data folder"):
        BenchmarkConfig(dataset="h2o")  # only synth is generated on demand
    with pytest.raises(InputError, match="limit"):
        BenchmarkConfig(limit=0)


def test_variants_from_a_comma_list_or_the_ablation_flag():
    assert parse_variants() == ("full",)
    assert parse_variants("full, no_cfg,") == ("full", "no_cfg")
    ablated = parse_variants(ablate=True)
    assert ablated[0] == "full" and "no_inbetween" in ablated
    assert parse_variants("no_cfg", ablate=True) == ("no_cfg",)


@pytest.mark.slow  # 33 s; `openhoi eval motion` (the same code) writes both in the README tests
def test_script_writes_json_and_markdown(synth_folder, tmp_path):
    # tools/benchmark.py: the script form of `openhoi eval motion`, same flags as before.
    out = tmp_path / "out"
    args = [sys.executable, str(ROOT / "tools" / "benchmark.py"), "--dataset", "synth",
            "--data", str(synth_folder), "--split", "unseen", "--repeats", "1", "--limit", "1",
            "--steps", "2", "--no-sim", "--out", str(out), "--quiet"]  # fmt: skip
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "benchmark_synth_unseen.json").read_text())
    assert data["settings"]["repeats"] == 1
    assert (out / "benchmark_synth_unseen.md").read_text().startswith("`synth` unseen split")

    missing = subprocess.run(
        [*args[:4], "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "nope" in missing.stderr and not (tmp_path / "o").exists()


def test_a_metric_missing_from_the_first_prompt_still_counts_for_the_others():
    # The first prompt had no holding frame, so its physics row has no
    # "affordance_holding_ratio"; the repeat's mean must come from the prompts that have one.
    from openhoi.benchmark import _mean_over

    rows = [
        {"contact_ratio": 0.2},
        {"contact_ratio": 0.4, "affordance_holding_ratio": 0.5},
        {"contact_ratio": 0.6, "affordance_holding_ratio": 1.0},
    ]
    means = _mean_over(rows)
    assert means["contact_ratio"] == pytest.approx(0.4)
    assert means["affordance_holding_ratio"] == pytest.approx(0.75)


def test_the_affordance_row_with_the_anchor_kept_changes_only_the_mask():
    # The frame anchor of "w/o affordance, anchor kept" is the full method's; plain
    # "w/o affordance" moves it to the centroid of all points.
    import numpy as np
    import torch

    from openhoi.api import Pipeline
    from openhoi.motion import MotionCondition
    from openhoi.motion.representation import affordance_anchor
    from openhoi.objects import load_object

    pipeline = Pipeline.from_pretrained()
    generator = pipeline.generator
    obj = load_object("mug")
    mask = np.zeros(len(obj.points.points), np.float32)
    mask[:100] = 1.0
    empty = np.zeros_like(mask)
    kept = generator.condition([MotionCondition(obj, empty, "lift the mug", anchor=mask)], 10)
    plain = generator.condition([MotionCondition(obj, empty, "lift the mug")], 10)
    full = generator.condition([MotionCondition(obj, mask, "lift the mug")], 10)
    assert float(kept.affordance.sum()) == 0.0  # the model sees no mask
    anchor = generator.guidance_context(kept)._anchor()
    torch.testing.assert_close(anchor, generator.guidance_context(full)._anchor())
    assert not torch.allclose(anchor, generator.guidance_context(plain)._anchor())
    torch.testing.assert_close(anchor, affordance_anchor(full.object_points, full.affordance))


@pytest.mark.slow  # two rows over a 1-episode run
def test_the_in_between_and_anchor_rows_run(synth_folder):
    config = BenchmarkConfig(
        data=str(synth_folder), dataset="synth", repeats=1, limit=1, generate=FAST,
        variants=("no_affordance_anchor_kept", "model_inbetween_no_transition"),
    )  # fmt: skip
    results = run_benchmark(config, log=lambda _: None)
    for name in config.variants:
        assert finite(results["variants"][name]["summary"]["mpjpe_mm"]), name
