"""`openhoi generate` end to end on the shipped weights: every output file, batch, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from openhoi import HOISequence

FAST = ["--steps", "4", "--seed", "3"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "openhoi.cli", *args], capture_output=True, text=True, timeout=600
    )


def assert_user_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "run"
    result = run_cli(
        "generate",
        "--instruction",
        "pick up the mug and put it down again",
        "--object",
        "mug",
        "--out",
        str(out),
        *FAST,
    )
    assert result.returncode == 0, result.stderr
    return out


def test_every_output_file_is_written_and_consistent(generated):
    from openhoi.export.bvh import read_bvh
    from openhoi.export.gltf import read_glb

    names = {p.name for p in generated.iterdir()}
    for name in (
        "sequence.npz",
        "plan.json",
        "meshes.npz",
        "sequence.glb",
        "sequence.bvh",
        "preview.mp4",
        "report.json",
    ):
        assert name in names
    assert not [n for n in names if n.startswith(".")]  # no temporary leftovers
    seq = HOISequence.load(generated / "sequence.npz")
    plan = json.loads((generated / "plan.json").read_text())
    report = json.loads((generated / "report.json").read_text())
    assert plan["objects"] == ["mug"] and plan["subtasks"]
    for sub in plan["subtasks"]:
        assert sub["frames"] is None or 0 <= sub["frames"][0] < sub["frames"][1] <= seq.num_frames
        assert (generated / sub["mask"]).is_file()
    assert report["num_frames"] == seq.num_frames
    assert set(report["physics"]) >= {"penetration_depth_max_mm", "contact_ratio"}
    with np.load(generated / "meshes.npz") as meshes:
        np.testing.assert_allclose(meshes["right_verts"], seq.hand_vertices("right"), atol=1e-5)
        assert meshes["object_verts"].shape[0] == seq.num_frames
    glb = read_glb(generated / "sequence.glb")
    assert len(glb.gltf["skins"]) == 2
    bvh = read_bvh(generated / "sequence.bvh")
    assert bvh.motion.shape[0] == seq.num_frames
    import imageio.v3 as iio

    assert iio.imread(generated / "preview.mp4").shape[0] == seq.num_frames


# A second full generate in a subprocess (~50 s); test_api's same-seed tests keep the
# determinism of the pipeline itself in the default run.
@pytest.mark.slow
def test_same_seed_same_sequence(generated, tmp_path):
    again = tmp_path / "again"
    result = run_cli(
        "generate",
        "--instruction",
        "pick up the mug and put it down again",
        "--object",
        "mug",
        "--out",
        str(again),
        "--no-render",
        *FAST,
    )
    assert result.returncode == 0, result.stderr
    first = HOISequence.load(generated / "sequence.npz")
    second = HOISequence.load(again / "sequence.npz")
    np.testing.assert_array_equal(first.frames, second.frames)


def test_batch_mode_reports_a_bad_prompt_and_keeps_the_others(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        json.dumps({"instruction": "grab the bottle", "objects": ["bottle"]})
        + "\n"
        + json.dumps({"instruction": "open the portal", "objects": ["teleporter"]})
        + "\n"
    )
    out = tmp_path / "batch"
    result = run_cli(
        "generate",
        "--prompts",
        str(prompts),
        "--out",
        str(out),
        "--no-render",
        "--batch-size",
        "2",
        *FAST,
    )
    assert result.returncode == 2
    assert "teleporter" in result.stdout
    assert (out / "prompt_0000" / "sequence.npz").is_file()
    assert not (out / "prompt_0001").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--instruction", "", "--object", "mug"], "empty"),
        (["--instruction", "x" * 10_000, "--object", "mug"], "10000 characters"),
        (["--instruction", "grab it", "--object", "teleporter"], "teleporter"),
        (["--instruction", "grab it", "--object", "mug", "--batch-size", "0"], "--batch-size"),
        (
            ["--instruction", "grab it", "--object", "mug", "--mano-dir", "/nonexistent/mano"],
            "/nonexistent/mano",
        ),
    ],
)
def test_bad_inputs_fail_cleanly_and_write_nothing(tmp_path, args, needle):
    out = tmp_path / "out"
    assert_user_error(run_cli("generate", *args, "--out", str(out), *FAST), needle)
    assert not out.exists() or not any(out.iterdir())


def test_unreadable_mesh_and_unwritable_folder(tmp_path):
    broken = tmp_path / "broken.obj"
    broken.write_text("this is no mesh")
    assert_user_error(
        run_cli(
            "generate",
            "--instruction",
            "grab it",
            "--object",
            str(broken),
            "--out",
            str(tmp_path / "o"),
            *FAST,
        ),
        "broken.obj",
    )
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert_user_error(
        run_cli(
            "generate",
            "--instruction",
            "grab it",
            "--object",
            "mug",
            "--out",
            str(blocker / "sub"),
            *FAST,
        ),
        "output folder",
    )


def test_corrupted_weights_are_refused(tmp_path):
    from openhoi.motion.generator import default_model_path

    broken = tmp_path / "motion"
    shutil.copytree(default_model_path(), broken)
    (broken / "ema.safetensors").write_bytes(b"garbage")
    assert_user_error(
        run_cli(
            "generate",
            "--instruction",
            "grab the mug",
            "--object",
            "mug",
            "--motion",
            str(broken),
            "--out",
            str(tmp_path / "o"),
            *FAST,
        ),
        "ema.safetensors",
    )


def _user_can(folder) -> str:
    """A user's own can mesh (a 24-sided cylinder, 96 faces), named like the built-in."""
    import trimesh

    mesh = trimesh.creation.cylinder(radius=0.03, height=0.11, sections=24)
    mesh.apply_translation([0.0, 0.0, 0.055])
    path = folder / "can.obj"
    mesh.export(path)
    return str(path)


