"""`openhoi eval motion` and `openhoi eval planner` as a user runs them on a fresh clone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run_eval(*args: str, cache=None, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if cache is not None:
        env["OPENHOI_CACHE"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "openhoi.cli", "eval", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_eval_motion_needs_no_prepared_folder(tmp_path):
    # Fresh cache: the unseen SynthHOI test set is generated (its first episode only),
    # cached, scored, and the tables are written.
    cache, out = tmp_path / "cache", tmp_path / "out"
    result = run_eval("motion", "--dataset", "synth", "--split", "unseen", "--limit", "1",
                      "--repeats", "1", "--steps", "2", "--out", str(out), "--quiet",
                      cache=cache)  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "benchmark_synth_unseen.json").read_text())
    settings = data["settings"]
    assert settings["num_episodes"] == 1 and settings["repeats"] == 1
    assert settings["generate"]["steps"] == 2
    assert settings["data_provenance"]["seed"] == 0
    assert settings["data_provenance"]["num_episodes"] == 1500
    assert settings["data"].startswith(str(cache))
    full = data["variants"]["full"]
    assert len(full["repeats"]) == 1 and full["summary"]["mpjpe_mm"]["mean"] > 0
    table = (out / "benchmark_synth_unseen.md").read_text()
    assert table.startswith("`synth` unseen split of the cached SynthHOI set")
    assert "| ours |" in table and "| GT |" in table
    assert "| ours |" in result.stdout
    cached = list((cache / "synthhoi-eval").glob("*/test_unseen_objects-000001"))
    assert len(cached) == 1 and (cached[0] / "splits.json").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--dataset", "kinect"), "dataset must be one of"),
        (("--dataset", "grab"), "needs a data folder"),
        (("--data", "/nonexistent/episodes"), "/nonexistent/episodes"),
        (("--evaluator", "/nonexistent/evaluator"), "/nonexistent/evaluator"),
        (("--checkpoint", "/nonexistent/motion"), "/nonexistent/motion"),
        (("--limit", "0"), "limit must be >= 1"),
        (("--repeats", "0"), "repeats must be >= 1"),
        (("--variants", "full,no_such_row"), "no_such_row"),
        (("--split", "train"), "split must be one of"),
    ],
)
def test_eval_motion_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    out = tmp_path / "out"
    result = run_eval("motion", *args, "--out", str(out), cache=tmp_path / "cache", timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_eval_planner_scores_the_shipped_planner(tmp_path):
    out = tmp_path / "out"
    result = run_eval("planner", "--num-scenes", "2", "--num-coarse", "1", "--seed", "0",
                      "--show-errors", "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "plan_affordance" in result.stdout and "plans (2 scenes)" in result.stdout
    data = json.loads((out / "planner_unseen_held_out.json").read_text())
    assert data["settings"]["checkpoint"] == "shipped" and data["num_scenes"] == 2
    assert data["objects"] == ["mug", "can", "book", "spatula"]
    assert 0 <= data["step_accuracy"] <= 1 and data["plan_affordance"]["n"] > 0
    assert data["coarse_affordance"]["n"] > 0
    assert (out / "planner_unseen_held_out.md").read_text().startswith("planner shipped")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--num-scenes", "0"), "num_scenes"),
        (("--split", "kitchen"), "split must be one of"),
        (("--checkpoint", "/nonexistent/planner"), "/nonexistent/planner"),
    ],
)
def test_eval_planner_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    out = tmp_path / "out"
    result = run_eval("planner", *args, "--out", str(out), timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and needle in result.stderr
    assert not out.exists()
