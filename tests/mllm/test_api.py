"""Planner API: input checks, plan writing, batch requests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openhoi.errors import InputError, MissingFileError
from openhoi.mllm.api import (
    Planner,
    load_planner,
    read_plan_requests,
    write_plan,
    write_plans_jsonl,
)
from openhoi.mllm.plan import Plan
from openhoi.vocab import SubTask


@pytest.fixture
def planner(tiny_model):
    return Planner(tiny_model)


@pytest.mark.parametrize(
    ("instruction", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 2001, "more than 2000"),
        (42, "must be text"),
        (None, "must be text"),
    ],
)
def test_bad_instructions(planner, instruction, message):
    with pytest.raises(InputError, match=message):
        planner.plan(instruction, ["bottle"])


def test_bad_objects(planner):
    with pytest.raises(InputError, match="empty"):
        planner.plan("open it", [])
    with pytest.raises(InputError, match="list"):
        planner.plan("open it", "bottle")
    with pytest.raises(InputError, match="unknown object"):
        planner.plan("open it", ["not_an_object"])
    with pytest.raises(InputError, match="at most 3"):
        planner.plan("open it", ["bottle"] * 4)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(MissingFileError, match="no planner checkpoint"):
        load_planner(tmp_path)


def _plan() -> Plan:
    mask = np.linspace(0, 1, 16, dtype=np.float32)
    sub = SubTask("grasp", "right", "grasp", "grasp the mug", 0, mask=mask)
    return Plan(
        "take the mug",
        ("mug",),
        (sub, sub),
        (np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32),),
    )


def test_write_plan(tmp_path):
    path = write_plan(_plan(), tmp_path / "out")
    data = json.loads(path.read_text())
    assert data["subtasks"][1]["mask"] == "mask_01.npy"
    assert np.allclose(np.load(tmp_path / "out" / "mask_01.npy"), _plan().subtasks[1].mask)
    assert (tmp_path / "out" / "mask_00.ply").is_file()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_batch_requests_and_jsonl(tmp_path):
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        '{"instruction": "drink", "objects": ["mug"]}\n\n'
        '{"instruction": "x", "objects": ["a", "b"]}\n'
    )
    assert read_plan_requests(batch) == [("drink", ["mug"]), ("x", ["a", "b"])]
    batch.write_text('{"instruction": "drink"}\n')
    with pytest.raises(InputError, match="in.jsonl:1"):
        read_plan_requests(batch)
    out = write_plans_jsonl([_plan(), _plan()], tmp_path / "plans")
    lines = out.read_text().splitlines()
    assert (
        len(lines) == 2 and json.loads(lines[1])["subtasks"][0]["mask"] == "plan_0001/mask_00.npy"
    )


def test_plan_end_to_end_with_random_model(planner, tmp_path):
    plan = planner.plan("open the bottle", ["mug", "bottle"])
    assert plan.objects == ("mug", "bottle") and plan.subtasks
    assert all(s.mask.shape == (2048,) for s in plan.subtasks)
    write_plan(plan, tmp_path)
