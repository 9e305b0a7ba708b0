"""Atomic file writes: a temp file in the destination folder, then `os.replace`.

A reader never sees a half-written file, and an interrupted write (Ctrl-C, a
crash) leaves the previous file, or nothing, in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = ["atomic_open", "save_json_atomic", "save_npz_atomic"]


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a binary temp file beside `path`; rename it over `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz_atomic(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write a compressed `.npz` atomically; object arrays are refused (no pickle)."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"array {key!r} has dtype object; npz files must load without pickle")
    with atomic_open(path) as handle:
        np.savez_compressed(handle, **arrays)


def save_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write JSON (UTF-8, indented) atomically."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    with atomic_open(path) as handle:
        handle.write(text.encode("utf-8"))
