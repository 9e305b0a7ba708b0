"""README.md is a contract: every ```bash command and ```python snippet in it runs here.

`COMMANDS` and `SNIPPETS` are keyed by the README example exactly as written (a bash line
without its trailing `# comment`, `&&` chains split; a python block whole) and say how this
test runs it fast: `replace` pairs (README text -> what runs; each must occur in the example,
or the test fails), `append` (flags added to a command) and `setup` (files made first in the
shared temporary working directory). `test_every_readme_example_has_an_entry` fails when README
gains or changes an example without a matching entry here, and an entry without an example.

Commands run as subprocesses (`openhoi ...` is the console script beside this interpreter) in
README order in one working directory, so `openhoi render run/sequence.npz` renders what the
set-up command wrote; a command whose input is missing runs its producer first, so each test
also runs alone. Python snippets run in-process with `exec` in that directory (the pipeline
that `openhoi.generate` caches is loaded once). Not run here: `python -m pip install ...`
(CI installs exactly so: each part must appear verbatim in .ci/run) and `python -m pytest`
(this is it; it must appear in .ci/run too).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI_SCRIPT = ROOT / ".ci" / "run"
NOT_RUN = ("python -m pip install ", "python -m pytest")
FAST_GENERATE = " --steps 2 --no-report --quiet"  # 2 DDIM steps; physics is tested elsewhere
CAN_MESH = "my_meshes/can.obj"
# The output files README's set-up section lists (mask_XX for the first sub-task).
RUN_FILES = (
    *("sequence.npz", "plan.json", "mask_00.npy", "mask_00.ply", "meshes.npz"),
    *("sequence.glb", "sequence.bvh", "preview.mp4", "report.json", "config.json"),
)


# --- parsing README -----------------------------------------------------------------------


def _blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def _outside_quotes(line: str):
    """Yield (index, char, quoted) for each character of a shell line."""
    quote = None
    for index, char in enumerate(line):
        if quote is None and char in "\"'":
            quote = char
        elif char == quote:
            quote = None
        yield index, char, quote is not None


def _strip_comment(line: str) -> str:
    for index, char, quoted in _outside_quotes(line):
        if char == "#" and not quoted and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def _split_chain(line: str) -> list[str]:
    parts, start = [], 0
    for index, char, quoted in _outside_quotes(line):
        if char == "&" and not quoted and line[index : index + 2] == "&&":
            parts.append(line[start:index])
            start = index + 2
    parts.append(line[start:])
    return [part.strip() for part in parts if part.strip()]


def readme_commands() -> list[str]:
    """Every command of README's bash blocks, in order, `&&` chains split."""
    commands = []
    for block in _blocks("bash"):
        for line in re.sub(r"\s*\\\n\s*", " ", block).splitlines():
            line = _strip_comment(line.strip())
            if line:
                commands.extend(_split_chain(line))
    return commands


def readme_snippets() -> list[str]:
    return [textwrap.dedent(block).strip() for block in _blocks("python")]


# --- how each example runs ----------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """How the test runs one README example (see the module docstring)."""

    replace: tuple[tuple[str, str], ...] = ()
    append: str = ""
    setup: tuple[Callable[[Path], None], ...] = ()
    check: Callable[[Path], None] | None = None

    def transform(self, example: str) -> str:
        for old, new in self.replace:
            assert old in example, f"README example lost {old!r}; update its entry: {example}"
            example = example.replace(old, new)
        return example + self.append


def write_can_mesh(workdir: Path) -> None:
    """A 96-face cylinder at my_meshes/can.obj (the built-in can has thousands of faces)."""
    import trimesh

    path = workdir / CAN_MESH
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        mesh = trimesh.creation.cylinder(radius=0.033, height=0.12, sections=24)
        mesh.apply_translation([0.0, 0.0, 0.06])
        mesh.export(path)


