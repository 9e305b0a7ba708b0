"""Atomic training checkpoints that resume exactly.

A checkpoint is one folder: the trainer's own model files (written by a callback) plus
`train_state.pt`, a `TrainState`: step, optimizer, LR scheduler, mixed-precision scaler,
every random state (Python, NumPy, torch CPU and CUDA, and the trainer's own generators)
and the data position. The folder is written beside its target and renamed into place
(`write_folder_atomic`), so a kill leaves the previous checkpoint or the new one, never
half of one. Resuming a run for N more steps gives the weights of an uninterrupted run
(single process; see `restore_train_state` for several).
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openhoi._io import atomic_open
from openhoi.errors import InputError

__all__ = [
    "TRAIN_STATE_FILE",
    "TrainState",
    "capture_rng",
    "capture_train_state",
    "find_resume_point",
    "load_train_checkpoint",
    "resolve_checkpoint",
    "restore_rng",
    "restore_train_state",
    "save_train_checkpoint",
    "write_folder_atomic",
]

logger = logging.getLogger(__name__)

TRAIN_STATE_FILE = "train_state.pt"

# A trainer's own random generators, by name: torch (e.g. noise on CPU) or NumPy (data).
Generators = Mapping[str, "torch.Generator | np.random.Generator"]
# Keys of the global random states in `capture_rng`; generator names must differ.
_GLOBAL_RNG_KEYS = ("torch", "cuda", "numpy_keys", "numpy_meta", "python", "python_gauss")


# ------------------------------------------------------------------------- folders
def write_folder_atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Fill a temp folder with `write(tmp)`, then swap it in for `target` atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; give the folder plain mkdir permissions
    old = target.parent / f".{target.name}.old"
    try:
        write(tmp)
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def resolve_checkpoint(target: Path, marker: str = TRAIN_STATE_FILE) -> Path | None:
    """`target`, or the `.old` copy a kill between the two renames left; None if neither.

    A folder counts when it holds the file `marker`.
    """
    target = Path(target)
    if (target / marker).is_file():
        return target
    old = target.parent / f".{target.name}.old"
    if (old / marker).is_file():
        return old
    return None


# ------------------------------------------------------------------------- randomness
def capture_rng(generators: Generators | None = None) -> dict[str, Any]:
    """Every random state a training step may draw from, as tensors and plain numbers.

    The global states (torch CPU and CUDA, NumPy's legacy global, Python's `random`) plus
    each of `generators` under its name.
    """
    np_state = np.random.get_state()
    py_state = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_meta": [int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": torch.tensor(py_state[1], dtype=torch.int64),
        "python_gauss": [py_state[2]],
    }
    for name, generator in (generators or {}).items():
        if name in _GLOBAL_RNG_KEYS:
            raise InputError(f"generator name {name!r} is reserved ({_GLOBAL_RNG_KEYS})")
        if isinstance(generator, torch.Generator):
            state[name] = generator.get_state()
        else:
            state[name] = generator.bit_generator.state
    return state


def restore_rng(state: Mapping[str, Any], generators: Generators | None = None) -> None:
    """Set every random state `capture_rng` took (and `generators`) back."""
    torch.set_rng_state(state["torch"])
    if torch.cuda.is_available() and state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])
    pos, has_gauss, cached = state["numpy_meta"]
    np.random.set_state(
        ("MT19937", state["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss, cached)
    )
    random.setstate((3, tuple(int(v) for v in state["python"].tolist()), state["python_gauss"][0]))
    for name, generator in (generators or {}).items():
        if name not in state:
            raise InputError(f"the checkpoint holds no random state for generator {name!r}")
        if isinstance(generator, torch.Generator):
            generator.set_state(state[name])
        else:
            generator.bit_generator.state = state[name]


# ------------------------------------------------------------------------- train state
@dataclass
class TrainState:
    """What a resume restores besides the weights.

    step: updates done. optimizer, scheduler, scaler: their `state_dict()`s (scaler None
    without fp16). rng: `capture_rng`. data: the trainer's data position (e.g. epoch and
    batch of its sampler; tensors, numbers, lists); empty when its generators say it all.
    """

    step: int
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    rng: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    scaler: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "rng": self.rng,
            "data": self.data,
            "scaler": self.scaler,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: Path) -> TrainState:
        """Read `to_dict` output (or a motion checkpoint from before `data` existed)."""
        try:
            data = raw.get("data")
            if data is None:  # motion checkpoints kept the data position at the top
                data = {k: raw[k] for k in ("epoch", "batch_index") if k in raw}
            return cls(
                step=int(raw["step"]),
                optimizer=raw["optimizer"],
                scheduler=raw["scheduler"],
                rng=raw["rng"],
                data=dict(data),
                scaler=raw.get("scaler"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"checkpoint {source} has an unreadable {TRAIN_STATE_FILE} ({exc!r}); "
                "delete it or start fresh"
            ) from exc


def capture_train_state(
    step: int,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    generators: Generators | None = None,
    data: dict[str, Any] | None = None,
    runtime: Any = None,
) -> TrainState:
    """The `TrainState` after `step` updates (`runtime`: a `Runtime`, for its fp16 scaler)."""
    return TrainState(
        step=step,
        optimizer=optimizer.state_dict(),
        scheduler=scheduler.state_dict(),
        rng=capture_rng(generators),
        data=dict(data or {}),
        scaler=None if runtime is None else runtime.scaler_state(),
    )


def restore_train_state(
    state: TrainState,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    generators: Generators | None = None,
    runtime: Any = None,
) -> None:
    """Load optimizer, scheduler, scaler and every random state from `state`.

    The checkpoint holds the main process's generators: under several processes
    (`runtime.process_index > 0`) each other process reseeds its own from (its rank, the
    step) instead of replaying the main one's, so a multi-GPU resume is deterministic but
    not bit-identical to an uninterrupted run (a single-process resume is).
    """
    optimizer.load_state_dict(state.optimizer)
    scheduler.load_state_dict(state.scheduler)
    if runtime is not None:
        runtime.load_scaler_state(state.scaler)
    restore_rng(state.rng, generators)
    rank = 0 if runtime is None else runtime.process_index
    if rank > 0:
        for generator in (generators or {}).values():
            if isinstance(generator, torch.Generator):
                generator.manual_seed(hash((generator.initial_seed(), rank, state.step)))
            else:
                generator.bit_generator.state = np.random.PCG64([rank, state.step]).state


def save_train_checkpoint(
    target: str | os.PathLike,
    state: TrainState,
    write_model: Callable[[Path], None] | None = None,
) -> Path:
    """Write `write_model(folder)`'s files plus `train_state.pt` to `target`, atomically."""
    target = Path(target)

    def write(folder: Path) -> None:
        if write_model is not None:
            write_model(folder)
        with atomic_open(folder / TRAIN_STATE_FILE) as handle:
            torch.save(state.to_dict(), handle)

    write_folder_atomic(target, write)
    return target


def load_train_checkpoint(target: str | os.PathLike) -> tuple[Path, TrainState] | None:
    """(the checkpoint folder, its `TrainState`) at `target`; None when there is none.

    Raises:
        InputError: `train_state.pt` is corrupted.
    """
    found = resolve_checkpoint(Path(target))
    if found is None:
        return None
    try:
        raw = torch.load(found / TRAIN_STATE_FILE, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise InputError(
            f"checkpoint {found} is corrupted ({exc}); delete it or start fresh"
        ) from exc
    if not isinstance(raw, Mapping):
        raise InputError(f"checkpoint {found}: {TRAIN_STATE_FILE} is not a train state")
    return found, TrainState.from_dict(raw, found)


def find_resume_point(target: str | os.PathLike, resume: bool) -> tuple[Path, TrainState] | None:
    """The checkpoint a run resumes from: None unless `resume`; with nothing there, logs it."""
    if not resume:
        return None
    found = load_train_checkpoint(target)
    if found is None:
        logger.warning("resume: no checkpoint in %s yet; starting from step 0", target)
    else:
        logger.info("resuming from %s at step %d", found[0], found[1].step)
    return found
