"""The `openhoi` command line as a user runs it: exit codes, messages, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openhoi import HOISequence
from openhoi.data import load_episodes


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "openhoi.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def assert_user_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_importing_cli_loads_no_torch():
    code = "import sys, openhoi.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_help_lists_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("objects", "doctor", "demo"):
        assert command in result.stdout


def test_objects_list_and_show():
    listed = run_cli("objects", "list")
    assert listed.returncode == 0, listed.stderr
    for name in ("bottle", "mug", "laptop"):
        assert name in listed.stdout
    shown = run_cli("objects", "show", "laptop")
    assert shown.returncode == 0, shown.stderr
    assert "articulated" in shown.stdout and "lid" in shown.stdout


def test_unknown_object_is_one_clear_error():
    assert_user_error(run_cli("objects", "show", "teleporter"), "teleporter", "bottle")


def test_missing_mesh_file_is_one_clear_error(tmp_path):
    assert_user_error(run_cli("objects", "show", str(tmp_path / "missing.obj")), "missing.obj")


def test_unreadable_mesh_is_one_clear_error(tmp_path):
    bad = tmp_path / "broken.ply"
    bad.write_bytes(b"this is not a ply file")
    assert_user_error(run_cli("objects", "show", str(bad)), "broken.ply")


def test_doctor_reports_versions_and_hand():
    result = run_cli("doctor")
    assert result.returncode == 0, result.stderr
    assert "torch" in result.stdout and "embedded default hand" in result.stdout


def test_doctor_with_wrong_mano_dir(tmp_path):
    assert_user_error(run_cli("doctor", "--mano-dir", str(tmp_path)), "MANO_RIGHT.pkl")


def test_demo_writes_sequence_and_metrics(tmp_path):
    out = tmp_path / "demo"
    result = run_cli("demo", "object=mug", f"out={out}", "num_frames=20")
    assert result.returncode == 0, result.stderr
    assert "penetration_depth_max_mm" in result.stdout
    seq = HOISequence.load(out / "sequence.npz")
    assert seq.num_frames == 20 and seq.object_name == "mug"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["contact_ratio"] > 0
    # The final grasp touches the object without deep penetration.
    assert metrics["penetration_depth_max_mm"] < 10.0
    assert np.isfinite(seq.frames).all()


@pytest.mark.parametrize(
    ("override", "needle"),
    [("object=teleporter", "teleporter"), ("side=middle", "side"), ("bogus=1", "bogus")],
)
def test_demo_bad_config_is_one_clear_error(override, needle):
    assert_user_error(run_cli("demo", override), needle)


def test_data_prepare_on_an_h2o_folder(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
    from fixtures_h2o import write_h2o_dataset

    fixture = write_h2o_dataset(tmp_path / "raw")
    out = tmp_path / "prepared"
    result = run_cli("data", "prepare", "h2o", "--root", str(fixture.root), "--out", str(out), "-q")
    assert result.returncode == 0, result.stderr
    assert "episodes written" in result.stdout
    assert list(load_episodes(out))


def test_data_prepare_missing_folder_is_one_clear_error(tmp_path):
    result = run_cli(
        "data", "prepare", "arctic", "--root", str(tmp_path / "nope"), "--out", str(tmp_path / "o")
    )
    assert_user_error(result, "nope")
    assert not (tmp_path / "o").exists()


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_doctor_refuses_a_malicious_mano_pickle(tmp_path):
    import pickle

    marker = tmp_path / "pwned"
    for name in ("MANO_RIGHT.pkl", "MANO_LEFT.pkl"):
        (tmp_path / name).write_bytes(pickle.dumps({"v_template": _Exploit(marker)}, protocol=2))
    result = run_cli("doctor", "--mano-dir", str(tmp_path))
    assert_user_error(result, "MANO_RIGHT.pkl", "system")
    assert not marker.exists()


def test_export_and_render_a_saved_sequence(tmp_path):
    rng = np.random.default_rng(0)
    seq = HOISequence.from_parameters(
        right_pose=rng.normal(scale=0.2, size=(12, 16, 3)),
        right_transl=np.linspace([0.0, -0.2, 0.1], [0.0, -0.1, 0.1], 12),
        object_name="mug",
    )
    path = seq.save(tmp_path / "sequence.npz")
    for fmt, name in (("glb", "sequence.glb"), ("bvh", "sequence.bvh"), ("meshes", "meshes.npz")):
        result = run_cli("export", str(path), "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / name).is_file()
    result = run_cli("render", str(path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "preview.mp4").stat().st_size > 0
    assert_user_error(run_cli("export", str(path), "--format", "fbx"), "fbx")
    assert_user_error(run_cli("render", str(tmp_path / "missing.npz")), "missing.npz")


def test_train_verbs_share_one_grammar_and_the_old_verbs_still_run(tmp_path):
    missing, out = tmp_path / "missing", tmp_path / "out"
    for verb in ("motion", "planner stage=coarse", "evaluator"):
        args = (*verb.split(), f"data={missing}", f"out={out}", "--resume", "--quiet")
        result = run_cli("train", *args)
        assert_user_error(result, str(missing), "does not exist")
        assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    # The old verbs say what replaced them, then run it (old keys warn the same way).
    result = run_cli("train", "diffusion", f"data={missing}", f"out={out}", "num_steps=5")
    assert_user_error(
        result,
        "`openhoi train diffusion` is deprecated; use `openhoi train motion`",
        "'num_steps' is deprecated; use 'steps'",
        "does not exist",
    )
    result = run_cli("train", "mllm", "stage=coarse", "steps=0")
    assert_user_error(result, "use `openhoi train planner`", "steps must be >= 1")