def write_prompts(workdir: Path) -> None:
    lines = [
        {"instruction": "pick up the mug", "objects": ["mug"]},
        {"instruction": "press the phone's screen", "objects": ["phone"]},
    ]
    (workdir / "prompts.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def write_grab_release(workdir: Path) -> None:
    """A tiny GRAB release in the released layout (tests/data/fixtures_grab.py): two takes of
    a seen object (mug: the train split) and two of an unseen one (cup: `--split unseen`)."""
    sys.path.insert(0, str(ROOT / "tests" / "data"))
    try:
        from fixtures_grab import write_grab_dataset
    finally:
        sys.path.pop(0)
    if not (workdir / "GRAB").exists():
        takes = [("mug", "lift"), ("mug", "pass"), ("cup", "lift"), ("cup", "pass")]
        for seed, (name, intent) in enumerate(takes):
            write_grab_dataset(workdir / "GRAB", object_name=name, intent=intent, seed=seed)


def made_by(command: str, path: str) -> Callable[[Path], None]:
    """Set-up that runs README `command` (as its entry says) unless `path` exists."""

    def setup(workdir: Path) -> None:
        if not (workdir / path).exists():
            run_command(command, workdir)

    setup.__name__ = f"made_by({command!r})"
    return setup


def check_run(workdir: Path) -> None:
    names = {p.name for p in (workdir / "run").iterdir()}
    for name in RUN_FILES:
        assert name in names, f"run/ lacks {name}: {sorted(names)}"


def check_laptop(workdir: Path) -> None:
    plan = json.loads((workdir / "run2" / "plan.json").read_text())
    assert plan["objects"] == ["laptop"] and plan["subtasks"]
    assert (workdir / "run2" / "sequence.npz").is_file()


def check_user_can(workdir: Path) -> None:
    """run3's object is the user's 96-face mesh, not the built-in can."""
    import trimesh

    import openhoi

    user_faces = len(trimesh.load(workdir / CAN_MESH, process=False).faces)
    builtin_faces = len(openhoi.load_object("can").mesh.faces)
    assert user_faces != builtin_faces
    meshes = np.load(workdir / "run3" / "meshes.npz")
    assert len(meshes["object_faces"]) == user_faces
    sequence = openhoi.HOISequence.load(workdir / "run3" / "sequence.npz")
    assert sequence.object_name.startswith("mesh:") and "#sha256=" in sequence.object_name
    assert len(sequence.load_object().mesh.faces) == user_faces


def check_batch(workdir: Path) -> None:
    folders = sorted(p.name for p in (workdir / "batch").iterdir() if p.is_dir())
    assert len(folders) == 2, folders
    for folder in folders:
        assert (workdir / "batch" / folder / "sequence.npz").is_file()


def check_candidates_and_simulation(workdir: Path) -> None:
    report = json.loads((workdir / "run4" / "report.json").read_text())
    choices = report["candidates"].values()
    assert choices and all(len(choice["scores"]) == 2 for choice in choices)
    assert report["simulation"]["summary"].keys() >= {"hold_success", "tracking_success"}
    assert report["contact"]["scene"]["after"]["object_start_height_mm"] == 0.0


def check_mujoco(workdir: Path) -> None:
    check = json.loads((workdir / "run" / "check.json").read_text())
    assert check["summary"].keys() >= {"hold_success", "tracking_success", "slip_max_mm"}


def file_check(*paths: str) -> Callable[[Path], None]:
    def check(workdir: Path) -> None:
        for path in paths:
            assert (workdir / path).exists(), f"{path} was not written"

    return check


SPLIT_EVAL = " --steps 2 --no-sim --variants full --quiet"


def check_merged_equals_workers(workdir: Path) -> None:
    """The merged shards carry the numbers of the two-worker run (timings aside)."""
    merged = json.loads((workdir / "outputs/shards/merged.json").read_text())
    workers = json.loads((workdir / "outputs/split/benchmark_synth_unseen.json").read_text())

    def numbers(value):
        if isinstance(value, dict):
            return {
                k: numbers(v)
                for k, v in value.items()
                if k not in ("run", "seconds_per_prompt", "seconds", "command", "out", "workers",
                             "shard")
            }  # fmt: skip
        if isinstance(value, list):
            return [numbers(v) for v in value]
        return round(value, 9) if isinstance(value, float) else value

    assert numbers(merged["variants"]) == numbers(workers["variants"])
    assert numbers(merged["ground_truth"]) == numbers(workers["ground_truth"])


def check_merged_slices(workdir: Path) -> None:
    index = json.loads((workdir / "slices/all/index.json").read_text())
    assert index["num_episodes"] == 2, index["num_episodes"]


def check_pack(workdir: Path) -> None:
    """The pack of the generated run, read back: one clip with every listed file, depth PNG =
    npz depth in mm, keypoints = joints projected with camera.json, actions = the joints."""
    from PIL import Image

    from openhoi import HOISequence
    from openhoi.render import decode_actions, pack_file_names

    clip = workdir / "run_pack" / "clip_000"
    assert sorted(p.name for p in clip.parent.iterdir()) == ["clip_000"]
    for name in pack_file_names("all"):
        assert (clip / name.replace("NNNNNN", "000005")).is_file(), name
    with np.load(clip / "depth.npz") as data:
        depth = data["depth"]
    png = np.asarray(Image.open(clip / "depth" / "000005.png"))
    np.testing.assert_array_equal(png, np.rint(depth[5] * 1000).astype(np.uint16))
    camera = json.loads((clip / "camera.json").read_text())
    joints = HOISequence.load(workdir / "run/sequence.npz").hand_joints("right")[:6]
    rotation, translation = np.array(camera["R"]), np.array(camera["t"])
    local = np.einsum("tij,tkj->tki", rotation, joints) + translation[:, None]
    pixels = local @ np.array(camera["K"]).T
    with np.load(clip / "keypoints.npz") as data:
        keypoints = data["keypoints"][:, 1]
    np.testing.assert_array_less(np.abs(keypoints - pixels[..., :2] / pixels[..., 2:]), 0.5)
    decoded = decode_actions(np.load(clip / "actions.npy"))
    np.testing.assert_allclose(decoded.joints_world[:, 1], joints, atol=2e-5)


INTERPOLATE = (
    "openhoi interpolate --object bottle --start run/sequence.npz --target run/sequence.npz "
    "--frames 45 --candidates 4 --out run_back"
)
FORECAST = "openhoi forecast --history run/sequence.npz --frames 30 --samples 5 --out run_next"


def check_interpolate(workdir: Path) -> None:
    """From the run's last frame to its first frame's hands (the object stays), exactly."""
    from openhoi import HOISequence
    from openhoi.data import layout

    run = HOISequence.load(workdir / "run/sequence.npz")
    back = HOISequence.load(workdir / "run_back/sequence.npz")
    assert back.num_frames == 6
    np.testing.assert_allclose(back.frames[0], run.frames[-1], atol=1e-5)
    hands = slice(0, layout.OBJECT.start)
    np.testing.assert_allclose(back.frames[-1][hands], run.frames[0][hands], atol=1e-5)


def check_forecast(workdir: Path) -> None:
    from openhoi import HOISequence

    run = HOISequence.load(workdir / "run/sequence.npz")
    for name in ("sample_00.npz", "sample_01.npz"):
        sample = HOISequence.load(workdir / "run_next" / name)
        assert sample.num_frames == 5
        np.testing.assert_allclose(sample.frames[0], run.frames[-1], atol=1e-5)


RUN4 = (
    'openhoi generate --instruction "lift the mug" --object mug --candidates 4 --physics-sim '
    "--out run4"
)
SETUP = 'openhoi generate --instruction "I\'m thirsty, grab the bottle and take a sip" --object bottle --out run'  # noqa: E501
LAPTOP = (
    'openhoi generate --instruction "open the laptop and press a key" --object laptop --out run2'
)
GRAB = "openhoi data prepare grab --root GRAB --out prepared/grab"
SYNTH = "openhoi data synth --out synth --episodes 1500 --seed 0 --workers 2"
SPLIT_WORKERS = "openhoi eval motion --limit 8 --repeats 3 --workers 2 --out outputs/split"
SPLIT_SHARD = "openhoi eval motion --limit 8 --repeats 3 --shard {}/2 --out outputs/shards"
SHARD_FILE = "outputs/shards/benchmark_synth_unseen.shard-{}-of-2.npz"
SLICE = "openhoi data synth --out slices/part{0} --episodes 40 --shard {0}/2"
README_FIGURE = "python tools/make_readme_figure.py run --frame 175 --out docs/preview.png"

COMMANDS: dict[str, Run] = {
    # The render stays on: preview.mp4 is one of the files README lists.
    SETUP: Run(append=" --steps 2 --no-report --quiet", check=check_run),
    "openhoi --version": Run(),
    LAPTOP: Run(append=FAST_GENERATE + " --no-render", check=check_laptop),
    'openhoi generate --instruction "lift the can" --object my_meshes/can.obj --out run3': Run(
        append=FAST_GENERATE + " --no-render", setup=(write_can_mesh,), check=check_user_can
    ),
    "openhoi generate --prompts prompts.jsonl --out batch": Run(
        append=FAST_GENERATE + " --no-render", setup=(write_prompts,), check=check_batch
    ),
    RUN4: Run(
        replace=(("--candidates 4", "--candidates 2"),),
        append=" --steps 2 --quiet --no-render",
        check=check_candidates_and_simulation,
    ),
    "openhoi check run": Run(
        append=" --quiet",
        setup=(made_by(SETUP, "run/sequence.npz"),),
        check=check_mujoco,
    ),
    "openhoi objects list": Run(),
    "openhoi objects show laptop": Run(),
    "openhoi doctor": Run(),
    GRAB: Run(append=" --quiet", setup=(write_grab_release,), check=file_check("prepared/grab")),
    "openhoi train motion data=prepared/grab out=runs/motion_grab": Run(
        append=" steps=2 batch_size=4 --quiet",
        setup=(made_by(GRAB, "prepared/grab/index.json"),),
        check=file_check("runs/motion_grab/checkpoint"),
    ),
    "openhoi train evaluator data=prepared/grab out=runs/evaluator_grab": Run(
        append=" steps=2 batch_size=4 --quiet",
        setup=(made_by(GRAB, "prepared/grab/index.json"),),
        check=file_check("runs/evaluator_grab"),
    ),
    # Two unseen-object prompts, so FID / Diversity use the trained evaluator.
    "openhoi eval motion --dataset grab --data prepared/grab --split unseen "
    "--checkpoint runs/motion_grab/checkpoint --evaluator runs/evaluator_grab": Run(
        append=" --repeats 1 --steps 2 --quiet",
        setup=(
            made_by(
                "openhoi train motion data=prepared/grab out=runs/motion_grab",
                "runs/motion_grab/checkpoint",
            ),
            made_by(
                "openhoi train evaluator data=prepared/grab out=runs/evaluator_grab",
                "runs/evaluator_grab",
            ),
        ),
        check=file_check("outputs/benchmark/benchmark_grab_unseen.json"),
    ),
    "openhoi render run/sequence.npz --width 960 --height 720 --out preview_large.mp4": Run(
        replace=(("--width 960 --height 720", "--width 160 --height 120"),),
        setup=(made_by(SETUP, "run/sequence.npz"),),
        check=file_check("preview_large.mp4"),
    ),
    "openhoi render run/sequence.npz --pack all --size 720x480 --clip 49 --camera ego --out run_pack": Run(  # noqa: E501
        replace=(("--size 720x480 --clip 49", "--size 96x64 --clip 6 --stride 1000"),),
        setup=(made_by(SETUP, "run/sequence.npz"),),
        check=check_pack,
    ),
    INTERPOLATE: Run(
        replace=(("--frames 45 --candidates 4", "--frames 6 --candidates 2"),),
        append=" --steps 2 --no-report",
        setup=(made_by(SETUP, "run/sequence.npz"),),
        check=check_interpolate,
    ),
    FORECAST: Run(
        replace=(("--frames 30 --samples 5", "--frames 4 --samples 2"),),
        append=" --steps 2",
        setup=(made_by(SETUP, "run/sequence.npz"),),
        check=check_forecast,
    ),
    "openhoi export run/sequence.npz --format bvh": Run(
        setup=(made_by(SETUP, "run/sequence.npz"),)
    ),
    # Served until Ctrl-C as written; here it only writes the page.
    "openhoi view run": Run(
        append=" --html-only --no-browser",
        setup=(made_by(SETUP, "run/sequence.npz"),),
        check=file_check("run/viewer.html"),
    ),
    # The README figure from the quick set-up run (its frame 0), not over docs/preview.png.
    README_FIGURE: Run(
        replace=(
            ("python tools/", f"{shlex.quote(sys.executable)} {shlex.quote(str(ROOT / 'tools'))}/"),
            ("--frame 175", "--frame 0 --width 320 --height 180"),
            ("--out docs/preview.png", "--out readme_figure.png"),
        ),
        setup=(made_by(SETUP, "run/sequence.npz"),),
        check=file_check("readme_figure.png"),
    ),
    SYNTH: Run(
        replace=(("--episodes 1500", "--episodes 2"), ("--workers 2", "--workers 1")),
        append=" --quiet",
        check=file_check("synth/index.json"),
    ),
    "openhoi train motion data=synth out=runs/motion": Run(
        append=" steps=2 batch_size=4 --quiet",
        setup=(made_by(SYNTH, "synth/index.json"),),
        check=file_check("runs/motion/checkpoint"),
    ),
    "openhoi train planner stage=coarse out=runs/coarse": Run(
        append=" steps=2 batch_size=2 --quiet", check=file_check("runs/coarse/final")
    ),
    "openhoi train evaluator data=synth out=runs/evaluator": Run(
        append=" steps=2 batch_size=4 --quiet",
        setup=(made_by(SYNTH, "synth/index.json"),),
        check=file_check("runs/evaluator"),
    ),
    # $OPENHOI_CACHE is the temporary directory, so the 1-episode test split is made afresh.
    "openhoi eval motion --split unseen --repeats 20": Run(
        replace=(("--repeats 20", "--repeats 1"),),
        append=" --limit 1 --steps 2 --quiet",
        check=file_check("outputs/benchmark/benchmark_synth_unseen.json"),
    ),
    # Split runs: one episode, 2 DDIM steps, no simulator; the merged shards must give the
    # numbers the two-worker run gave (tests/test_shard_runs.py compares more, marked slow).
    SPLIT_WORKERS: Run(
        replace=(("--limit 8 --repeats 3", "--limit 1 --repeats 1"),),
        append=SPLIT_EVAL,
        check=file_check("outputs/split/benchmark_synth_unseen.json"),
    ),
    "openhoi eval motion --limit 8 --repeats 3 --shard 0/2 --out outputs/shards": Run(
        replace=(("--limit 8 --repeats 3", "--limit 1 --repeats 1"),),
        append=SPLIT_EVAL,
        check=file_check("outputs/shards/benchmark_synth_unseen.shard-0-of-2.npz"),
    ),
    "openhoi eval motion --limit 8 --repeats 3 --shard 1/2 --out outputs/shards": Run(
        replace=(("--limit 8 --repeats 3", "--limit 1 --repeats 1"),),
        append=SPLIT_EVAL,
        check=file_check("outputs/shards/benchmark_synth_unseen.shard-1-of-2.npz"),
    ),
    (
        "openhoi eval merge outputs/shards/benchmark_synth_unseen.shard-0-of-2.npz "
        "outputs/shards/benchmark_synth_unseen.shard-1-of-2.npz --out outputs/shards/merged.json"
    ): Run(
        setup=(
            made_by(SPLIT_WORKERS, "outputs/split/benchmark_synth_unseen.json"),
            *(made_by(SPLIT_SHARD.format(i), SHARD_FILE.format(i)) for i in (0, 1)),
        ),
        check=check_merged_equals_workers,
    ),
    "openhoi data synth --out slices/part0 --episodes 40 --shard 0/2": Run(
        replace=(("--episodes 40", "--episodes 2"),),
        append=" --quiet",
        check=file_check("slices/part0/index.json"),
    ),
    "openhoi data synth --out slices/part1 --episodes 40 --shard 1/2": Run(
        replace=(("--episodes 40", "--episodes 2"),),
        append=" --quiet",
        check=file_check("slices/part1/index.json"),
    ),
    "openhoi data merge slices/part0 slices/part1 --out slices/all": Run(
        setup=tuple(made_by(SLICE.format(i), f"slices/part{i}/index.json") for i in (0, 1)),
        check=check_merged_slices,
    ),
    "openhoi eval planner --split unseen --phrasing held_out": Run(
        append=" --num-scenes 2 --num-coarse 0",
        check=file_check("outputs/benchmark/planner_unseen_held_out.json"),
    ),
}

API_SNIPPET = """\
import openhoi

result = openhoi.generate("open the laptop and press a key", ["laptop"], seed=0)
for subtask in result.plan.subtasks:
    print(subtask.primitive, subtask.hands, subtask.affordance)
print(result.sequence)  # HOISequence: sub-tasks and the transitions between them
print(result.summary())  # what report.json holds: physics, sub-task frames, timings
result.sequence.save("laptop.npz")
result.sequence.to_glb("laptop.glb", result.object)

scene = openhoi.generate("pour water from the kettle into the mug", ["kettle", "mug"], steps=10)
print(scene.object.name, [obj.name for obj in scene.objects])  # kettle ['kettle', 'mug']
pour = next(s for s in scene.plan.subtasks if s.target_index is not None)
print(pour.text, pour.relation, scene.static_poses[pour.target_index][:3, 3])  # the mug's place"""

PIPELINE_SNIPPET = """\
import openhoi
from openhoi.api import GenerateConfig, Pipeline

pipeline = Pipeline.from_pretrained()  # shipped planner and motion model; device=, mano_dir=
config = GenerateConfig.from_options(seed=1, steps=10, guidance_rate=0.3)
result = pipeline("I'm thirsty, grab the bottle and take a sip", ["bottle"], config)
print(result.config.sampling, result.timings)

refined = openhoi.refine(result.sequence, "bottle")  # any sequence: phases found, grasps fitted
print([(p.start, p.end, p.kind) for p in refined.phases], refined.summary()["scene"])"""

OBJECTS_SNIPPET = """\
import torch
import openhoi
from openhoi.geometry import signed_distance

mug = openhoi.load_object("mug")  # metres, z up, resting on z = 0
print(mug.summary()["parts"], mug.points.points.shape)  # parts; 1024 sampled points
mine = openhoi.load_object("my_meshes/can.obj")  # your file, not the built-in can
print(mine.ref)  # mesh:/abs/path/my_meshes/can.obj#sha256=...
assert openhoi.load_object(str(mine.ref)).ref == mine.ref  # references load back

seq = openhoi.HOISequence.load("run/sequence.npz")  # the set-up command's output
hand = openhoi.HandModel(side="right")  # embedded hand; mano_dir=... for real MANO
joints = seq.hand_joints("right", hand)  # (T, 21, 3): 16 MANO joints + 5 fingertips
out = signed_distance(torch.tensor(joints[0]), seq.load_object().mesh)
print(out.sdf)  # metres, < 0 inside the bottle; differentiable in the points"""

SNIPPETS: dict[str, Run] = {
    # 2 sampler steps, no physics report (result.summary()["physics"] is then None).
    API_SNIPPET: Run(
        replace=(
            ('["laptop"], seed=0)', '["laptop"], seed=0, steps=2, report=False)'),
            ('["kettle", "mug"], steps=10)', '["kettle", "mug"], steps=2, report=False)'),
        ),
        check=file_check("laptop.npz", "laptop.glb"),
    ),
    PIPELINE_SNIPPET: Run(
        replace=(("steps=10, guidance_rate=0.3)", "steps=2, guidance_rate=0.3, report=False)"),),
    ),
    OBJECTS_SNIPPET: Run(setup=(write_can_mesh, made_by(SETUP, "run/sequence.npz"))),
}


# --- running ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readme")


def _environment(workdir: Path) -> dict[str, str]:
    return {**os.environ, "OPENHOI_CACHE": str(workdir / "cache"), "COLUMNS": "120"}


def run_command(command: str, workdir: Path) -> None:
    entry = COMMANDS[command]
    for setup in entry.setup:
        setup(workdir)
    argv = shlex.split(entry.transform(command))
    if argv[0] == "openhoi":
        script = Path(sys.executable).with_name("openhoi")
        argv[0:1] = [str(script)] if script.exists() else [sys.executable, "-m", "openhoi.cli"]
    result = subprocess.run(
        argv, cwd=workdir, env=_environment(workdir), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, (
        f"README command failed (exit {result.returncode}): {command}\nran: {shlex.join(argv)}\n"
        f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    )
    if entry.check is not None:
        entry.check(workdir)


def _snippet_id(snippet: str) -> str:
    """The snippet's first line that is not an import."""
    lines = snippet.splitlines()
    return next(line for line in lines if line and not line.startswith(("import", "from")))[:60]


def test_every_readme_example_has_an_entry():
    commands = [c for c in readme_commands() if not c.startswith(NOT_RUN)]
    assert len(commands) == len(set(commands)), "a README command appears twice"
    assert set(commands) == set(COMMANDS), (
        f"README commands without an entry: {sorted(set(commands) - set(COMMANDS))}; "
        f"entries without a README command: {sorted(set(COMMANDS) - set(commands))}"
    )
    snippets = readme_snippets()
    assert set(snippets) == set(SNIPPETS), (
        "README python blocks and SNIPPETS differ: "
        f"new or changed in README: {[s[:200] for s in set(snippets) - set(SNIPPETS)]}; "
        f"no longer in README: {[s[:200] for s in set(SNIPPETS) - set(snippets)]}"
    )


def test_install_and_test_commands_are_what_ci_runs():
    ci = CI_SCRIPT.read_text()
    not_run = [c for c in readme_commands() if c.startswith(NOT_RUN)]
    assert any(c.startswith("python -m pip install ") for c in not_run)
    assert "python -m pytest" in not_run
    for command in not_run:
        assert re.search(rf"^{re.escape(command)}$", ci, flags=re.MULTILINE), (
            f"README's {command!r} is not a line of .ci/run"
        )


@pytest.mark.parametrize("command", list(COMMANDS), ids=lambda c: c[:70])
def test_readme_command(command, workdir):
    run_command(command, workdir)


@pytest.mark.parametrize("snippet", list(SNIPPETS), ids=_snippet_id)
def test_readme_python_snippet(snippet, workdir, monkeypatch):
    entry = SNIPPETS[snippet]
    for setup in entry.setup:
        setup(workdir)
    monkeypatch.chdir(workdir)
    exec(compile(entry.transform(snippet), "README.md", "exec"), {"__name__": "__readme__"})
    if entry.check is not None:
        entry.check(workdir)
