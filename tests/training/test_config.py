"""One key grammar for the three trainers; the old spellings are deprecated aliases."""

from __future__ import annotations

import dataclasses

import pytest

from openhoi.errors import InputError
from openhoi.eval.evaluator_training import EvaluatorTrainConfig
from openhoi.mllm.training import PlannerTrainConfig
from openhoi.motion.config import TrainConfig, config_from_dict, config_to_dict
from openhoi.training import DEPRECATED_KEYS, compose_train_config

SHARED_KEYS = {"data", "out", "resume", "steps", "batch_size", "log_interval",
               "checkpoint_interval", "warmup_steps", "quiet"}  # fmt: skip
TRAINERS = [
    ("train_diffusion", TrainConfig),
    ("mllm/fine", PlannerTrainConfig),
    ("train_evaluator", EvaluatorTrainConfig),
]


@pytest.mark.parametrize(("name", "schema"), TRAINERS)
def test_every_trainer_spells_the_shared_keys_alike(name, schema):
    assert {f.name for f in dataclasses.fields(schema)} >= SHARED_KEYS
    config = compose_train_config(name, schema, ["steps=50", "warmup_steps=5", "quiet=true"])
    assert (config.steps, config.warmup_steps, config.quiet) == (50, 5, True)


OLD_AND_NEW = [
    ("train_diffusion", TrainConfig,
     ["num_steps=70", "out_dir=/tmp/run", "use_progress_bar=false", "log_every=5"],
     ["steps=70", "out=/tmp/run", "quiet=true", "log_interval=5"]),
    ("mllm/coarse", PlannerTrainConfig,
     ["out_dir=/tmp/p", "num_steps=300", "log_every=5", "save_every=7", "episodes_dir=/tmp/e",
      "warmup_fraction=0.02"],
     ["out=/tmp/p", "steps=300", "log_interval=5", "checkpoint_interval=7", "data=/tmp/e",
      "warmup_steps=6"]),
    ("train_evaluator", EvaluatorTrainConfig,
     ["num_steps=15", "save_every=5"],
     ["steps=15", "checkpoint_interval=5"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "schema", "old", "new"), OLD_AND_NEW)
def test_old_keys_give_the_same_config_and_a_warning(name, schema, old, new, caplog):
    with caplog.at_level("WARNING", logger="openhoi.training"):
        from_old = compose_train_config(name, schema, old)
    assert from_old == compose_train_config(name, schema, new)
    warned = caplog.text
    for override in old:
        key = override.split("=")[0]
        assert f"{key!r} is deprecated" in warned
    replaced = {k.old: k.new for k in DEPRECATED_KEYS}
    for override in old:
        key = override.split("=")[0]
        if key in replaced:
            assert f"use {replaced[key]!r}" in warned


def test_warmup_fraction_follows_the_old_rule_and_is_checked():
    config = compose_train_config("mllm/fine", PlannerTrainConfig, ["warmup_fraction=0.02"])
    assert config.warmup_steps == max(1, int(config.steps * 0.02)) == 60
    with pytest.raises(InputError, match="warmup_fraction"):
        compose_train_config("mllm/fine", PlannerTrainConfig, ["warmup_fraction=1.5"])


@pytest.mark.parametrize(("stage", "steps"), [("coarse", 1500), ("fine", 3000), ("train", 2000)])
def test_planner_defaults_keep_the_schedule_of_warmup_fraction_0_02(stage, steps):
    config = compose_train_config(f"mllm/{stage}", PlannerTrainConfig)
    assert config.steps == steps and config.warmup_steps == max(1, int(steps * 0.02))


def test_a_motion_config_saved_with_old_keys_still_loads():
    saved = config_to_dict(TrainConfig(steps=123, quiet=True))
    saved["num_steps"] = saved.pop("steps")
    saved["use_progress_bar"] = not saved.pop("quiet")
    config = config_from_dict(TrainConfig, saved, "config.json")
    assert config.steps == 123 and config.quiet is True
