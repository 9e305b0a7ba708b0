"""The Python API: where the parts are assembled. `cli.py` and `tools/` are thin users of it."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from openhoi.config import DemoConfig
from openhoi.data import HOISequence
from openhoi.errors import OpenHOIError

__all__ = ["DemoResult", "diagnose", "run_demo"]

MANO_DIR_ENV = "OPENHOI_MANO_DIR"
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


@dataclass(frozen=True)
class DemoResult:
    """What `run_demo` made: the sequence, its physics report and any files written."""

    sequence: HOISequence
    report: object  # openhoi.geometry.PhysicsReport
    affordance: str
    written: tuple[Path, ...]


def run_demo(config: DemoConfig) -> DemoResult:
    """Approach an object's grasp region with one hand, close the fingers, measure physics."""
    from openhoi._io import save_json_atomic
    from openhoi.data.synth.demo import reach_and_grasp
    from openhoi.eval import sequence_physics
    from openhoi.hand import HandModel
    from openhoi.objects import load_object

    obj = load_object(config.object)
    hand = HandModel(side=config.side, mano_dir=config.mano_dir)
    sequence, affordance = reach_and_grasp(
        obj, hand, num_frames=config.num_frames, rng=np.random.default_rng(config.seed)
    )
    report = sequence_physics(sequence, obj, {config.side: hand})
    written: list[Path] = []
    if config.out:
        out = Path(config.out)
        written.append(sequence.save(out / "sequence.npz"))
        save_json_atomic(out / "metrics.json", report.summary())
        written.append(out / "metrics.json")
    return DemoResult(sequence, report, affordance, tuple(written))
