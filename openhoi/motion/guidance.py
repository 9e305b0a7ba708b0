"""The guidance hook: what a sampling-time guidance looks like (refine/ implements it).

motion/ defines the contract and calls it; it never imports refine/ (STYLE §1). At every
reverse step where `guidance.is_active(step_index, num_steps, t)` is True, the sampling
loop (`openhoi.motion.sampling.sample_loop`):

1. makes x_t a leaf with `requires_grad=True`,
2. computes x0_pred = CFG(model, x_t, t, C) WITH the graph (so ∇_{x_t} l(x0_pred) flows
   through the network, as DSG needs: paper Eq. 12),
3. computes the step's moments μ_t, σ_t with the sampler's `mean_and_sigma` and draws the
   step's noise ε from the sampling generator,
4. calls `guidance.guide(GuidanceInput(...))`, which returns x_{t-1} `(B, T, 208)`; e.g. DSG:
   r = √d σ_t, d* = −r g/‖g‖ (per sample), d_mix = σ_t ε + w (d* − σ_t ε),
   x_{t-1} = μ_t + r d_mix/‖d_mix‖ (Eq. 12–14),
5. detaches the result and continues.

Losses read physical units through `GuidanceContext.to_physical` (frames are normalised
inside the sampler) and return one value per sample, `(B,)` (`GuidanceTerm`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from torch import Tensor

from openhoi.motion.denoiser import DenoiserCondition
from openhoi.motion.representation import FrameCodec, affordance_anchor
from openhoi.motion.samplers.base import StepMoments

__all__ = ["Guidance", "GuidanceContext", "GuidanceInput", "GuidanceTerm"]


@dataclass(frozen=True)
class GuidanceContext:
    """What guidance may read besides the sample: the condition and the units.

    condition: the batched condition (object points `(B, P, 6)` canonical, affordance
        `(B, P)`, text embedding, active_hands `(B, 2)`, frame_mask `(B, T)`).
    mean, std: `(208,)` normalisation statistics of the model's frames.
    codec: the model's representation; physical = codec.decode(normalised · std + mean).
    """

    condition: DenoiserCondition
    mean: Tensor
    std: Tensor
    codec: FrameCodec = field(default_factory=FrameCodec)

    def _anchor(self) -> Tensor:
        return affordance_anchor(self.condition.object_points, self.condition.anchor_affordance)

    def to_physical(self, x: Tensor) -> Tensor:
        """`(B, T, 208)` normalised model frames → world frames in metres / 6D / radians
        (differentiable)."""
        frames = x * self.std.to(x) + self.mean.to(x)
        if self.codec.is_identity:
            return frames
        return self.codec.decode(frames, self._anchor(), self.condition.active_hands)

    def to_normalised(self, x: Tensor) -> Tensor:
        """The inverse of `to_physical`."""
        if not self.codec.is_identity:
            x = self.codec.encode(x, self._anchor(), self.condition.active_hands)
        return (x - self.mean.to(x)) / self.std.to(x)


@dataclass(frozen=True)
class GuidanceInput:
    """One guided reverse step.

    x_t: `(B, T, 208)` current sample (normalised), a leaf with requires_grad=True.
    x0_pred: `(B, T, 208)` CFG clean estimate, differentiable w.r.t. x_t.
    t, t_prev: current and next diffusion timestep (t_prev = -1 on the last step).
    step_index, num_steps: position in the sampler's grid.
    moments: the sampler's μ_t `(B, T, 208)` (differentiable) and σ_t `(B,)` for this step.
    noise: `(B, T, 208)` the standard-normal ε drawn for this step.
    context: condition and normalisation.
    """

    x_t: Tensor
    x0_pred: Tensor
    t: int
    t_prev: int
    step_index: int
    num_steps: int
    moments: StepMoments
    noise: Tensor
    context: GuidanceContext


@runtime_checkable
class Guidance(Protocol):
    """A sampling-time guidance (e.g. refine's DSG); returns x_{t-1}."""

    def is_active(self, step_index: int, num_steps: int, t: int) -> bool:
        """Whether to guide this step (e.g. every `interval` steps)."""
        ...

    def guide(self, inputs: GuidanceInput) -> Tensor:
        """x_{t-1} `(B, T, 208)` for this step."""
        ...


@runtime_checkable
class GuidanceTerm(Protocol):
    """A loss on the clean estimate: `(B, T, 208)` physical frames → `(B,)` one value per sample."""

    def __call__(self, x0_physical: Tensor, context: GuidanceContext) -> Tensor:
        """Per-sample loss (B,)."""
        ...
