"""`GenerateConfig`: the call-time settings of one generation, one field per stage.

It only groups the stages' own configs (`openhoi.motion.SamplingConfig`,
`openhoi.refine.RefineConfig`) with the seed, the best-of-K candidate count and the report
switch, and reads the flat option names of `openhoi.generate(..., steps=10,
bridge="model")` into them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from openhoi.errors import InputError
from openhoi.motion.segments import MAX_CANDIDATES, SamplingConfig
from openhoi.refine.config import RefineConfig

__all__ = ["GenerateConfig"]

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
    # Best-of-K: sample K variants of each sub-task in one batch and keep the best by the
    # physics score of openhoi.refine.candidates (1: off, today's output), 1..16.
    candidates: int = 1
    # Check the holding phases in MuJoCo (openhoi/refine/simulate.py): hold under gravity,
    # tracking, slip; a few seconds per phase. The contact stage then also lets the
    # simulator pick among its fitted grasps (ContactConfig.simulated_choice).
    physics_sim: bool = False

    def __post_init__(self) -> None:
        if (
            isinstance(self.candidates, bool)
            or not isinstance(self.candidates, int)
            or not (1 <= self.candidates <= MAX_CANDIDATES)
        ):
            raise InputError(f"candidates must be 1..{MAX_CANDIDATES}, got {self.candidates!r}")

    @classmethod
    def from_options(cls, **options: Any) -> GenerateConfig:
        """From flat names: any `SamplingConfig` or `RefineConfig` field, `seed`, `report`,
        `candidates`, `physics_sim`, and `refine` (bool) for `use_guidance`. Unknown names
        are an InputError."""
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
            elif name in ("seed", "report", "candidates", "physics_sim"):
                top[name] = value
            else:
                top_level = ("seed", "report", "candidates", "physics_sim", "refine")
                known = sorted({*top_level, *_SAMPLING_FIELDS, *_REFINE_FIELDS})
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
