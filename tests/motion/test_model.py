"""Denoiser shapes, CFG batching, sampling determinism, guidance hook, overfitting, checkpoints."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from openhoi.data import HOISequence
from openhoi.errors import InputError
from openhoi.motion.cfg import ClassifierFreeGuidance
from openhoi.motion.config import DenoiserConfig, DiffusionConfig, TrainConfig
from openhoi.motion.denoiser import DenoiserCondition, MotionDenoiser
from openhoi.motion.guidance import Guidance, GuidanceInput
from openhoi.motion.losses import DiffusionLoss
from openhoi.motion.samplers import make_sampler
from openhoi.motion.sampling import sample_loop
from openhoi.motion.schedule import NoiseSchedule

sys.path.insert(0, str(Path(__file__).resolve().parent))
from motion_fakes import (
    NUM_POINTS,
    TEXT_DIM,
    HashTextEncoder,
    collate,
    make_items,
    tiny_model_config,
    tiny_train_config,
)


def _condition(batch: int, frames: int, seed: int = 0) -> DenoiserCondition:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, frames, dtype=torch.bool)
    mask[0, frames - 2 :] = False
    return DenoiserCondition(
        object_points=torch.randn(batch, NUM_POINTS, 6, generator=g),
        affordance=torch.rand(batch, NUM_POINTS, generator=g),
        text_embedding=torch.randn(batch, TEXT_DIM, generator=g),
        active_hands=torch.tensor([[True, False], [True, True], [False, True]][:batch]),
        frame_mask=mask,
    )


def _model(seed: int = 0) -> MotionDenoiser:
    torch.manual_seed(seed)
    return MotionDenoiser(tiny_model_config()).eval()


def test_config_rejects_bad_values_by_name():
    with pytest.raises(InputError, match="divisible by num_heads"):
        DenoiserConfig(d_model=30, num_heads=4)
    with pytest.raises(InputError, match="condition_drop_prob"):
        TrainConfig(condition_drop_prob=1.5)
    with pytest.raises(InputError, match="mixed_precision"):
        TrainConfig(mixed_precision="fp8")
    with pytest.raises(InputError, match="data must name"):
        TrainConfig().validate()


def test_denoiser_shapes_and_padding_independence():
    model = _model()
    cond = _condition(3, 10)
    x_t = torch.randn(3, 10, 208)
    with torch.no_grad():
        out = model(x_t, torch.tensor([1, 50, 99]), cond)
        assert out.shape == (3, 10, 208)
        # Padded frames of sample 0 do not influence its real frames.
        x_changed = x_t.clone()
        x_changed[0, 8:] += 10.0
        out2 = model(x_changed, torch.tensor([1, 50, 99]), cond)
    torch.testing.assert_close(out[0, :8], out2[0, :8], atol=1e-5, rtol=1e-5)


def test_condition_dropout_uses_the_null_condition():
    model = _model()
    x_t, t = torch.randn(2, 6, 208), torch.tensor([10, 20])
    drop = torch.ones(2, dtype=torch.bool)
    with torch.no_grad():
        a = model(x_t, t, _condition(2, 6, seed=1), drop)
        b = model(
            x_t,
            t,
            _condition(2, 6, seed=1).__class__(
                **{
                    **_condition(2, 6, seed=1).__dict__,
                    "affordance": torch.zeros(2, NUM_POINTS),
                    "text_embedding": torch.zeros(2, TEXT_DIM),
                }
            ),
            drop,
        )
        c = model(x_t, t, _condition(2, 6, seed=1))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_batched_cfg_equals_two_separate_passes():
    model = _model()
    cond = _condition(3, 8)
    x_t, t = torch.randn(3, 8, 208), torch.tensor([3, 30, 90])
    cfg = ClassifierFreeGuidance(2.5)
    with torch.no_grad():
        batched = cfg(model, x_t, t, cond)
        separate = cfg.separate(model, x_t, t, cond)
    torch.testing.assert_close(batched, separate, atol=1e-5, rtol=1e-5)


def test_condition_encoded_once_gives_the_same_samples():
    # The sampling loop encodes the condition once (batched path) and at every step (the
    # reference path); both chains must agree, and a wrong-sized encoding is refused.
    model = _model()
    schedule = NoiseSchedule(DiffusionConfig(num_timesteps=20))
    sampler = make_sampler("ddpm", schedule)
    cond = _condition(3, 6)
    x_T = torch.randn(3, 6, 208, generator=torch.Generator().manual_seed(4))

    def run(batched):
        gens = [torch.Generator().manual_seed(k) for k in range(3)]
        return sample_loop(
            model, sampler, cond, x_T, num_steps=6, generator=gens, use_batched_cfg=batched
        )

    torch.testing.assert_close(run(True), run(False), atol=1e-4, rtol=1e-4)
    encoded = model.encode_condition(_condition(2, 6))
    with pytest.raises(InputError, match="encoded condition has batch 2"):
        model(x_T, torch.tensor([1, 2, 3]), cond, encoded=encoded)


@pytest.mark.parametrize("name", ["ddpm", "ddim"])
def test_sampling_is_deterministic_for_a_seed(name):
    model = _model()
    schedule = NoiseSchedule(DiffusionConfig(num_timesteps=20))
    sampler = make_sampler(name, schedule)
    cond = _condition(2, 6)

    def run(seed):
        gens = [torch.Generator().manual_seed(seed * 100 + k) for k in range(2)]
        x_T = torch.stack([torch.randn(6, 208, generator=g) for g in gens])
        return sample_loop(model, sampler, cond, x_T, num_steps=8, generator=gens)

    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


class _PullTowardsZero:
    """A toy guidance following the hook contract: DSG with loss ‖x0‖² (Eq. 12–14)."""

    def __init__(self):
        self.calls = 0

    def is_active(self, step_index, num_steps, t):
        return True

    def guide(self, inputs: GuidanceInput) -> torch.Tensor:
        self.calls += 1
        assert inputs.x_t.requires_grad and inputs.x0_pred.grad_fn is not None
        loss = (inputs.context.to_physical(inputs.x0_pred) ** 2).flatten(1).sum(1)  # (B,)
        (grad,) = torch.autograd.grad(loss.sum(), inputs.x_t)
        sigma = inputs.moments.sigma.view(-1, 1, 1)
        radius = inputs.x_t[0].numel() ** 0.5 * sigma
        d_star = -radius * grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1)
        d_sample = sigma * inputs.noise
        d_mix = d_sample + 0.5 * (d_star - d_sample)
        step = radius * d_mix / d_mix.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1)
        return inputs.moments.mean + step


def test_guidance_hook_is_called_with_a_graph_to_x_t():
    from openhoi.motion.guidance import GuidanceContext

    model = _model()
    schedule = NoiseSchedule(DiffusionConfig(num_timesteps=20))
    sampler = make_sampler("ddpm", schedule)
    cond = _condition(2, 6)
    guidance = _PullTowardsZero()
    assert isinstance(guidance, Guidance)
    context = GuidanceContext(condition=cond, mean=torch.zeros(208), std=torch.ones(208))
    x_T = torch.randn(2, 6, 208, generator=torch.Generator().manual_seed(0))
    guided = sample_loop(
        model,
        sampler,
        cond,
        x_T,
        num_steps=5,
        guidance=guidance,
        context=context,
        generator=torch.Generator().manual_seed(1),
    )
    plain = sample_loop(
        model, sampler, cond, x_T, num_steps=5, generator=torch.Generator().manual_seed(1)
    )
    assert guidance.calls == 5
    assert guided.shape == plain.shape and not torch.allclose(guided, plain)


def test_tiny_overfit_loss_falls_on_one_batch():
    torch.manual_seed(0)
    config = tiny_train_config()
    model = MotionDenoiser(config.model)
    batch = collate(make_items(2, num_frames=8))
    encoder = HashTextEncoder()
    loss_fn = DiffusionLoss(config.loss, torch.zeros(208), torch.full((208,), 0.5))
    schedule = NoiseSchedule(config.diffusion)
    cond = DenoiserCondition(
        batch.object_points,
        batch.affordance,
        encoder.encode(batch.texts),
        batch.active_hands,
        batch.frame_mask,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    t = torch.tensor([5, 40])
    noise = torch.randn(batch.frames.shape, generator=g)
    x_t = schedule.add_noise(batch.frames, noise, t)
    losses = []
    for _ in range(20):
        out = loss_fn(
            model(x_t, t, cond),
            batch.frames,
            batch.frame_mask,
            batch.active_hands,
            batch.object_points,
            torch.Generator().manual_seed(0),
        )
        optimizer.zero_grad()
        out.total.backward()
        optimizer.step()
        losses.append(float(out.total.detach()))
    assert losses[-1] < 0.5 * losses[0]
    assert out.distance > 0 and out.orientation >= 0


class _SizedItems(list):
    """Fake segments that report their lengths, as SegmentDataset does (bucketed batching)."""

    @property
    def lengths(self):
        return [item.frames.shape[0] for item in self]


def _train(tmp_path, name, *, std=0.5, config_overrides=None, **kwargs):
    from openhoi.motion.training import train_on_datasets

    config = tiny_train_config(
        model=DenoiserConfig(**{**tiny_model_config().__dict__, "dropout": 0.1}),
        **(config_overrides or {}),
    )
    items = _SizedItems(make_items(8, num_frames=8))
    return train_on_datasets(
        config,
        items,
        items[:4],
        collate,
        torch.zeros(208),
        torch.full((208,), std),
        tmp_path / name,
        text_encoder=HashTextEncoder(),
        **kwargs,
    )


def test_resume_equals_uninterrupted_training(tmp_path):
    from safetensors.torch import load_file

    full = _train(tmp_path, "full")
    _train(tmp_path, "split", stop_at_step=3)
    resumed = _train(tmp_path, "split", resume=True)
    assert resumed.start_step == 3 and resumed.num_steps == full.num_steps == 6
    for name in ("model.safetensors", "ema.safetensors"):
        a = load_file(str(tmp_path / "full/checkpoint" / name))
        b = load_file(str(tmp_path / "split/checkpoint" / name))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
    assert full.losses[3:] == resumed.losses
    log = [json.loads(line) for line in (tmp_path / "full/log.jsonl").read_text().splitlines()]
    assert {entry["kind"] for entry in log} == {"train", "val"}


def test_generator_samples_sequences_and_refuses_corrupted_files(tmp_path):
    from openhoi.motion.generator import MotionCondition, load_generator

    _train(tmp_path, "run", stop_at_step=2)
    folder = tmp_path / "run/checkpoint"
    generator = load_generator(folder, device="cpu", text_encoder=HashTextEncoder())
    generator.num_points = NUM_POINTS
    generator._object_points = lambda obj: make_items(1)[0].object_points  # tiny fake object
    conditions = [
        MotionCondition("box", np.full(NUM_POINTS, 0.5, np.float32), "task 1", "right"),
        MotionCondition("box", np.zeros(NUM_POINTS, np.float32), "task 2", "both"),
    ]
    out = generator.sample(conditions, num_frames=8, steps=4, seed=3)
    assert len(out) == 2 and all(isinstance(s, HOISequence) for s in out)
    assert out[0].frames.shape == (8, 208) and out[0].active_hands[0].tolist() == [False, True]
    again = generator.sample(conditions, num_frames=8, steps=4, seed=3)
    assert np.array_equal(out[1].frames, again[1].frames)
    other = MotionCondition("box", np.ones(NUM_POINTS, np.float32), "task 3", "left")
    swapped = generator.sample([other, conditions[1]], num_frames=8, steps=4, seed=3)
    np.testing.assert_allclose(swapped[1].frames, out[1].frames, atol=1e-4)
    ddpm = generator.sample(conditions[:1], num_frames=8, steps=5, sampler="ddpm", seed=0)
    assert np.isfinite(ddpm[0].frames).all()

    corrupted = folder / "ema.safetensors"
    corrupted.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(InputError, match="ema.safetensors.*corrupted"):
        load_generator(folder, device="cpu", text_encoder=HashTextEncoder())
    (folder / "ema.safetensors").unlink()
    config = json.loads((folder / "config.json").read_text())
    config["train"]["model"]["d_model"] = 64
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="model.safetensors.*do not match"):
        load_generator(folder, device="cpu", text_encoder=HashTextEncoder())


def test_bucketed_batches_see_every_segment_once_with_less_padding():
    from openhoi.motion.training import _BatchOrder

    lengths = torch.randint(20, 151, (640,), generator=torch.Generator().manual_seed(0))
    plain = _BatchOrder(640, 64, seed=3)
    bucketed = _BatchOrder(640, 64, seed=3, lengths=lengths.tolist())
    for epoch in (0, 1):
        seen = [i for b in range(bucketed.batches_per_epoch) for i in bucketed.indices(epoch, b)]
        assert sorted(seen) == list(range(640))
    padded = {
        name: np.mean([float(lengths[order.indices(0, b)].max()) for b in range(10)])
        for name, order in (("plain", plain), ("bucketed", bucketed))
    }
    assert padded["bucketed"] < 0.7 * padded["plain"]
    # A position replays exactly on a fresh object (resume), and epochs differ.
    again = _BatchOrder(640, 64, seed=3, lengths=lengths.tolist())
    assert again.indices(1, 4) == bucketed.indices(1, 4) != bucketed.indices(0, 4)


def test_attention_dropout_is_separate_from_dropout():
    base = {**tiny_model_config().__dict__, "dropout": 0.1}
    for rate in (0.0, 0.2):
        model = MotionDenoiser(DenoiserConfig(**{**base, "attention_dropout": rate}))
        assert [layer.self_attn.dropout for layer in model.encoder.layers] == [rate, rate]
        assert model.encoder.layers[0].dropout1.p == 0.1
    with pytest.raises(InputError, match="attention_dropout"):
        DenoiserConfig(**{**base, "attention_dropout": 1.5})


def test_fine_tuning_starts_from_the_given_weights(tmp_path):
    from safetensors.torch import load_file

    _train(tmp_path, "base")
    init = tmp_path / "base/checkpoint"
    # A learning rate of 1e-9 leaves the weights where they started.
    _train(tmp_path, "tuned", config_overrides={"init_from": str(init), "learning_rate": 1e-9})
    _train(tmp_path, "fresh", config_overrides={"learning_rate": 1e-9})
    start = load_file(str(init / "ema.safetensors"))
    tuned = load_file(str(tmp_path / "tuned/checkpoint/model.safetensors"))
    fresh = load_file(str(tmp_path / "fresh/checkpoint/model.safetensors"))
    key = "agent_in.0.weight"
    torch.testing.assert_close(tuned[key], start[key], atol=1e-6, rtol=0)
    assert not torch.allclose(fresh[key], start[key], atol=1e-3)
    # Data normalised differently from the initial model is refused.
    with pytest.raises(InputError, match="init_from.*normalisation"):
        _train(tmp_path, "bad", std=0.7, config_overrides={"init_from": str(init)})
