"""What made a run, and what this machine has: versions, devices, model ids, hand model.

`describe_models` is written into every output folder's config.json; `diagnose` is what
`openhoi doctor` prints.

Hand provenance (`openhoi.hand.identity`): a dataset's index.json holds `info.hand`, a
model folder's config.json (planner_config.json for the planner) holds `hand`, the hand
its training data was made with, and an output's config.json holds `hand` (the hand it
was generated with) and `motion.hand`. `dataset_hand` and `model_folder_hand` read them
back (no record: the v1 hand, assumed). `check_generation_hand` and
`check_training_hand` warn once when the hand in use is another one.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from openhoi.errors import InputError, OpenHOIError
from openhoi.hand.constants import MANO_DIR_ENV_VAR as MANO_DIR_ENV
from openhoi.hand.identity import (
    HandIdentity,
    hand_identity,
    read_hand_record,
    warn_hand_mismatch,
)

__all__ = [
    "check_generation_hand",
    "check_training_hand",
    "dataset_hand",
    "dataset_hand_info",
    "describe_models",
    "describe_motion",
    "diagnose",
    "folder_id",
    "hand_clause",
    "hand_model_description",
    "model_folder_hand",
    "package_version",
    "run_record",
]

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
    """One line naming the hand: "embedded openhoi-hand-v1 (sha256 …)" or "MANO files at …"."""
    return hand_identity(hands).describe()


# Files of a model folder that may record its hand, in the order they are looked for.
_MODEL_CONFIG_FILES = ("config.json", "planner_config.json")
HAND_KEY = "hand"


def model_folder_hand(folder: str | os.PathLike) -> HandIdentity:
    """The hand a model folder's training data was made with (assumed v1 when unrecorded).

    Raises:
        InputError: its config is not valid JSON, or its hand record is malformed.
    """
    for name in _MODEL_CONFIG_FILES:
        path = Path(folder) / name
        if path.is_file():
            try:
                payload = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"model config {path} is not valid JSON ({exc})") from exc
            record = payload.get(HAND_KEY) if isinstance(payload, dict) else None
            return read_hand_record(record, str(path))
    return read_hand_record(None)


def dataset_hand(folder: str | os.PathLike) -> HandIdentity:
    """The hand an episode folder was made with: index.json `info.hand` (else assumed v1)."""
    from openhoi.data.episodes import read_index

    info = read_index(folder).get("info") or {}
    return read_hand_record(info.get(HAND_KEY), f"{Path(folder) / 'index.json'}")


def dataset_hand_info(folder: str | os.PathLike, hands) -> dict[str, Any]:
    """The index.json `info` entries that record the hand a dataset is being written with.

    `{"hand": record}`; `{}` when resuming a folder written before hand provenance with
    the v1 hand (its info has no entry, and a resume must keep the info unchanged).

    Raises:
        InputError: the folder already holds episodes made with another hand.
    """
    current = hand_identity(hands)
    if not (Path(folder) / "index.json").is_file():
        return {HAND_KEY: current.to_record()}
    made_with = dataset_hand(folder)
    if not made_with.matches(current):
        raise InputError(
            f"{str(folder)!r} holds episodes made with {made_with.describe()}; this run uses "
            f"{current.describe()}: resume it with the same hand, or write to a new folder"
        )
    return {} if made_with.is_assumed else {HAND_KEY: current.to_record()}


def _select(hand: HandIdentity, prefix: str) -> str:
    """How to select `hand`: `prefix` + its selector, or a pointer to its MANO files."""
    selector = hand.selector()
    if selector is None:
        return f"{prefix}<the folder of the MANO files it was made with>"
    return prefix + selector


def check_training_hand(data_hand: HandIdentity, data_name: str) -> HandIdentity:
    """Warn once when the hand training uses (`HandModel`'s default) is not the data's.

    Returns the hand training uses. The motion losses pose hands with `HandModel(side)`:
    $OPENHOI_MANO_DIR, else the embedded default.
    """
    current = hand_identity(None)
    warn_hand_mismatch(
        data_hand,
        current,
        made=f"the dataset {data_name} was made with",
        doing="training",
        consequence="the losses would score its grasps with another hand's fingers",
        advice=(
            f"Train with the dataset's hand ({_select(data_hand, f'{MANO_DIR_ENV}=')}), or "
            f"make a dataset with this hand (`openhoi data synth` under the same {MANO_DIR_ENV})."
        ),
    )
    return current


def check_generation_hand(motion_hand: HandIdentity, hands, *, doing: str = "generating") -> bool:
    """Warn once when `hands` are not the hand the motion model was trained with.

    Returns True when they differ.
    """
    return warn_hand_mismatch(
        motion_hand,
        hand_identity(hands),
        made="the motion model was trained with",
        doing=doing,
        consequence="grasps were learned for another hand",
        advice=(
            f"Generate with the hand it was trained with ({_select(motion_hand, '--mano-dir ')}"
            ", or the same mano_dir in Python), or retrain the motion model on data made with "
            "this hand (`openhoi data synth`, then `openhoi train motion`)."
        ),
    )


def describe_motion(motion: str | None, hands=None) -> dict[str, Any]:
    """A motion folder's provenance entry: path, weight hash, the hand it was trained with.

    With `hands`, warns once (`check_generation_hand`) when they are another hand.
    """
    from openhoi.motion.generator import default_model_path

    folder = Path(motion) if motion else default_model_path()
    trained = model_folder_hand(folder)
    if hands is not None:
        check_generation_hand(trained, hands)
    return {"path": motion or "shipped", "id": folder_id(folder), "hand": trained.to_record()}


def describe_models(planner: str | None, motion: str | None, hands, device: str) -> dict[str, Any]:
    """The provenance of a pipeline: package version, model folders and ids, hands, device.

    Warns once when `hands` are not the hand the motion model was trained with.
    """
    from openhoi.mllm.api import default_planner_path

    planner_folder = Path(planner) if planner else default_planner_path()
    identity = hand_identity(hands)
    return {
        "openhoi": package_version(),
        "planner": {"path": planner or "shipped", "id": folder_id(planner_folder)},
        "motion": describe_motion(motion, hands),
        "hand_model": identity.describe(),
        "hand": identity.to_record(),
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
        return (
            f"embedded default hand (set {MANO_DIR_ENV} or --mano-dir for real MANO files, "
            "or embedded:v2 for the anatomical embedded hand)"
        )
    try:
        models = [HandModel(side=side, mano_dir=folder) for side in ("right", "left")]
    except OpenHOIError as exc:
        if mano_dir:
            raise
        return f"{MANO_DIR_ENV}={folder!r} is not usable: {exc}"
    if models[0].asset_id:
        return f"embedded {models[0].asset_id} (from {folder!r})"
    return f"real MANO files at {folder!r} (both hands load)"


def hand_clause(provenance: Any) -> str:
    """", hand embedded openhoi-hand-v1 (sha256 …)" for a result table; "" when unrecorded.

    `provenance` is a run's `describe_models` record; results written before hand
    provenance have no "hand" entry and their tables read as before. When the motion
    model's recorded hand differs, the clause says which hand it was trained with.
    """
    if not isinstance(provenance, dict) or provenance.get(HAND_KEY) is None:
        return ""
    used = read_hand_record(provenance[HAND_KEY], "result provenance")
    clause = f", hand {used.describe()}"
    motion = provenance.get("motion")
    if isinstance(motion, dict) and HAND_KEY in motion:
        trained = read_hand_record(motion[HAND_KEY], "result provenance (motion)")
        if not trained.matches(used):
            clause += f" (the motion model was trained with {trained.describe()})"
    return clause


def run_record(command: Sequence[str] | None = None) -> dict[str, Any]:
    """What a result file records about how it was made: command, UTC date, machine, version."""
    import datetime
    import os
    import platform

    from openhoi import __version__

    return {
        "command": " ".join(command) if command else None,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "python": platform.python_version(),
        "openhoi": __version__,
    }
