"""Which hand made a dataset, checkpoint or output: an asset id and a hash of its files.

A hand is the pair of MANO pickles in one folder (`HandModel(side, mano_dir)` loads one
side). Its identity is

    asset   the `asset_id` of the folder's hand_meta.json (embedded assets carry one);
            "openhoi-hand-v1" for the embedded default folder, whose hand_meta.json
            predates the key, and for any folder holding exactly its bytes; otherwise
            "mano-files" (the user's own MANO files)
    sha256  hex SHA-256 over MANO_RIGHT.pkl, MANO_LEFT.pkl and hand_meta.json, in that
            order, each file that exists as `name NUL size NUL bytes`

Datasets, checkpoints and outputs store `HandIdentity.to_record()`; `read_hand_record`
reads one back. Records written before hand provenance existed have none: they are read
as the v1 hand, marked assumed (v1 was the only hand then), and an assumed hand matches
any hand whose asset is v1. Otherwise two hands are the same when their hashes are.

`warn_hand_mismatch` logs (once per process for each pair of hands and purpose) when a
model is used with another hand than the one its data was made with.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openhoi.errors import InputError
from openhoi.hand.constants import HAND_META_FILE, MANO_FILE_NAMES

__all__ = [
    "ASSUMED_NOTE",
    "HAND_V1_ASSET_ID",
    "MANO_FILES_ASSET",
    "HandIdentity",
    "hand_identity",
    "read_hand_record",
    "warn_hand_mismatch",
]

logger = logging.getLogger(__name__)

HAND_V1_ASSET_ID = "openhoi-hand-v1"
MANO_FILES_ASSET = "mano-files"
ASSUMED_NOTE = "assumed; recorded before hand provenance"
# The key of hand_meta.json naming an embedded asset; the v1 asset's file has none.
_ASSET_ID_KEY = "asset_id"
_EMBEDDED_ASSET_PREFIX = "openhoi-hand-"
_ASSET_PACKAGE = "openhoi.assets"
_V1_FOLDER = "hand"
# Files hashed, in this order (those that exist).
_HASHED_FILES = (MANO_FILE_NAMES["right"], MANO_FILE_NAMES["left"], HAND_META_FILE)
_SHORT_HASH = 8  # hex digits shown in descriptions


@dataclass(frozen=True)
class HandIdentity:
    """One hand model, as recorded with what it made.

    asset: "openhoi-hand-v1", "openhoi-hand-v2", ... (embedded assets) or "mano-files".
    sha256: hex digest of the files (module docstring); None for an assumed record.
    folder: where the files are (not recorded: it differs between machines); None when
        the identity was read from a record.
    is_assumed: read from a record written before hand provenance (asset is then v1).
    """

    asset: str
    sha256: str | None
    folder: Path | None = None
    is_assumed: bool = False

    @property
    def is_embedded(self) -> bool:
        """True for one of openhoi's own hand assets (not the user's MANO files)."""
        return self.asset != MANO_FILES_ASSET

    def describe(self) -> str:
        """A short line: "embedded openhoi-hand-v1 (sha256 1a2b3c4d…)", "MANO files at …"."""
        if self.is_assumed:
            return f"{self.asset} ({ASSUMED_NOTE})"
        digest = f"sha256 {self.sha256[:_SHORT_HASH]}…" if self.sha256 else "no hash"
        if self.is_embedded:
            return f"embedded {self.asset} ({digest})"
        where = f" at {self.folder}" if self.folder is not None else ""
        return f"MANO files{where} ({digest})"

    def to_record(self) -> dict[str, Any]:
        """The JSON stored with a dataset, checkpoint or output."""
        record: dict[str, Any] = {"asset": self.asset, "sha256": self.sha256}
        if self.is_assumed:
            record["assumed"] = True
            record["note"] = ASSUMED_NOTE
        return record

    def matches(self, other: HandIdentity) -> bool:
        """Whether two identities name the same hand (an assumed one matches its asset)."""
        if self.is_assumed or other.is_assumed or not (self.sha256 and other.sha256):
            return self.asset == other.asset
        return self.sha256 == other.sha256

    def selector(self) -> str | None:
        """The `mano_dir` value that selects this hand ("embedded:v1", a folder), if known."""
        if self.is_embedded and self.asset.startswith(_EMBEDDED_ASSET_PREFIX):
            return "embedded:" + self.asset.removeprefix(_EMBEDDED_ASSET_PREFIX)
        return None if self.folder is None else str(self.folder)


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _meta_asset_id(folder: Path) -> str | None:
    path = folder / HAND_META_FILE
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"hand meta file {path} is not valid JSON ({exc})") from exc
    value = meta.get(_ASSET_ID_KEY) if isinstance(meta, dict) else None
    if value is not None and not (isinstance(value, str) and value):
        raise InputError(
            f'hand meta file {path}: "{_ASSET_ID_KEY}" must be a non-empty string, got {value!r}'
        )
    return value


# Per folder: (file names, sizes, mtimes) → (asset, sha256); a changed file re-hashes.
_CACHE: dict[str, tuple[tuple, tuple[str, str]]] = {}


def _files_key(folder: Path) -> tuple:
    stats = []
    for name in _HASHED_FILES:
        path = folder / name
        if path.is_file():
            stat = path.stat()
            stats.append((name, stat.st_size, stat.st_mtime_ns))
    return tuple(stats)


def _v1_folder() -> Path:
    with importlib.resources.as_file(
        importlib.resources.files(_ASSET_PACKAGE).joinpath(_V1_FOLDER)
    ) as folder:
        return Path(folder)


def _folder_identity(folder: Path) -> HandIdentity:
    """The identity of the hand in `folder`, hashed once per folder (and per file change)."""
    folder = folder.resolve()
    files_key = _files_key(folder)
    if not any(name in MANO_FILE_NAMES.values() for name, _, _ in files_key):
        raise InputError(
            f"hand folder {folder} has neither {MANO_FILE_NAMES['right']} nor "
            f"{MANO_FILE_NAMES['left']}"
        )
    cached = _CACHE.get(str(folder))
    if cached is not None and cached[0] == files_key:
        asset, sha256 = cached[1]
    else:
        sha256 = _digest([folder / name for name, _, _ in files_key])
        asset = _meta_asset_id(folder)
        if asset is None:
            v1 = _v1_folder().resolve()
            is_v1 = folder == v1 or sha256 == _folder_identity(v1).sha256
            asset = HAND_V1_ASSET_ID if is_v1 else MANO_FILES_ASSET
        _CACHE[str(folder)] = (files_key, (asset, sha256))
    return HandIdentity(asset=asset, sha256=sha256, folder=folder)


def hand_identity(hand: Any = None) -> HandIdentity:
    """The identity of a hand.

    Args:
        hand: a `{"left": HandModel, "right": HandModel}` mapping, one `HandModel`, a
            folder with MANO_RIGHT.pkl / MANO_LEFT.pkl, another `mano_dir` value
            `HandModel` accepts, or None: the hand `HandModel(side)` loads by default
            ($OPENHOI_MANO_DIR, else the embedded default).

    Raises:
        InputError: a folder without MANO files, or an unreadable hand_meta.json.
        MissingFileError: `hand` names a folder that does not exist.
    """
    if isinstance(hand, Mapping):
        models = [hand[side] for side in ("right", "left") if hand.get(side) is not None]
        if not models:
            raise InputError("hand_identity needs a mapping with a 'right' or 'left' HandModel")
        folders = {Path(model.source).parent.resolve() for model in models}
        if len(folders) == 1:
            return _folder_identity(folders.pop())
        # Two folders: hash the two files actually in use.
        sha256 = _digest([Path(model.source) for model in models])
        return HandIdentity(asset=MANO_FILES_ASSET, sha256=sha256, folder=None)
    if hasattr(hand, "source") and hasattr(hand, "is_default_asset"):
        return _folder_identity(Path(hand.source).parent)
    if hand is not None and Path(hand).is_dir():
        return _folder_identity(Path(hand))
    from openhoi.hand.model import HandModel

    # Let the hand layer resolve the value (environment variable, named assets, errors).
    return _folder_identity(Path(HandModel("right", mano_dir=hand).source).parent)


def read_hand_record(record: Any, source: str = "record") -> HandIdentity:
    """A stored hand record back as an identity; None (no record) → assumed v1.

    Raises:
        InputError: `record` is neither None nor a `to_record()` dict; `source` names it.
    """
    if record is None:
        return HandIdentity(asset=HAND_V1_ASSET_ID, sha256=None, is_assumed=True)
    if isinstance(record, str):  # a bare asset id
        record = {"asset": record, "sha256": None}
    asset = record.get("asset") if isinstance(record, Mapping) else None
    sha256 = record.get("sha256") if isinstance(record, Mapping) else None
    if not isinstance(asset, str) or not asset or not (sha256 is None or isinstance(sha256, str)):
        raise InputError(
            f'{source}: the hand record must be {{"asset": str, "sha256": str}}, got {record!r}'
        )
    return HandIdentity(asset=asset, sha256=sha256, is_assumed=bool(record.get("assumed")))


# (purpose, made-with hand, current hand) pairs already warned about in this process.
_WARNED: set[tuple[str, str, str]] = set()


def _key(identity: HandIdentity) -> str:
    return f"{identity.asset}:{identity.sha256}:{identity.is_assumed}"


def warn_hand_mismatch(
    made_with: HandIdentity, current: HandIdentity, *, made: str, doing: str, consequence: str,
    advice: str,
) -> bool:  # fmt: skip
    """Log a warning when `current` is not the hand `made_with`; once per process and pair.

    The line reads "{made} {made_with}; you are {doing} with {current}: {consequence}.
    {advice}", e.g. "the motion model was trained with openhoi-hand-v1; you are generating
    with MANO files at /data/mano (sha256 …): grasps were learned for another hand. ...".

    Args:
        made_with: the hand the model or data was made with.
        current: the hand in use now.
        made: e.g. "the motion model was trained with".
        doing: e.g. "generating".
        consequence: what goes wrong, e.g. "grasps were learned for another hand".
        advice: the fix, one or two sentences.

    Returns:
        True when the hands differ (whether or not this call logged).
    """
    if made_with.matches(current):
        return False
    key = (f"{made}|{doing}", _key(made_with), _key(current))
    if key not in _WARNED:
        _WARNED.add(key)
        named = made_with.asset
        if made_with.is_assumed or not made_with.is_embedded:
            named = made_with.describe()
        logger.warning(
            "%s %s; you are %s with %s: %s. %s",
            made, named, doing, current.describe(), consequence, advice,
        )  # fmt: skip
    return True
