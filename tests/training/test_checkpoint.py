"""Atomic training checkpoints: round trip of every state, the `.old` copy, bad files."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from openhoi.errors import InputError
from openhoi.training import (
    TRAIN_STATE_FILE,
    capture_rng,
    capture_train_state,
    load_train_checkpoint,
    restore_rng,
    restore_train_state,
    save_train_checkpoint,
    warmup_cosine_scheduler,
    write_folder_atomic,
)


def _draws(generators):
    return (
        random.random(),
        float(np.random.rand()),
        float(torch.rand(1)),
        float(torch.rand(1, generator=generators["noise"])),
        float(generators["data"].random()),
    )


def test_every_random_state_comes_back():
    generators = {"noise": torch.Generator().manual_seed(3), "data": np.random.default_rng(4)}
    _draws(generators)
    random.gauss(0, 1)  # leaves a cached Gaussian in Python's state
    state = capture_rng(generators)
    expected = _draws(generators)
    _draws(generators)
    restore_rng(state, generators)
    assert _draws(generators) == expected
    with pytest.raises(InputError, match="reserved"):
        capture_rng({"torch": torch.Generator()})


def _optimizer():
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = warmup_cosine_scheduler(optimizer, warmup_steps=2, total_steps=10)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    scheduler.step()
    return model, optimizer, scheduler


def test_checkpoint_round_trip(tmp_path):
    _model, optimizer, scheduler = _optimizer()
    generators = {"data": np.random.default_rng(0)}
    state = capture_train_state(
        7, optimizer, scheduler, generators=generators, data={"epoch": 2, "order": torch.arange(5)}
    )
    expected = _draws({"noise": torch.Generator(), **generators})

    def write_model(folder):
        (folder / "weights.bin").write_bytes(b"weights")

    target = save_train_checkpoint(tmp_path / "checkpoint", state, write_model)
    assert sorted(p.name for p in target.iterdir()) == [TRAIN_STATE_FILE, "weights.bin"]
    folder, loaded = load_train_checkpoint(tmp_path / "checkpoint")
    assert folder == target and loaded.step == 7
    assert loaded.data["epoch"] == 2 and torch.equal(loaded.data["order"], torch.arange(5))

    _, fresh_optimizer, fresh_scheduler = _optimizer()
    fresh = {"data": np.random.default_rng(99)}
    restore_train_state(loaded, fresh_optimizer, fresh_scheduler, generators=fresh)
    assert fresh_scheduler.last_epoch == scheduler.last_epoch
    assert fresh_optimizer.state_dict()["state"][0]["step"] == 1
    for a, b in zip(fresh_optimizer.state_dict()["state"].values(),
                    optimizer.state_dict()["state"].values(), strict=True):  # fmt: skip
        assert torch.equal(a["exp_avg"], b["exp_avg"])
    assert _draws({"noise": torch.Generator(), **fresh}) == expected


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path):
    _model, optimizer, scheduler = _optimizer()
    target = tmp_path / "last"
    save_train_checkpoint(target, capture_train_state(1, optimizer, scheduler))

    def broken(folder):
        (folder / "half.bin").write_bytes(b"x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_train_checkpoint(target, capture_train_state(2, optimizer, scheduler), broken)
    assert load_train_checkpoint(target)[1].step == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]  # no temp folder left

    # A kill between the two renames leaves only `.last.old`: it is found.
    target.rename(tmp_path / ".last.old")
    folder, state = load_train_checkpoint(target)
    assert folder == tmp_path / ".last.old" and state.step == 1
    # A folder without a train state is no checkpoint.
    write_folder_atomic(tmp_path / "plain", lambda folder: None)
    assert load_train_checkpoint(tmp_path / "plain") is None


def test_a_corrupted_train_state_is_a_clear_error(tmp_path):
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    (folder / TRAIN_STATE_FILE).write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="corrupted"):
        load_train_checkpoint(folder)
    torch.save({"step": 1}, folder / TRAIN_STATE_FILE)
    with pytest.raises(InputError, match="unreadable"):
        load_train_checkpoint(folder)
