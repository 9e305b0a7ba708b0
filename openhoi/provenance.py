"""What made a run, and what this machine has: versions, devices, model ids, hand model.

`describe_models` is written into every output folder's config.json; `diagnose` is what
`openhoi doctor` prints.
"""

from __future__ import annotations

import hashlib
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from openhoi.errors import OpenHOIError
from openhoi.hand.constants import MANO_DIR_ENV_VAR as MANO_DIR_ENV

__all__ = ["describe_models", "diagnose", "folder_id", "package_version"]

_REPORTED_PACKAGES = (
    "openhoi",
    "torch",
    "numpy",
    "smplx",
    "trimesh",
    "warp-lang",
    "hydra-core",
    "typer",
)
_WEIGHT_SUFFIXES = (".safetensors",)


def package_version() -> str:
    """openhoi's version."""
    from openhoi import __version__

    return __version__


def folder_id(folder: str | os.PathLike) -> str:
    """`sha256:<hex>` over a model folder's weight files (names and bytes, sorted by name)."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("*")):
        if path.suffix in _WEIGHT_SUFFIXES and path.is_file():
            digest.update(path.name.encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def hand_model_description(hands) -> str:
    """ "embedded default hand" or the folder of the real MANO files in use."""
    right = hands["right"]
    if right.is_default_asset:
        return "embedded default hand (openhoi/assets/hand)"
    return f"MANO files ({right.source.parent})"


def describe_models(planner: str | None, motion: str | None, hands, device: str) -> dict[str, Any]:
    """The provenance of a pipeline: package version, model folders and ids, hands, device."""
    from openhoi.mllm.api import default_planner_path
    from openhoi.motion.generator import default_model_path

    planner_folder = Path(planner) if planner else default_planner_path()
    motion_folder = Path(motion) if motion else default_model_path()
    return {
        "openhoi": package_version(),
        "planner": {"path": planner or "shipped", "id": folder_id(planner_folder)},
        "motion": {"path": motion or "shipped", "id": folder_id(motion_folder)},
        "hand_model": hand_model_description(hands),
        "device": device,
    }


def diagnose(mano_dir: str | None = None) -> dict[str, str]:
    """Versions, compute devices and MANO status, as printable strings."""
    report = {"python": platform.python_version(), "platform": platform.platform()}
    for package in _REPORTED_PACKAGES:
        try:
            report[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            report[package] = "not installed"
    import torch

    report["torch device"] = (
        f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "cpu"
    )
    report["torch threads"] = str(torch.get_num_threads())
    try:
        from openhoi.geometry.distance import warp_devices

        report["warp devices"] = ", ".join(warp_devices())
    except OpenHOIError as exc:
        report["warp devices"] = f"unavailable: {exc}"
    report["MANO"] = _mano_status(mano_dir)
    return report


def _mano_status(mano_dir: str | None) -> str:
    """Describe the MANO set-up; an explicitly given `mano_dir` that fails raises."""
    from openhoi.hand import HandModel

    folder = mano_dir or os.environ.get(MANO_DIR_ENV)
    if not folder:
        return f"embedded default hand (set {MANO_DIR_ENV} or --mano-dir for real MANO files)"
    try:
        for side in ("right", "left"):
            HandModel(side=side, mano_dir=folder)
    except OpenHOIError as exc:
        if mano_dir:
            raise
        return f"{MANO_DIR_ENV}={folder!r} is not usable: {exc}"
    return f"real MANO files at {folder!r} (both hands load)"
