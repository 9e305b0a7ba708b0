"""Classifier-free guidance in one batched forward pass (Ho & Salimans 2022; paper Eq. 7).

    x̂_0^s = x̂_0(x_t, t, ∅) + s · (x̂_0(x_t, t, C) − x̂_0(x_t, t, ∅))

The conditional and unconditional halves go through the denoiser together (the batch is
doubled, the second half with `drop_condition=True`), so one step costs one forward
pass. The condition's text and point tokens may come already encoded
(`MotionDenoiser.encode_condition`), as the sampling loop does once per batch. The
default scale is the paper's s = 2.5; s = 1 is the conditional model alone (one
un-doubled pass) and s = 0 the unconditional one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from openhoi.errors import InputError
from openhoi.motion.denoiser import DenoiserCondition, EncodedCondition, MotionDenoiser

__all__ = ["DEFAULT_GUIDANCE_SCALE", "ClassifierFreeGuidance"]

DEFAULT_GUIDANCE_SCALE = 2.5


@dataclass(frozen=True)
class ClassifierFreeGuidance:
    """CFG as a tiny wrapper around the denoiser; `scale` is s of Eq. 7."""

    scale: float = DEFAULT_GUIDANCE_SCALE

    def __post_init__(self) -> None:
        if not 0 <= self.scale <= 50:
            raise InputError(f"guidance_scale must be 0..50, got {self.scale}")

    def __call__(
        self,
        model: MotionDenoiser,
        x_t: Tensor,
        t: Tensor,
        condition: DenoiserCondition,
        encoded: EncodedCondition | None = None,
    ) -> Tensor:
        """Guided x0 prediction `(B, T, 208)` from x_t `(B, T, 208)`, t `(B,)`."""
        batch = x_t.shape[0]
        if self.scale == 1:
            return model(x_t, t, condition, encoded=encoded)
        if self.scale == 0:
            drop = torch.ones(batch, dtype=torch.bool, device=x_t.device)
            return model(x_t, t, condition, drop, encoded=encoded)
        drop = torch.cat(
            [
                torch.zeros(batch, dtype=torch.bool, device=x_t.device),
                torch.ones(batch, dtype=torch.bool, device=x_t.device),
            ]
        )
        both = model(
            torch.cat([x_t, x_t]),
            torch.cat([t, t]),
            condition.repeat(2),
            drop,
            encoded=None if encoded is None else encoded.repeat(2),
        )
        x0_cond, x0_uncond = both[:batch], both[batch:]
        return x0_uncond + self.scale * (x0_cond - x0_uncond)

    def separate(
        self,
        model: MotionDenoiser,
        x_t: Tensor,
        t: Tensor,
        condition: DenoiserCondition,
        encoded: EncodedCondition | None = None,
    ) -> Tensor:
        """The same guided prediction with two forward passes (the reference way; benchmarks)."""
        batch = x_t.shape[0]
        x0_cond = model(x_t, t, condition, encoded=encoded)
        drop = torch.ones(batch, dtype=torch.bool, device=x_t.device)
        x0_uncond = model(x_t, t, condition, drop, encoded=encoded)
        return x0_uncond + self.scale * (x0_cond - x0_uncond)