def test_a_user_mesh_named_like_a_built_in_is_used_everywhere(tmp_path):
    from openhoi.objects import load_object

    mesh_path = _user_can(tmp_path)
    out = tmp_path / "run"
    result = run_cli(
        "generate", "--instruction", "lift the can", "--object", mesh_path, "--out", str(out),
        "--no-render", "--no-report", "--quiet", *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    user = load_object(mesh_path)
    assert len(user.mesh.faces) != len(load_object("can").mesh.faces)
    seq = HOISequence.load(out / "sequence.npz")
    assert seq.load_object().mesh.faces.shape == user.mesh.faces.shape
    pose = seq.object_transforms()[0]
    with np.load(out / "meshes.npz") as meshes:
        np.testing.assert_array_equal(meshes["object_faces"], user.mesh.faces)
        posed = np.asarray(user.mesh.vertices) @ pose[:3, :3].T + pose[:3, 3]
        np.testing.assert_allclose(meshes["object_verts"][0], posed, atol=1e-5)
    report = json.loads((out / "report.json").read_text())
    assert report["object"] == str(user.ref) and report["object"].startswith("mesh:")
    config = json.loads((out / "config.json").read_text())
    assert config["objects"] == [report["object"]] and config["config"]["seed"] == 3


def test_an_existing_output_folder_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "mask_04.npy").write_bytes(b"stale")
    args = ["generate", "--instruction", "grab the knife", "--object", "knife", "--out", str(out)]
    fast = ["--no-render", "--no-report", "--quiet", "--steps", "2"]
    assert_user_error(run_cli(*args, *fast), "already exists", "--overwrite")
    assert (out / "mask_04.npy").read_bytes() == b"stale"  # untouched
    result = run_cli(*args, *fast, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert not (out / "mask_04.npy").exists()  # replaced whole: no stale files
    assert (out / "sequence.npz").is_file()


def test_ctrl_c_exits_130_and_leaves_no_output(tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "openhoi.cli", "generate", "--instruction", "grab the mug",
         "--object", "mug", "--out", str(out), "--steps", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(8)  # models loaded, sampling or later
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "openhoi: interrupted"
    assert "Traceback" not in stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_version():
    from openhoi import __version__

    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"openhoi {__version__}"


def test_a_reference_whose_mesh_changed_is_one_clear_error(tmp_path):
    from openhoi.objects import load_object

    mesh_path = _user_can(tmp_path)
    reference = str(load_object(mesh_path).ref)
    with open(mesh_path, "a") as handle:
        handle.write("# edited after the reference was taken\n")
    out = tmp_path / "run"
    result = run_cli(
        "generate", "--instruction", "lift the can", "--object", reference, "--out", str(out),
        *FAST,
    )  # fmt: skip
    assert_user_error(result, mesh_path, reference.split("sha256=")[1][:12])
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
