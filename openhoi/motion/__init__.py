"""Affordance-conditioned motion diffusion: denoiser, noise schedule, samplers, training.

Public names are imported lazily (STYLE §2.7), so importing `openhoi.motion` loads no torch.
"""

from __future__ import annotations

from openhoi._lazy import lazy_attributes

__all__ = [
    "ClassifierFreeGuidance",
    "DDIMSamplerConfig",
    "DDPMSamplerConfig",
    "DenoiserCondition",
    "DenoiserConfig",
    "DiffusionConfig",
    "DiffusionLoss",
    "Guidance",
    "GuidanceContext",
    "GuidanceInput",
    "GuidanceTerm",
    "LossConfig",
    "MotionCondition",
    "MotionDenoiser",
    "MotionGenerator",
    "NoiseSchedule",
    "PrecomputedTextEncoder",
    "SamplingConfig",
    "SegmentBatch",
    "SegmentRequest",
    "StartFrames",
    "StepMoments",
    "StepOutput",
    "TrainConfig",
    "TrainReport",
    "available_samplers",
    "available_text_encoders",
    "load_generator",
    "load_text_encoder",
    "make_sampler",
    "run_train_diffusion",
    "sample_loop",
    "sample_segments",
    "train_diffusion",
    "write_text_embeddings",
]

_WHERE = {
    "ClassifierFreeGuidance": "cfg",
    "DDIMSamplerConfig": "config",
    "DDPMSamplerConfig": "config",
    "DenoiserCondition": "denoiser",
    "DenoiserConfig": "config",
    "DiffusionConfig": "config",
    "DiffusionLoss": "losses",
    "Guidance": "guidance",
    "GuidanceContext": "guidance",
    "GuidanceInput": "guidance",
    "GuidanceTerm": "guidance",
    "LossConfig": "config",
    "MotionCondition": "generator",
    "MotionDenoiser": "denoiser",
    "MotionGenerator": "generator",
    "NoiseSchedule": "schedule",
    "PrecomputedTextEncoder": "text_encoder",
    "SamplingConfig": "segments",
    "SegmentBatch": "segments",
    "SegmentRequest": "segments",
    "StartFrames": "sampling",
    "StepMoments": "samplers",
    "StepOutput": "samplers",
    "TrainConfig": "config",
    "TrainReport": "training",
    "available_samplers": "samplers",
    "available_text_encoders": "text_encoder",
    "load_generator": "generator",
    "load_text_encoder": "text_encoder",
    "make_sampler": "samplers",
    "run_train_diffusion": "training",
    "sample_loop": "sampling",
    "sample_segments": "segments",
    "train_diffusion": "training",
    "write_text_embeddings": "text_encoder",
}


__getattr__, __dir__ = lazy_attributes(
    __name__, {name: f"{__name__}.{module}" for name, module in _WHERE.items()}
)
