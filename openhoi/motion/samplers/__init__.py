"""Stateless samplers registered by name: "ddpm" (ancestral, the paper) and "ddim"."""

from __future__ import annotations

import importlib

from openhoi.errors import InputError
from openhoi.motion.samplers.base import Sampler, StepMoments, StepOutput
from openhoi.motion.schedule import NoiseSchedule

__all__ = [
    "SAMPLERS",
    "Sampler",
    "StepMoments",
    "StepOutput",
    "available_samplers",
    "make_sampler",
]

# name -> (module, sampler class, config class); the module is imported only when used.
SAMPLERS: dict[str, tuple[str, str, str]] = {
    "ddpm": ("openhoi.motion.samplers.ddpm", "DDPMSampler", "DDPMSamplerConfig"),
    "ddim": ("openhoi.motion.samplers.ddim", "DDIMSampler", "DDIMSamplerConfig"),
}


def available_samplers() -> tuple[str, ...]:
    """The registered sampler names."""
    return tuple(SAMPLERS)


def make_sampler(name: str, schedule: NoiseSchedule, config: object | None = None) -> Sampler:
    """Build the sampler registered as `name` (config: its `*SamplerConfig`, or defaults)."""
    if name not in SAMPLERS:
        raise InputError(f"unknown sampler {name!r}; known: {', '.join(SAMPLERS)}")
    module_name, class_name, config_name = SAMPLERS[name]
    module = importlib.import_module(module_name)
    config_class = getattr(importlib.import_module("openhoi.motion.config"), config_name)
    if config is not None and not isinstance(config, config_class):
        raise InputError(f"sampler {name!r} takes a {config_name}, got {type(config).__name__}")
    return getattr(module, class_name)(schedule, config)
