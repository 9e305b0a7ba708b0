"""Split runs equal one process: `eval motion`, `generate --prompts` and `data synth` with
`--workers`, `--shard I/N` + merge, and under `accelerate launch` (tiny runs).

The in-process eval test runs by default; the command-line ones start several processes,
each loading the models, and are marked slow. `accelerate launch --cpu --num_processes 2`
starts one process only (accelerate needs mpirun for several CPU processes), so the launcher
test uses `--multi_gpu --num_processes 2`, which starts two torchrun ranks on CPU as well.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openhoi.benchmark import (
    BenchmarkConfig,
    benchmark_markdown,
    finite_or_none,
    merge_benchmark_shards,
    read_benchmark_shard,
    run_benchmark,
    write_benchmark_shard,
)
from openhoi.errors import InputError, MissingFileError
from openhoi.shard import Shard

FAST = {"steps": 2, "bridge_frames": 4, "optimise_contacts": False, "kinematic_carry": False}
TIMING = ("seconds_per_prompt", "seconds")


def same_numbers(first, second, path: str = "") -> list[str]:
    """Where two JSON values differ by more than 1e-9 (timings and the run record left out)."""
    if isinstance(first, dict) and isinstance(second, dict):
        keys = (first.keys() | second.keys()) - {"run", *TIMING}
        return [
            d
            for k in sorted(keys)
            for d in same_numbers(first.get(k), second.get(k), f"{path}/{k}")
        ]
    if isinstance(first, list) and isinstance(second, list):
        if len(first) != len(second):
            return [f"{path}: {len(first)} vs {len(second)} items"]
        return [
            d
            for k, (a, b) in enumerate(zip(first, second, strict=True))
            for d in same_numbers(a, b, f"{path}[{k}]")
        ]
    if isinstance(first, float) and isinstance(second, float):
        return (
            []
            if math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-9)
            else [f"{path}: {first} vs {second}"]
        )
    return [] if first == second else [f"{path}: {first!r} vs {second!r}"]


@pytest.fixture(scope="module")
def tiny_config(synth_folder):
    """Two episodes, two rows, one repeat: 2 truth + 4 generated units."""
    return BenchmarkConfig(
        data=str(synth_folder), repeats=1, limit=2, variants=("full", "no_cfg"),
        simulate=False, generate=FAST,
    )  # fmt: skip


@pytest.fixture(scope="module")
def whole(tiny_config):
    return finite_or_none(run_benchmark(tiny_config, log=lambda _: None))


def test_a_tiny_run_keeps_per_prompt_records_and_renders_paired_differences(whole):
    # One record per (episode, repeat), a value per prompt for the accuracy metrics.
    records = whole["variants"]["no_cfg"]["records"]
    assert [(r["episode"], r["repeat"]) for r in records] == [(0, 0), (1, 0)]
    assert all(len(r["prompts"]) > 1 for r in records)
    assert {"penetration_depth_mean_mm", "contact_ratio"} <= set(records[0]["episode_metrics"])
    assert records[1]["seed"] == 16  # (seed + repeat)·1000 + 16·episode
    # The summary is the mean of the records (MPJPE over all prompts of the repeat).
    mpjpe = [p["mpjpe_mm"] for r in records for p in r["prompts"]]
    summary = whole["variants"]["no_cfg"]["summary"]["mpjpe_mm"]["mean"]
    assert summary == pytest.approx(np.mean(mpjpe), rel=1e-12)
    table = benchmark_markdown(whole)
    assert "Paired differences, variant − ours" in table
    assert "| no_cfg | MPJPE (mm) ↓ |" in table and "| 2 (2) |" in table


@pytest.mark.slow  # two more passes over the tiny run
def test_eval_shards_merge_to_the_one_process_result(tiny_config, whole, tmp_path):
    paths = [
        write_benchmark_shard(
            run_benchmark(tiny_config, log=lambda _: None, shard=Shard(i, 2)), tmp_path
        )
        for i in range(2)
    ]
    assert [p.name for p in paths] == [
        f"benchmark_synth_unseen.shard-{i}-of-2.npz" for i in range(2)
    ]
    merged = finite_or_none(merge_benchmark_shards(paths[::-1], log=lambda _: None))
    assert same_numbers(whole, merged) == []


def _fake_shard(folder: Path, index: int, count: int = 2, **settings) -> Path:
    """A shard file as `run_benchmark(shard=...)` returns it, without running anything."""
    result = {
        "format": "openhoi-benchmark-shard",
        "version": 1,
        "shard": [index, count],
        "num_units": 3,
        "settings": {
            "dataset": "synth",
            "split": "unseen",
            "repeats": 1,
            "run": {"command": None},
            **settings,
        },
        "records": {index: {"physics": {"contact_ratio": 0.5}, "raw": np.zeros((1, 2, 3))}},
    }
    folder.mkdir(exist_ok=True)
    return write_benchmark_shard(result, folder)


def test_bad_merges_are_one_clear_error_naming_the_input(tmp_path):
    first = _fake_shard(tmp_path / "a", 0)
    back = read_benchmark_shard(first)["records"][0]
    assert back["physics"] == {"contact_ratio": 0.5} and back["raw"].shape == (1, 2, 3)
    with pytest.raises(InputError, match=r"shard 1/2 missing \(given: .*shard-0-of-2.npz = 0/2\)"):
        merge_benchmark_shards([first])
    with pytest.raises(InputError, match="are both shard 0/2"):
        merge_benchmark_shards([first, first])
    with pytest.raises(MissingFileError, match="nope.npz"):
        merge_benchmark_shards([first, tmp_path / "nope.npz"])
    other = _fake_shard(tmp_path / "c", 1, repeats=3)
    with pytest.raises(InputError, match=r"other settings .*differ in repeats"):
        merge_benchmark_shards([first, other])
    three = _fake_shard(tmp_path / "d", 1, count=3)
    with pytest.raises(InputError, match="shards of different runs"):
        merge_benchmark_shards([first, three])
    (tmp_path / "fake.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a shard result"):
        merge_benchmark_shards([tmp_path / "fake.npz"])


def _exit(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """`openhoi ARGS` in a subprocess: exit code and stderr."""
    result = subprocess.run([sys.executable, "-m", "openhoi.cli", *args], capture_output=True,
                            text=True, timeout=300, cwd=cwd)  # fmt: skip
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("eval", "motion", "--shard", "2/2"), "'2/2'"),
        (("eval", "motion", "--shard", "a/b"), "'a/b'"),
        (("generate", "--prompts", "p.jsonl", "--shard", "0/0"), "'0/0'"),
        (("data", "synth", "--shard", "1"), "'1'"),
        (("eval", "merge", "missing.npz"), "missing.npz"),
        (("data", "merge", "missing_slice"), "missing_slice"),
    ],
)
def test_bad_shard_input_is_one_line_exit_2_and_nothing_written(
    tmp_path, monkeypatch, capsys, args, needle
):
    from openhoi.cli import main

    (tmp_path / "p.jsonl").write_text('{"instruction": "grab the mug", "objects": ["mug"]}\n')
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--out", str(out)])
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2, stderr
    assert needle in stderr and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not out.exists()


def _free_port() -> str:
    return str(random.randint(20000, 60000))


def _openhoi(*args: str, launcher: bool = False, timeout: int = 1200) -> None:
    head = [sys.executable, "-m", "openhoi.cli"]
    if launcher:
        head = ["accelerate", "launch", "--multi_gpu", "--num_processes", "2",
                "--main_process_port", _free_port(), "-m", "openhoi.cli"]  # fmt: skip
    result = subprocess.run([*head, *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow  # ~5 min on 2 busy cores: four eval runs, six model loads
def test_eval_motion_workers_shards_and_accelerate_equal_one_process(synth_folder, tmp_path):
    common = ["eval", "motion", "--data", str(synth_folder), "--split", "unseen", "--limit", "1",
              "--repeats", "2", "--steps", "2", "--no-sim", "--quiet"]  # fmt: skip
    _openhoi(*common, "--out", str(tmp_path / "one"))
    _openhoi(*common, "--workers", "2", "--out", str(tmp_path / "workers"))
    for i in range(2):
        _openhoi(*common, "--shard", f"{i}/2", "--out", str(tmp_path / "shards"))
    shards = sorted(str(p) for p in (tmp_path / "shards").glob("*.npz"))
    _openhoi("eval", "merge", *shards, "--out", str(tmp_path / "merged.json"), "--quiet")
    _openhoi(*common, "--out", str(tmp_path / "launch"), launcher=True)
    name = "benchmark_synth_unseen.json"
    one = json.loads((tmp_path / "one" / name).read_text())
    for other in (
        tmp_path / "workers" / name,
        tmp_path / "merged.json",
        tmp_path / "launch" / name,
    ):
        assert same_numbers(one, json.loads(other.read_text())) == [], other


def _arrays(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for path in sorted(folder.rglob("*.npz")):
        with np.load(path, allow_pickle=False) as data:
            out.update({f"{path.relative_to(folder)}:{k}": data[k] for k in data.files})
    return out


@pytest.mark.slow  # ~4 min: four generate runs of 2 prompts, six model loads
def test_generate_prompts_split_runs_write_the_same_arrays(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    lines = [{"instruction": "pick up the mug and put it down again", "objects": ["mug"]},
             {"instruction": "grab the mug", "objects": ["mug"]}]  # fmt: skip
    prompts.write_text("".join(json.dumps(line) + "\n" for line in lines))
    # --batch-size 4: groups of one prompt, so two workers or shards each get one. Both
    # prompts grasp the mug: a shared sub-task text, embedded once per process.
    common = ["generate", "--prompts", str(prompts), "--steps", "2", "--no-render",
              "--no-report", "--batch-size", "4", "--quiet"]  # fmt: skip
    _openhoi(*common, "--out", str(tmp_path / "one"))
    _openhoi(*common, "--workers", "2", "--out", str(tmp_path / "workers"))
    for i in range(2):
        _openhoi(*common, "--shard", f"{i}/2", "--out", str(tmp_path / "shards"))
    _openhoi(*common, "--out", str(tmp_path / "launch"), launcher=True)
    one = _arrays(tmp_path / "one")
    assert {key.split("/")[0] for key in one} == {"prompt_0000", "prompt_0001"}
    for other in ("workers", "shards", "launch"):
        arrays = _arrays(tmp_path / other)
        assert arrays.keys() == one.keys(), other
        for key, value in one.items():
            np.testing.assert_array_equal(arrays[key], value, err_msg=f"{other} {key}")


@pytest.mark.slow  # ~3 min: 3 episodes written four ways
def test_data_synth_split_runs_merge_to_the_one_process_folder(tmp_path):
    common = ["data", "synth", "--episodes", "3", "--seed", "5", "--objects", "cup", "--quiet"]
    _openhoi(*common, "--out", str(tmp_path / "one"))
    _openhoi(*common, "--workers", "2", "--out", str(tmp_path / "workers"))
    for i in range(2):
        _openhoi(*common, "--shard", f"{i}/2", "--out", str(tmp_path / f"slice{i}"))
    _openhoi("data", "merge", str(tmp_path / "slice1"), str(tmp_path / "slice0"),
             "--out", str(tmp_path / "merged"))  # fmt: skip
    _openhoi(*common, "--out", str(tmp_path / "launch"), launcher=True)
    one = tmp_path / "one"
    for other in ("workers", "merged", "launch"):
        folder = tmp_path / other
        for name in ("index.json", "splits.json"):
            assert json.loads((folder / name).read_text()) == json.loads((one / name).read_text())
        arrays, expected = _arrays(folder), _arrays(one)
        assert arrays.keys() == expected.keys()
        for key, value in expected.items():
            np.testing.assert_array_equal(arrays[key], value, err_msg=f"{other} {key}")
    # Slices of another run (other seed) are refused, and so is a slice given twice.
    _openhoi("data", "synth", "--episodes", "3", "--seed", "6", "--objects", "cup", "--quiet",
             "--shard", "1/2", "--out", str(tmp_path / "other"))  # fmt: skip
    bad_merges = (
        ([tmp_path / "slice0", tmp_path / "other"], "other settings"),
        ([tmp_path / "slice0", tmp_path / "slice0"], "both slice 0/2"),
    )
    for folders, needle in bad_merges:
        code, stderr = _exit("data", "merge", *map(str, folders), "--out", str(tmp_path / "bad"))
        assert code == 2 and needle in stderr and len(stderr.strip().splitlines()) == 1
        assert not (tmp_path / "bad").exists()


def test_a_slice_folder_resumes_only_its_own_slice(tmp_path):
    from openhoi.synth import synthesize_dataset

    folder = tmp_path / "slice"
    synthesize_dataset(folder, 3, seed=5, objects=["cup"], progress=False, shard=Shard(1, 2))
    index = json.loads((folder / "index.json").read_text())
    assert index["results"]["shard"] == [1, 2, 3]
    assert [i for s in index["shards"] for i in s["episode_ids"]] == ["synth-000001"]
    for other in (Shard(0, 2), None):
        with pytest.raises(InputError, match="another slice"):
            synthesize_dataset(folder, 3, seed=5, objects=["cup"], progress=False, shard=other)
