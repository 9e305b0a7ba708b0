"""Exact resume: 4 steps in one go == 2 steps, a kill, then 2 resumed steps (bit for bit)."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from openhoi.training import (
    capture_train_state,
    find_resume_point,
    restore_train_state,
    save_train_checkpoint,
    warmup_cosine_scheduler,
)

TOTAL_STEPS = 4
DATA = torch.randn(12, 4, generator=torch.Generator().manual_seed(0))  # 3 batches an epoch


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}


def train(folder: Path, *, stop_at: int = TOTAL_STEPS, resume: bool = False):
    """A tiny trainer drawing from every random source a real one does."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    layers = [torch.nn.Linear(4, 16), torch.nn.Dropout(0.3), torch.nn.Linear(16, 1)]
    model = torch.nn.Sequential(*layers)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = warmup_cosine_scheduler(optimizer, warmup_steps=1, total_steps=TOTAL_STEPS)
    generators = {"noise": torch.Generator().manual_seed(1), "data": np.random.default_rng(2)}
    step, position, order = 0, 0, generators["data"].permutation(len(DATA))
    resumed = find_resume_point(folder, resume)
    if resumed is not None:
        found, state = resumed
        model.load_state_dict(load_file(str(found / "model.safetensors")))
        ema.load_state_dict(load_file(str(found / "ema.safetensors")))
        restore_train_state(state, optimizer, scheduler, generators=generators)
        step, position = state.step, int(state.data["position"])
        order = state.data["order"].numpy()
    model.train()
    while step < stop_at:
        if position + 4 > len(order):
            order, position = generators["data"].permutation(len(DATA)), 0
        batch = DATA[order[position : position + 4]]
        position += 4
        noise = torch.randn(batch.shape, generator=generators["noise"])
        scale = random.uniform(0.5, 1.5) * float(np.random.uniform(0.5, 1.5))
        scale *= float(generators["data"].uniform(0.5, 1.5))
        loss = model(batch + 0.1 * noise).pow(2).mean() * scale
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), model.parameters(), strict=True):
                e.lerp_(p, 0.5)
        step += 1

        def write_model(target: Path) -> None:
            save_file(_state(model), str(target / "model.safetensors"))
            save_file(_state(ema), str(target / "ema.safetensors"))

        data = {"position": position, "order": torch.from_numpy(np.asarray(order, np.int64))}
        state = capture_train_state(step, optimizer, scheduler, generators=generators, data=data)
        save_train_checkpoint(folder, state, write_model)
    return _state(model), _state(ema)


def test_two_steps_then_two_resumed_equal_four_in_one_go(tmp_path):
    full = train(tmp_path / "full")
    train(tmp_path / "split", stop_at=2)  # killed after the step-2 checkpoint
    resumed = train(tmp_path / "split", resume=True)
    for expected, got in zip(full, resumed, strict=True):
        assert expected.keys() == got.keys()
        for key in expected:
            assert torch.equal(expected[key], got[key]), key
    # Two steps are not four: the comparison above can fail.
    two, _ = train(tmp_path / "other", stop_at=2)
    assert not all(torch.equal(two[key], full[0][key]) for key in two)


def test_resume_without_a_checkpoint_starts_fresh_with_a_warning(tmp_path, caplog):
    assert find_resume_point(tmp_path / "none", False) is None
    with caplog.at_level("WARNING"):
        assert find_resume_point(tmp_path / "none", True) is None
    assert "no checkpoint" in caplog.text
