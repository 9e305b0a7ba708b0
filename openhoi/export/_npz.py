"""The "npz" exporter: the sequence file itself."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_npz"]


def write_npz(path: str | os.PathLike, sequence) -> Path:
    """Write `sequence` with `HOISequence.save` (atomic, no pickle); returns the path."""
    return sequence.save(path)
