"""`openhoi train mllm`: stage configs compose, a tiny planner trains, resume continues."""

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
    coarse = run_train_mllm(
        ["stage=coarse", f"out_dir={tmp_path / 'coarse'}", "num_steps=2", *TINY]
    )
    assert json.loads((coarse / "train_config.json").read_text())["stage"] == "coarse"
    _model, backbone = load_checkpoint(coarse)
    assert backbone["kind"] == "default"

    fine_dir = tmp_path / "fine"
    common = [f"out_dir={fine_dir}", f"init_from={coarse}", "save_every=1", *TINY]
    first = run_train_mllm(["stage=fine", "num_steps=2", *common])
    assert [r["step"] for r in history(first)] == [1, 2]
    # Resume from out_dir/last: steps 3 and 4 only, not a fresh start.
    resumed = run_train_mllm(["stage=fine", "num_steps=4", "resume=true", *common])
    assert [r["step"] for r in history(resumed)] == [3, 4]
    config = json.loads((resumed / "train_config.json").read_text())
    assert config["stage"] == "fine" and config["num_steps"] == 4


def test_mask_head_tuning_leaves_every_weight_a_plan_reads_unchanged(tmp_path):
    base = run_train_mllm(["stage=coarse", f"out_dir={tmp_path / 'base'}", "num_steps=1", *TINY])
    tuned = run_train_mllm(
        [
            "stage=fine",
            f"out_dir={tmp_path / 'tuned'}",
            f"init_from={base}",
            "num_steps=2",
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
        [sys.executable, "-m", "openhoi.cli", "train", "mllm", "stage=coarse", "num_steps=0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "num_steps" in result.stderr


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
