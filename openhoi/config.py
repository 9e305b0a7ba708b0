"""Typed run configurations, composed from the hydra yaml files in `openhoi.configs`.

Library code takes these dataclasses, never a DictConfig. The yaml files are loaded
as package resources (so an installed wheel works from any folder), merged onto the
dataclass schema (unknown keys and wrong types are rejected by name), then turned into
the dataclass, whose `__post_init__` checks values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from openhoi.errors import InputError
from openhoi.motion.segments import SamplingConfig
from openhoi.refine.config import RefineConfig

__all__ = ["DemoConfig", "GenerateConfig", "compose_config"]

ConfigT = TypeVar("ConfigT")


# Older flat option names, kept working.
_OPTION_ALIASES = {"guidance_interval": "interval", "guidance_active_fraction": "active_fraction"}
_SAMPLING_FIELDS = tuple(f.name for f in dataclasses.fields(SamplingConfig))
_REFINE_FIELDS = tuple(f.name for f in dataclasses.fields(RefineConfig))


@dataclass(frozen=True)
class GenerateConfig:
    """Call-time settings of one generation: seed, each stage's config, the report switch."""

    seed: int = 0
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    # Measure penetration / contact / holding of the result (about half a warm run).
    report: bool = True

    @classmethod
    def from_options(cls, **options: Any) -> GenerateConfig:
        """From flat names: any `SamplingConfig` or `RefineConfig` field, `seed`, `report`,
        and `refine` (bool) for `use_guidance`. Unknown names are an InputError."""
        return cls().with_options(**options)

    def with_options(self, **options: Any) -> GenerateConfig:
        """A copy with flat options changed (see `from_options`)."""
        sampling, refining, top = {}, {}, {}
        for name, value in options.items():
            name = _OPTION_ALIASES.get(name, name)
            if name == "refine" and isinstance(value, bool):
                refining["use_guidance"] = value
            elif name in _SAMPLING_FIELDS:
                sampling[name] = value
            elif name in _REFINE_FIELDS:
                refining[name] = value
            elif name in ("seed", "report"):
                top[name] = value
            else:
                known = sorted({"seed", "report", "refine", *_SAMPLING_FIELDS, *_REFINE_FIELDS})
                raise InputError(f"unknown generate option {name!r}; known: {', '.join(known)}")
        return dataclasses.replace(
            self,
            sampling=dataclasses.replace(self.sampling, **sampling),
            refine=dataclasses.replace(self.refine, **refining),
            **top,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested fields."""
        return dataclasses.asdict(self)


@dataclass
class DemoConfig:
    """`openhoi demo`: approach and grasp a built-in object, then report physics figures."""

    # What to grasp and with which hand.
    object: str = "mug"
    side: str = "right"
    # Timing: frames at 30 fps, split between the approach and the finger closing.
    num_frames: int = 45
    # Picks the affordance point the hand reaches for.
    seed: int = 0
    # Folder with the official MANO_RIGHT.pkl / MANO_LEFT.pkl; None = embedded hand asset.
    mano_dir: str | None = None
    # Where to write sequence.npz and metrics.json; None = print only.
    out: str | None = None

    def __post_init__(self) -> None:
        if self.side not in ("left", "right"):
            raise InputError(f"side must be 'left' or 'right', got {self.side!r}")
        if not 10 <= self.num_frames <= 150:
            raise InputError(f"num_frames must be 10..150 (one segment), got {self.num_frames}")
        if not self.object:
            raise InputError("object must name a built-in object or a mesh file, got ''")


def compose_config(name: str, schema: type[ConfigT], overrides: Sequence[str] = ()) -> ConfigT:
    """Compose `configs/<name>.yaml` with hydra `overrides` and return a `schema` instance.

    Raises:
        InputError: an override is malformed, names an unknown key, or has a wrong type/value.
    """
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_module(config_module="openhoi.configs", version_base=None):
            raw = compose(config_name=name, overrides=list(overrides))
        merged = OmegaConf.merge(OmegaConf.structured(schema), raw)
        return OmegaConf.to_object(merged)
    except (HydraException, OmegaConfBaseException) as exc:
        message = str(exc).splitlines()[0]
        raise InputError(f"config {name!r} with overrides {list(overrides)}: {message}") from exc
