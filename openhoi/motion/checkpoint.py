"""Model folders: the weights, the config they were built from and the normalisation stats.

A model folder (a training checkpoint or the shipped default) holds::

    config.json                {"format": "openhoi-motion", "version": 1, "train": TrainConfig,
                                "data_spec": {fps, frame_dim, num_points, text_dim, ...},
                                "sampling": {sampler, ddim_steps, eta, guidance_scale,
                                             smooth_sigma_frames}  (optional inference defaults),
                                "hand": {asset, sha256}  (the hand of the training data;
                                         `openhoi.hand.identity`; absent in older folders)}
    model.safetensors          denoiser weights
    ema.safetensors            EMA weights (preferred for sampling when present)
    normalisation.safetensors  mean (208,), std (208,) of the training frames
    train_state.pt             (checkpoints only) optimizer, scheduler, RNG, step, data position

Folders are written atomically: into a temp folder beside the target, then renamed over it
(`openhoi.training.write_folder_atomic`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from openhoi.data import layout
from openhoi.errors import InputError, MissingFileError
from openhoi.motion.config import TrainConfig, config_from_dict, config_to_dict
from openhoi.training.checkpoint import TRAIN_STATE_FILE

__all__ = [
    "CONFIG_FILE",
    "EMA_FILE",
    "MODEL_FILE",
    "STATS_FILE",
    "TRAIN_STATE_FILE",
    "ModelFolder",
    "read_model_folder",
]

FORMAT = "openhoi-motion"
VERSION = 1
CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"
EMA_FILE = "ema.safetensors"
STATS_FILE = "normalisation.safetensors"
FPS = 30.0


@dataclass(frozen=True)
class ModelFolder:
    """A model folder read back: config, chosen weights (and their file) and normalisation stats.

    weights: denoiser state dict (EMA weights when the folder has them).
    mean, std: `(208,)` float32 normalisation statistics.
    """

    path: Path
    weights_path: Path
    config: TrainConfig
    data_spec: dict[str, Any]
    weights: dict[str, Tensor]
    mean: Tensor
    std: Tensor
    sampling: dict[str, Any]


def data_spec(config: TrainConfig, num_points: int) -> dict[str, Any]:
    """What a sample means, saved beside the weights (no dataset needed to sample)."""
    return {
        "fps": FPS,
        "frame_dim": layout.FRAME_DIM,
        "num_points": num_points,
        "text_encoder": config.text_encoder,
        "text_dim": config.model.text_dim,
        "max_frames": config.max_frames,
    }


def config_payload(
    config: TrainConfig, num_points: int, hand: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON written as config.json (`hand`: the training data's hand record)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "train": config_to_dict(config),
        "data_spec": data_spec(config, num_points),
        "sampling": _default_sampling_block(),
        "hand": hand,
    }


def _default_sampling_block() -> dict[str, Any]:
    from openhoi.motion.segments import SAMPLING_DEFAULTS

    return dict(SAMPLING_DEFAULTS)


def _load_safetensors(path: Path) -> dict[str, Tensor]:
    from safetensors.torch import load_file

    if not path.is_file():
        raise MissingFileError(f"model file {path} does not exist")
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises several types for corrupt headers/data
        raise InputError(
            f"model file {path} is corrupted or not a safetensors file ({exc}); "
            "re-copy it or retrain"
        ) from exc


def read_model_folder(path: str | os.PathLike, *, prefer_ema: bool = True) -> ModelFolder:
    """Read and check a model folder.

    Raises:
        MissingFileError: the folder or one of its files is missing.
        InputError: a file is corrupted, or the config and weights do not match.
    """
    path = Path(path)
    if not path.is_dir():
        raise MissingFileError(f"model folder {path} does not exist")
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise MissingFileError(f"model folder {path} has no {CONFIG_FILE}")
    try:
        payload = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"model config {config_path} is not valid JSON ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"model config {config_path} is not an {FORMAT} config")
    if payload.get("version") != VERSION:
        raise InputError(
            f"model config {config_path} has version {payload.get('version')}, expected {VERSION}"
        )
    config = config_from_dict(TrainConfig, payload.get("train"), str(config_path))
    spec = payload.get("data_spec") or {}
    if spec.get("frame_dim") != layout.FRAME_DIM:
        raise InputError(
            f"model config {config_path}: frame_dim {spec.get('frame_dim')} != {layout.FRAME_DIM}"
        )
    has_ema, has_model = (path / EMA_FILE).is_file(), (path / MODEL_FILE).is_file()
    # EMA weights when asked for (or when they are all the folder ships, as the default does).
    weights_path = (
        path / EMA_FILE if has_ema and (prefer_ema or not has_model) else path / MODEL_FILE
    )
    weights = _load_safetensors(weights_path)
    stats = _load_safetensors(path / STATS_FILE)
    mean, std = stats.get("mean"), stats.get("std")
    if mean is None or std is None or mean.shape != (layout.FRAME_DIM,) or std.shape != mean.shape:
        raise InputError(
            f"normalisation file {path / STATS_FILE} must hold mean and std of shape "
            f"({layout.FRAME_DIM},)"
        )
    if not (torch.isfinite(mean).all() and torch.isfinite(std).all() and (std > 0).all()):
        raise InputError(f"normalisation file {path / STATS_FILE} has non-finite or zero std")
    return ModelFolder(
        path=path,
        weights_path=weights_path,
        config=config,
        data_spec=spec,
        weights=weights,
        mean=mean.float(),
        std=std.float(),
        sampling=_sampling_defaults(payload.get("sampling"), config_path),
    )


def _sampling_defaults(block: Any, config_path: Path) -> dict[str, Any]:
    """The folder's inference defaults ("sampling" block), checked; {} when absent."""
    from openhoi.motion.segments import SAMPLING_DEFAULTS, SamplingConfig

    if block is None:
        return {}
    unknown = sorted(set(block) - set(SAMPLING_DEFAULTS)) if isinstance(block, dict) else None
    if unknown is None or unknown:
        raise InputError(
            f'model config {config_path}: "sampling" must be an object with keys out of '
            f"{sorted(SAMPLING_DEFAULTS)}, got {block!r}"
        )
    fields = {k: v for k, v in block.items() if k != "ddim_steps"}
    SamplingConfig(steps=block.get("ddim_steps"), **fields)  # range checks
    return dict(block)


def load_weights_checked(model: torch.nn.Module, weights: dict[str, Tensor], source: Path) -> None:
    """Load a state dict, turning any key or shape mismatch into an InputError naming `source`."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong = sorted(k for k in set(expected) & set(weights) if expected[k].shape != weights[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(
            f"{label}: {names[:3]}{' ...' if len(names) > 3 else ''}"
            for label, names in (("missing", missing), ("unexpected", unexpected), ("shape", wrong))
            if names
        )
        raise InputError(
            f"weights in {source} do not match the model its config.json describes ({detail})"
        )
    model.load_state_dict(weights, strict=True)
