"""Tiny fakes for the motion tests: segments with the SegmentBatch contract, a text encoder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from openhoi.data import layout
from openhoi.motion.config import DenoiserConfig, DiffusionConfig, LossConfig, TrainConfig

NUM_POINTS = 64
TEXT_DIM = 16


@dataclass(frozen=True)
class FakeItem:
    frames: torch.Tensor  # (T, 208) normalised
    active_hands: torch.Tensor  # (2,)
    object_points: torch.Tensor  # (P, 6)
    affordance: torch.Tensor  # (P,)
    text: str


@dataclass(frozen=True)
class FakeBatch:
    frames: torch.Tensor
    frame_mask: torch.Tensor
    num_frames: torch.Tensor
    active_hands: torch.Tensor
    object_points: torch.Tensor
    affordance: torch.Tensor
    texts: list[str]
    object_names: list[str]


def make_items(count: int, num_frames: int = 12, seed: int = 0) -> list[FakeItem]:
    generator = torch.Generator().manual_seed(seed)
    items = []
    for k in range(count):
        length = num_frames - (k % 3)
        base = torch.randn(1, layout.FRAME_DIM, generator=generator) * 0.5
        drift = (
            torch.linspace(0, 1, length)[:, None]
            * torch.randn(1, layout.FRAME_DIM, generator=generator)
            * 0.3
        )
        points = torch.randn(NUM_POINTS, 6, generator=generator) * 0.05
        items.append(
            FakeItem(
                frames=base + drift,
                active_hands=torch.tensor([k % 2 == 0, True]),
                object_points=points,
                affordance=torch.rand(NUM_POINTS, generator=generator),
                text=f"task {k % 4}",
            )
        )
    return items


def collate(items: list[FakeItem]) -> FakeBatch:
    length = max(item.frames.shape[0] for item in items)
    frames = torch.zeros(len(items), length, layout.FRAME_DIM)
    mask = torch.zeros(len(items), length, dtype=torch.bool)
    for k, item in enumerate(items):
        frames[k, : item.frames.shape[0]] = item.frames
        mask[k, : item.frames.shape[0]] = True
    return FakeBatch(
        frames=frames,
        frame_mask=mask,
        num_frames=mask.sum(1),
        active_hands=torch.stack([i.active_hands for i in items]),
        object_points=torch.stack([i.object_points for i in items]),
        affordance=torch.stack([i.affordance for i in items]),
        texts=[i.text for i in items],
        object_names=["box"] * len(items),
    )


class HashTextEncoder:
    """Deterministic fake text encoder: a hash of the text → a unit vector."""

    name = "hash"
    dim = TEXT_DIM

    def encode(self, texts):
        rows = []
        for text in texts:
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            rows.append(
                torch.nn.functional.normalize(
                    torch.randn(TEXT_DIM, generator=torch.Generator().manual_seed(seed)), dim=0
                )
            )
        return torch.stack(rows) if rows else torch.zeros(0, TEXT_DIM)


def tiny_model_config() -> DenoiserConfig:
    return DenoiserConfig(
        d_model=32,
        num_layers=2,
        num_heads=4,
        ff_dim=64,
        dropout=0.0,
        point_hidden_dim=16,
        num_point_tokens=2,
        text_dim=TEXT_DIM,
        max_frames=32,
    )


def tiny_train_config(**changes) -> TrainConfig:
    base = dict(
        model=tiny_model_config(),
        diffusion=DiffusionConfig(num_timesteps=100),
        loss=LossConfig(num_geometry_frames=2, num_geometry_points=16),
        max_frames=32,
        batch_size=2,
        learning_rate=1e-3,
        warmup_steps=2,
        steps=6,
        log_interval=1,
        validation_interval=3,
        num_validation_batches=1,
        checkpoint_interval=2,
        mixed_precision="no",
        quiet=True,
    )
    base.update(changes)
    return TrainConfig(**base)
