"""The learning-rate schedule of every trainer: linear warm-up, then cosine decay.

The motion model, the planner and the evaluator all use `warmup_cosine`; they differ
only in `min_factor` (the motion model decays to 0.1 x the peak rate, the other two to 0).
"""

from __future__ import annotations

import math

import torch

from openhoi.errors import InputError

__all__ = ["warmup_cosine", "warmup_cosine_scheduler"]


def warmup_cosine(
    step: int, *, warmup_steps: int, total_steps: int, min_factor: float = 0.0
) -> float:
    """The factor on the peak learning rate used by the update of (0-based) `step`.

    With w = `warmup_steps` and N = `total_steps`:
    - warm-up, step < w: (step + 1) / w (linear up to 1; none when w = 0);
    - then m + (1 - m) * (1 + cos(pi * p)) / 2 with p = min(1, (step - w) / max(1, N - w))
      and m = `min_factor`: from 1 at step w down to m at step N, and m after it.
    """
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine_scheduler(
    optimizer: torch.optim.Optimizer,
    *,
    warmup_steps: int,
    total_steps: int,
    min_factor: float = 0.0,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A `LambdaLR` following `warmup_cosine`; call `.step()` once after each update.

    Raises:
        InputError: warmup_steps < 0, total_steps < 1 or min_factor outside [0, 1].
    """
    if warmup_steps < 0:
        raise InputError(f"warmup_steps must be >= 0, got {warmup_steps}")
    if total_steps < 1:
        raise InputError(f"steps must be >= 1, got {total_steps}")
    if not 0 <= min_factor <= 1:
        raise InputError(f"min_factor must lie in [0, 1], got {min_factor}")

    def factor(step: int) -> float:
        return warmup_cosine(
            step, warmup_steps=warmup_steps, total_steps=total_steps, min_factor=min_factor
        )

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
