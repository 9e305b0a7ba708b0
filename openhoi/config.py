"""Typed run configurations, composed from the hydra yaml files in `openhoi.configs`.

Library code takes these dataclasses, never a DictConfig. The yaml files are loaded
as package resources (so an installed wheel works from any folder), merged onto the
dataclass schema (unknown keys and wrong types are rejected by name), then turned into
the dataclass, whose `__post_init__` checks values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from openhoi.errors import InputError

__all__ = ["DemoConfig", "compose_config"]

ConfigT = TypeVar("ConfigT")


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
