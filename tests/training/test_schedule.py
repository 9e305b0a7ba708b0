"""The one learning-rate schedule: linear warm-up, then cosine decay to `min_factor`."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from openhoi.errors import InputError
from openhoi.training import warmup_cosine, warmup_cosine_scheduler


def test_warm_up_is_linear_then_cosine_reaches_the_floor_and_stays():
    factors = [warmup_cosine(s, warmup_steps=4, total_steps=12) for s in range(16)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4] == 1.0  # the first decay step starts at the peak
    assert factors[8] == pytest.approx(0.5)  # half-way through the decay
    assert factors[12:] == [0.0] * 4  # held at the floor after the last step
    assert all(a >= b for a, b in itertools.pairwise(factors[3:]))
    floored = [warmup_cosine(s, warmup_steps=0, total_steps=10, min_factor=0.1) for s in range(12)]
    assert floored[0] == 1.0 and floored[10] == pytest.approx(0.1) and min(floored) >= 0.1


def test_it_is_the_formula_each_trainer_used_before_bit_for_bit():
    def motion(step, warmup, total):  # motion/training.py, min factor 0.1
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    def planner(step, warmup, total):  # mllm/training.py, warm-up max(1, int(total * 0.02))
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    def evaluator(step, warmup, total):  # eval/evaluator_training.py
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(total - warmup, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    for warmup, total in ((0, 7), (3, 20), (40, 2000), (500, 8000)):
        for step in range(0, total + 3, max(1, total // 97)):
            new = warmup_cosine(step, warmup_steps=warmup, total_steps=total, min_factor=0.1)
            assert new == motion(step, warmup, total)
            assert warmup_cosine(step, warmup_steps=warmup, total_steps=total) == evaluator(
                step, warmup, total
            )
            if warmup:
                assert warmup_cosine(step, warmup_steps=warmup, total_steps=total) == planner(
                    step, warmup, total
                )


def test_the_scheduler_sets_the_optimizer_rate_and_checks_its_arguments():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=2.0)
    scheduler = warmup_cosine_scheduler(optimizer, warmup_steps=2, total_steps=6, min_factor=0.1)
    rates = []
    for _ in range(6):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [2.0 * warmup_cosine(s, warmup_steps=2, total_steps=6, min_factor=0.1)
                for s in range(6)]  # fmt: skip
    assert rates == pytest.approx(expected, rel=0, abs=1e-12)
    with pytest.raises(InputError, match="warmup_steps"):
        warmup_cosine_scheduler(optimizer, warmup_steps=-1, total_steps=6)
    with pytest.raises(InputError, match="steps must be >= 1"):
        warmup_cosine_scheduler(optimizer, warmup_steps=0, total_steps=0)
