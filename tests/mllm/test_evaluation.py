"""Planner evaluation: scores and the per-scene error records."""

from __future__ import annotations

import math

import pytest

from openhoi.errors import InputError
from openhoi.mllm.evaluation import evaluate_planner


def test_evaluation_scores_scenes_and_lists_every_wrong_plan(tiny_model):
    # A random tiny planner gets plans wrong, so the error records are exercised.
    result = evaluate_planner(
        tiny_model, objects=("mug", "can"), num_scenes=4, num_coarse=2, max_scene_objects=2
    )
    assert math.isclose(result.exact_match, 1 - len(result.errors) / 4)
    assert result.errors
    for error in result.errors:
        assert error["target_object"] in ("mug", "can")
        assert 1 <= len(error["objects"]) <= 2 and error["instruction"]
        assert all(len(step) == 4 for step in error["want"] + error["got"])
        assert error["want"] != error["got"]
    data = result.as_dict()
    assert len(data["errors"]) == len(result.errors)
    assert 0 <= data["step_accuracy"] <= 1 and data["plan_affordance"]["n"] > 0


def test_evaluation_without_coarse_questions_and_with_no_scenes(tiny_model):
    result = evaluate_planner(tiny_model, objects=("mug",), num_scenes=1, num_coarse=0)
    assert result.coarse_affordance.num_samples == 0 and math.isnan(result.coarse_affordance.auc)
    assert result.plan_affordance.num_samples > 0
    with pytest.raises(InputError, match="num_scenes"):
        evaluate_planner(tiny_model, num_scenes=0)
