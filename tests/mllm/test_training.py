"""`openhoi train planner`: stage configs compose, a tiny planner trains, resume continues,
and a prepared episodes folder lends only its train split."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from openhoi.errors import InputError
from openhoi.mllm.checkpoint import load_checkpoint
from openhoi.mllm.training import MASK_HEAD, run_train_mllm

# A tiny planner (random backbone without MiniLM) so a step takes well under a second.
TINY = [
    "quiet=true",
    "batch_size=2",
    "max_scene_objects=1",
    "model.num_points=256",
    "model.max_objects=2",
    "model.max_steps=3",
    "model.max_text_tokens=6",
    "model.point_encoder.num_groups=8",
    "model.point_encoder.group_size=16",
    "model.point_encoder.hidden_size=32",
    "model.point_encoder.num_layers=1",
    "model.point_encoder.num_heads=2",
    "model.decoder.hidden_size=32",
    "model.decoder.num_layers=1",
    "model.decoder.num_heads=2",
    "+default_backbone.hidden_size=32",
    "+default_backbone.num_layers=1",
    "+default_backbone.num_heads=2",
    "+default_backbone.intermediate_size=64",
    "+default_backbone.use_minilm_embeddings=false",
    "+default_backbone.use_instruction_encoder=false",
]


def history(folder) -> list[dict]:
    return json.loads((folder / "history.json").read_text())


def test_coarse_then_fine_stage_and_resume(tmp_path):
    coarse = run_train_mllm(["stage=coarse", f"out={tmp_path / 'coarse'}", "steps=2", *TINY])
    assert json.loads((coarse / "train_config.json").read_text())["stage"] == "coarse"
    _model, backbone = load_checkpoint(coarse)
    assert backbone["kind"] == "default"

    fine_dir = tmp_path / "fine"
    common = [f"out={fine_dir}", f"init_from={coarse}", "checkpoint_interval=1", "log_interval=1"]
    common += TINY
    first = run_train_mllm(["stage=fine", "steps=2", *common])
    assert [r["step"] for r in history(first)] == [1, 2]
    # Resume from out/last: steps 3 and 4 only, not a fresh start.
    resumed = run_train_mllm(["stage=fine", "steps=4", *common], resume=True)
    assert [r["step"] for r in history(resumed)] == [3, 4]
    config = json.loads((resumed / "train_config.json").read_text())
    assert config["stage"] == "fine" and config["steps"] == 4
    log = [json.loads(line) for line in (fine_dir / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4] and "aff_loss" in log[0]


def test_mask_head_tuning_leaves_every_weight_a_plan_reads_unchanged(tmp_path):
    base = run_train_mllm(["stage=coarse", f"out={tmp_path / 'base'}", "steps=1", *TINY])
    tuned = run_train_mllm(
        [
            "stage=fine",
            f"out={tmp_path / 'tuned'}",
            f"init_from={base}",
            "steps=2",
            "learning_rate=1e-2",
            "trainable=mask_head",
            *TINY,
        ]
    )
    before = load_checkpoint(base)[0].state_dict()
    after = load_checkpoint(tuned)[0].state_dict()
    assert before.keys() == after.keys()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith("decoder.") for k in changed), "the decoder did not learn"
    assert any(k.startswith("point_encoder.point_fuse.") for k in changed)
    assert all(k.startswith(MASK_HEAD) for k in changed), sorted(changed)
    with pytest.raises(InputError, match="trainable"):
        run_train_mllm(["stage=fine", "trainable=lm", *TINY])


def test_unknown_stage_and_key_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="stage"):
        run_train_mllm(["stage=medium"])
    with pytest.raises(InputError, match="no_such_key"):
        run_train_mllm(["stage=coarse", "no_such_key=1"])


def test_cli_bad_override_exits_2_with_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "openhoi.cli", "train", "planner", "stage=coarse", "steps=0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "steps must be >= 1" in result.stderr


def test_renamed_scene_shows_stand_in_names_consistently():
    from openhoi.mllm.model import PlannerSample
    from openhoi.mllm.training import ALIAS_NAMES, renamed
    from openhoi.objects import list_objects
    from openhoi.synth.tasks import HELD_OUT_OBJECTS
    from openhoi.vocab import SubTask

    sample = PlannerSample(
        points=(np.zeros((4, 6), np.float32), np.zeros((4, 6), np.float32)),
        names=("spray bottle", "bottle"),
        instruction="Move the bottle next to the Spray Bottle.",
        steps=(SubTask("grasp", "right", "wrap-grasp", "grab the bottle by its body", 1),),
        masks=(np.ones(4, np.float32),),
    )
    out = renamed(sample, np.random.default_rng(0))
    spray, plain = out.names
    assert spray != plain and {spray, plain} <= set(ALIAS_NAMES)
    # The longer name is replaced as a whole, never half-rewritten by the shorter one.
    assert out.instruction == f"Move the {plain} next to the {spray}."
    assert out.steps[0].text == f"grab the {plain} by its body"
    # Everything but the words is the sample's own.
    assert out.steps[0].object_index == 1 and out.steps[0].affordance == "wrap-grasp"
    assert out.masks is sample.masks and out.points is sample.points
    # Stand-ins never give away an evaluation object, nor pass one object off as another.
    assert not set(ALIAS_NAMES) & set(HELD_OUT_OBJECTS)
    assert not set(ALIAS_NAMES) & {name.replace("_", " ") for name in list_objects()}


def test_a_prepared_folder_lends_the_planner_only_its_train_split(tmp_path):
    """data=FOLDER: the fine stage draws the train split's episodes, never a held-out one."""
    import dataclasses
    from pathlib import Path

    from openhoi.data import EpisodeWriter, load_episodes, read_index
    from openhoi.data.prepare import prepare_dataset
    from openhoi.mllm.training import PlannerTrainConfig, sample_stream

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
    from fixtures_h2o import write_h2o_dataset

    folder = tmp_path / "prepared"
    prepare_dataset("h2o", write_h2o_dataset(tmp_path / "raw").root, folder, progress=False)
    (seen,) = load_episodes(folder)
    index = read_index(folder)
    held_out = dataclasses.replace(
        seen, episode_id="held_out_subject", instruction="A held-out subject's request."
    )
    with EpisodeWriter(folder, source=index["source"], info=index.get("info", {})) as writer:
        writer.add(held_out)
    splits = {"train": [seen.episode_id], "val": [], "test_seen": [held_out.episode_id],
              "test_unseen_objects": [], "test": [held_out.episode_id]}  # fmt: skip
    (folder / "splits.json").write_text(json.dumps({"splits": splits}))

    config = PlannerTrainConfig(
        stage="fine", data=str(folder), coarse_fraction=0.0, rename_probability=0.0,
        paraphrase_probability=0.0, max_scene_objects=1,
    )  # fmt: skip
    stream = sample_stream(config, np.random.default_rng(0))
    instructions = {next(stream).instruction for _ in range(24)}
    assert seen.instruction in instructions
    assert held_out.instruction not in instructions

    # A folder whose train split holds nothing is refused rather than silently ignored.
    splits["train"] = []
    (folder / "splits.json").write_text(json.dumps({"splits": splits}))
    with pytest.raises(InputError, match="'train' split"):
        next(sample_stream(config, np.random.default_rng(0)))
