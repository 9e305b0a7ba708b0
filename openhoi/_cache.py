"""Where openhoi keeps regenerable data: `$OPENHOI_CACHE`, else `$XDG_CACHE_HOME/openhoi`.

Used by the SynthHOI test sets (`openhoi.synth.eval_split`) and the convex decompositions
of the simulator check (`openhoi.refine.sim_model`); anything here may be deleted at any
time and is rebuilt on next use.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root"]

CACHE_ENV = "OPENHOI_CACHE"


def cache_root() -> Path:
    """The user cache folder: `$OPENHOI_CACHE`, `$XDG_CACHE_HOME/openhoi` or ~/.cache/openhoi."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "openhoi"
