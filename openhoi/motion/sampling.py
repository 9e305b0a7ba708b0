"""The reverse-diffusion loop: denoiser + CFG + a stateless sampler + optional guidance.

Start frames (`StartFrames`, motion in-filling): the first frames of the clean estimate
x̂_0 of every step are replaced by the given values before the step is taken (and before
guidance sees it), so the chain is pulled onto them and the last step, whose output is
x̂_0 itself, returns them exactly. One replaced frame alone is weak information for the
network while the noise is high, so the jump between the start and x̂_0's own next frame
is also taken out of x̂_0 at every step, fading over `blend_frames` frames (minimum-jerk
weights): each step denoises a trajectory that already leaves the start smoothly.
Segments continue where the previous one ended this way. `end_counts` does the same at the
end of a window: its last frames are replaced too and the jump before them faded in, so a
sample can be pinned at both ends (start→target in-filling, `openhoi.infill`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from openhoi.motion.cfg import ClassifierFreeGuidance
from openhoi.motion.denoiser import DenoiserCondition, MotionDenoiser
from openhoi.motion.guidance import Guidance, GuidanceContext, GuidanceInput
from openhoi.motion.samplers.base import Generators, Sampler, previous_timestep, randn_like

__all__ = ["StartFrames", "sample_loop"]


@dataclass(frozen=True)
class StartFrames:
    """The frames each sample starts with: `values` `(B, T, D)` normalised model frames,
    of which the first `counts[b]` are sample b's start (0: a free sample).

    blend_frames: frames over which the jump after the start is faded out (0: replace only).
    end_counts: `(B,)` or None; the last `end_counts[b]` frames of `values` are sample b's
        end, replaced and blended the same way (None or 0: a free end).
    """

    values: Tensor
    counts: Tensor
    blend_frames: int = 0
    end_counts: Tensor | None = None

    def apply(self, x0_pred: Tensor) -> Tensor:
        """x̂_0 starting with the given frames (differentiable in the others)."""
        num_frames = x0_pred.shape[1]
        frame = torch.arange(num_frames, device=x0_pred.device)[None]  # (1, T)
        counts = self.counts.to(x0_pred.device)[:, None]  # (B, 1)
        values = self.values.to(x0_pred)
        ends = torch.zeros_like(self.counts) if self.end_counts is None else self.end_counts
        first_end = num_frames - ends.to(x0_pred.device)[:, None]  # (B, 1)
        known = (frame < counts) | (frame >= first_end)
        out = torch.where(known[..., None], values, x0_pred)
        if self.blend_frames <= 0:
            return out
        if self.end_counts is not None:
            out = out + self._end_fade(values, x0_pred, frame, first_end)
        # Residual at the last start frame, faded over the next `blend_frames` frames.
        last = (counts - 1).clamp_min(0)  # (B, 1)
        index = last[..., None].expand(-1, -1, x0_pred.shape[-1])
        residual = torch.gather(values, 1, index) - torch.gather(x0_pred, 1, index)
        after = (frame - last).to(x0_pred.dtype) / self.blend_frames  # 1 .. at the next frames
        s = after.clamp(0.0, 1.0)
        fade = 1.0 - s**3 * (10.0 - 15.0 * s + 6.0 * s**2)  # 1 → 0, minimum jerk
        free = (frame >= counts) & (counts > 0) & (frame < first_end)  # end frames stay given
        fade = torch.where(free, fade, torch.zeros_like(fade))
        return out + fade[..., None] * residual

    def _end_fade(self, values: Tensor, x0_pred: Tensor, frame: Tensor, first_end: Tensor):
        """The jump into the end frames, faded in over the `blend_frames` frames before them."""
        num_frames = x0_pred.shape[1]
        index = first_end.clamp_max(num_frames - 1)[..., None].expand(-1, -1, x0_pred.shape[-1])
        residual = torch.gather(values, 1, index) - torch.gather(x0_pred, 1, index)
        s = ((first_end - frame).to(x0_pred.dtype) / self.blend_frames).clamp(0.0, 1.0)
        fade = 1.0 - s**3 * (10.0 - 15.0 * s + 6.0 * s**2)
        counts = self.counts.to(x0_pred.device)[:, None]
        free = (frame < first_end) & (frame >= counts) & (first_end < num_frames)
        return torch.where(free, fade, torch.zeros_like(fade))[..., None] * residual


def sample_loop(
    model: MotionDenoiser,
    sampler: Sampler,
    condition: DenoiserCondition,
    x_T: Tensor,
    *,
    num_steps: int | None = None,
    cfg: ClassifierFreeGuidance | None = None,
    generator: Generators = None,
    guidance: Guidance | None = None,
    context: GuidanceContext | None = None,
    use_batched_cfg: bool = True,
    on_step: Callable[[int, int], None] | None = None,
    start: StartFrames | None = None,
) -> Tensor:
    """Denoise x_T `(B, T, 208)` into x_0 `(B, T, 208)` (normalised frames).

    Args:
        model: the denoiser (put in eval mode by the caller).
        sampler: a stateless sampler; its grid has `num_steps` steps (None: its default).
        condition: the batched condition.
        x_T: initial noise.
        cfg: classifier-free guidance (None: s = 2.5).
        generator: noise source(s), one or one per sample.
        guidance: optional hook (see `openhoi.motion.guidance`); needs `context`.
        use_batched_cfg: False runs CFG as two separate passes and encodes the condition
            at every step (the reference way, for benchmarks); True batches the two halves
            in one pass and encodes the condition once.
        on_step: called with (step_index, num_steps) after each step (progress bars).
        start: frames the samples start with (see the module docstring).
    """
    cfg = cfg or ClassifierFreeGuidance()
    guided = cfg if use_batched_cfg else cfg.separate
    if start is not None and start.values.shape != x_T.shape:
        raise ValueError(f"start values must have shape {tuple(x_T.shape)}")

    encoded = None
    if use_batched_cfg:  # the condition tokens do not depend on x_t or t: encode them once
        with torch.no_grad():
            encoded = model.encode_condition(condition)

    def predict(model, x, t, cond):
        x0 = guided(model, x, t, cond, encoded)
        return x0 if start is None else start.apply(x0)

    if guidance is not None and context is None:
        raise ValueError("guidance needs a GuidanceContext")
    grid = sampler.timesteps(num_steps)
    total = len(grid)
    x_t = x_T
    for index in range(total):
        t, t_prev = int(grid[index]), previous_timestep(grid, index)
        t_batch = torch.full((x_t.shape[0],), t, dtype=torch.long, device=x_t.device)
        if guidance is not None and guidance.is_active(index, total, t):
            # 1.–5. of the guidance contract: the graph from x_t through the network.
            with torch.enable_grad():
                x_leaf = x_t.detach().requires_grad_(True)
                x0_pred = predict(model, x_leaf, t_batch, condition)
                moments = sampler.mean_and_sigma(x0_pred, t, t_prev, x_leaf)
                noise = randn_like(x_t, generator)
                step_input = GuidanceInput(
                    x_t=x_leaf,
                    x0_pred=x0_pred,
                    t=t,
                    t_prev=t_prev,
                    step_index=index,
                    num_steps=total,
                    moments=moments,
                    noise=noise,
                    context=context,
                )
                x_t = guidance.guide(step_input).detach()
        else:
            with torch.no_grad():
                x0_pred = predict(model, x_t, t_batch, condition)
                x_t = sampler.step(x0_pred, t, t_prev, x_t, generator=generator).x_prev
        if on_step is not None:
            on_step(index, total)
    return x_t
