"""DSGGuidance inside the real sampling loop: w = 0 is plain sampling; guidance lowers the loss."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from openhoi.motion.config import DiffusionConfig
from openhoi.motion.denoiser import DenoiserCondition, MotionDenoiser
from openhoi.motion.guidance import GuidanceContext
from openhoi.motion.samplers import make_sampler
from openhoi.motion.sampling import sample_loop
from openhoi.motion.schedule import NoiseSchedule
from openhoi.refine import DSGConfig, DSGGuidance, LossTerm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "motion"))
from motion_fakes import NUM_POINTS, TEXT_DIM, tiny_model_config


class _DistanceToTarget:
    """A per-sample loss with a known minimiser: the first frame's left-hand translation."""

    def __init__(self, target: float) -> None:
        self.target = target

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        return (frames[:, 0, 0] - self.target).pow(2)


def _setup(batch=2, frames=6):
    torch.manual_seed(0)
    model = MotionDenoiser(tiny_model_config()).eval()
    g = torch.Generator().manual_seed(0)
    cond = DenoiserCondition(
        object_points=torch.randn(batch, NUM_POINTS, 6, generator=g),
        affordance=torch.rand(batch, NUM_POINTS, generator=g),
        text_embedding=torch.randn(batch, TEXT_DIM, generator=g),
        active_hands=torch.ones(batch, 2, dtype=torch.bool),
        frame_mask=torch.ones(batch, frames, dtype=torch.bool),
    )
    context = GuidanceContext(condition=cond, mean=torch.zeros(208), std=torch.ones(208))
    x_T = torch.randn(batch, frames, 208, generator=torch.Generator().manual_seed(1))
    return model, cond, context, x_T


@pytest.mark.parametrize("sampler_name", ["ddpm", "ddim"])
def test_zero_rate_reduces_to_plain_sampling(sampler_name):
    model, cond, context, x_T = _setup()
    schedule = NoiseSchedule(DiffusionConfig(num_timesteps=50))
    sampler = make_sampler(sampler_name, schedule)
    if sampler_name == "ddim":
        from openhoi.motion.samplers.ddim import DDIMSamplerConfig

        sampler = make_sampler("ddim", schedule, DDIMSamplerConfig(eta=1.0))
    terms = [[LossTerm(_DistanceToTarget(3.0))] for _ in range(2)]
    guidance = DSGGuidance(terms, DSGConfig(guidance_rate=0.0))
    run = lambda g: sample_loop(  # noqa: E731
        model,
        sampler,
        cond,
        x_T,
        num_steps=10,
        guidance=g,
        context=context,
        generator=torch.Generator().manual_seed(5),
    )
    torch.testing.assert_close(run(guidance), run(None))
    assert guidance.num_guided_steps == 10


def test_guidance_pulls_the_sample_towards_the_loss_minimum():
    model, cond, context, x_T = _setup()
    sampler = make_sampler("ddpm", NoiseSchedule(DiffusionConfig(num_timesteps=50)))
    terms = [[LossTerm(_DistanceToTarget(3.0))] for _ in range(2)]

    def run(rate):
        guidance = DSGGuidance(terms, DSGConfig(guidance_rate=rate)) if rate else None
        return sample_loop(
            model,
            sampler,
            cond,
            x_T,
            num_steps=20,
            guidance=guidance,
            context=context,
            generator=torch.Generator().manual_seed(5),
        )

    plain, guided = run(0.0), run(0.5)
    assert (guided[:, 0, 0] - 3.0).abs().mean() < (plain[:, 0, 0] - 3.0).abs().mean()


def test_active_window_and_interval():
    guidance = DSGGuidance([[]], DSGConfig(interval=2, active_fraction=0.5))
    active = [i for i in range(10) if guidance.is_active(i, 10, 0)]
    assert active == [5, 7, 9]


class _CountingLoss(_DistanceToTarget):
    """_DistanceToTarget that counts its calls and the samples it saw."""

    def __init__(self, target: float) -> None:
        super().__init__(target)
        self.calls: list[int] = []

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        self.calls.append(frames.shape[0])
        return super().__call__(frames)


def test_a_loss_shared_by_samples_runs_once_and_equals_the_per_sample_sum():
    shared, own = _CountingLoss(1.0), _DistanceToTarget(-2.0)
    terms = [
        [LossTerm(shared, 2.0), LossTerm(own, 0.5)],
        [LossTerm(shared, 3.0)],
        [LossTerm(own, 1.0), LossTerm(shared, 0.0)],  # weight 0: left out
    ]
    frames = torch.randn(3, 4, 208, generator=torch.Generator().manual_seed(2))
    value = DSGGuidance(terms).loss(frames)
    expected = torch.stack(
        [
            sum(t.weight * t.loss(frames[b : b + 1])[0] for t in sample_terms)
            for b, sample_terms in enumerate(terms)
        ]
    )
    torch.testing.assert_close(value, expected)
    assert shared.calls[0] == 2  # one call on samples 0 and 1 together (then the check's own)
