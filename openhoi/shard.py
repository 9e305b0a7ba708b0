"""Splitting a run across processes and machines: `--shard I/N`, `--workers N`, launchers.

Three commands share this: `openhoi eval motion` (its units are (variant, repeat, episode)
triples), `openhoi generate --prompts` (groups of consecutive prompts) and
`openhoi data synth` (episode indices). Each lists its units in one fixed order; a shard
takes a deterministic slice of that list, and the units never learn which process ran
them, so every unit draws its seed from the run seed and its own index alone. The joined
shards (`openhoi eval merge`, `openhoi data merge`) are therefore what one process writes.

Slices are strided: shard I of N holds units I, I + N, I + 2N, ... Strided slices spread
the expensive units (long episodes, costly variants) evenly, and they nest: sub-shard k of
K inside shard I of N is shard I + N·k of N·K (`Shard.part`), which is how `--workers` and
a launcher's ranks split a shard further.

Three ways to split, which combine:

- `--shard I/N`: this process runs slice I of N (SLURM job arrays, Kubernetes indexed
  jobs, several machines). The result is one shard; a merge joins the N of them.
- `--workers N`: N processes on this machine, each a sub-slice; the parent joins them and
  writes the whole result (or its shard).
- a launcher (`accelerate launch`, `torchrun`) sets RANK / WORLD_SIZE / LOCAL_RANK: each
  rank runs a sub-slice on device `cuda:LOCAL_RANK` (when given `--device cuda`) and rank 0
  gathers what the others measured over `torch.distributed` (gloo) and writes.

Threads: a float sum split over more threads is added up in another order, and DSG and the
contact stage turn such last-bit differences into visible ones (measured: a two-repeat
benchmark's mean penetration 0.98 mm with 2 torch threads, 0.57 mm with 1). So the work of a
run that can be split runs on one CPU thread per process (`one_thread`: torch and the BLAS /
OpenMP pools), whatever the split; `--workers` is how a run uses more cores.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from openhoi.errors import InputError

__all__ = [
    "Shard",
    "device_for",
    "gather_to_main",
    "launcher_rank",
    "one_thread",
    "parse_shard",
    "run_workers",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
# A collective waits for the slowest rank: a shard's work can take hours.
_GATHER_TIMEOUT = datetime.timedelta(hours=48)


@dataclass(frozen=True)
class Shard:
    """Slice `index` of `count` of a run's units (strided: units index, index + count, ...).

    `Shard(0, 1)` is the whole run.
    """

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise InputError(
                f"shard must be I/N with N >= 1 and 0 <= I < N, got {self.index}/{self.count}"
            )

    @property
    def is_whole(self) -> bool:
        """True for the whole run (1 shard)."""
        return self.count == 1

    def part(self, k: int, num_parts: int) -> Shard:
        """Sub-shard `k` of `num_parts` of this shard (a worker's or a rank's share)."""
        return Shard(self.index + self.count * k, self.count * num_parts)

    def select(self, items: Sequence[T]) -> list[T]:
        """This shard's items, in their order."""
        return list(items[self.index :: self.count])

    def positions(self, num_items: int) -> list[int]:
        """The indices of this shard's items in a list of `num_items`."""
        return list(range(self.index, num_items, self.count))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str | None) -> Shard:
    """`"I/N"` → `Shard(I, N)`; None → the whole run.

    Raises:
        InputError: for anything but two integers with 0 <= I < N ("2/2", "a/b", "0/0").
    """
    if text is None:
        return Shard()
    match = _SHARD.match(text)
    if match is None:
        raise InputError(f"--shard must be I/N, e.g. 0/4 (slice 0 of 4), got {text!r}")
    index, count = int(match[1]), int(match[2])
    if count < 1 or index >= count:
        raise InputError(
            f"--shard I/N needs N >= 1 and 0 <= I < N (shards 0/{max(count, 1)} .. "
            f"{max(count, 1) - 1}/{max(count, 1)}), got {text!r}"
        )
    return Shard(index, count)


def launcher_rank() -> tuple[int, int, int]:
    """`(rank, world_size, local_rank)` from the environment a launcher sets.

    `torchrun` and `accelerate launch` (multi-process) set RANK, WORLD_SIZE and LOCAL_RANK;
    without them this is `(0, 1, 0)`, one process.

    Raises:
        InputError: when the variables are not integers or RANK is not in 0..WORLD_SIZE-1.
    """
    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
    raw = {name: os.environ.get(name) for name in names}
    if raw["WORLD_SIZE"] is None:
        return 0, 1, 0
    try:
        rank = int(raw["RANK"] or 0)
        world = int(raw["WORLD_SIZE"])
        local = int(raw["LOCAL_RANK"] or 0)
    except ValueError:
        raise InputError(
            f"RANK / WORLD_SIZE / LOCAL_RANK must be integers (as torchrun sets them), got {raw}"
        ) from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise InputError(f"RANK must be 0..WORLD_SIZE-1 and LOCAL_RANK >= 0, got {raw}")
    return rank, world, local


def device_for(device: str, slot: int) -> str:
    """The device of process `slot` on this machine: a bare "cuda" becomes one GPU each
    (`cuda:<slot mod GPUs>`); "cpu" and an explicit "cuda:k" stay as given."""
    if device != "cuda":
        return device
    import torch

    count = torch.cuda.device_count()
    return f"cuda:{slot % count}" if count else device


def gather_to_main(value: Any) -> list[Any] | None:
    """Under a launcher, every rank's `value` on rank 0 (in rank order), None on the others.

    Uses `torch.distributed` with the gloo backend (CPU tensors; works for GPU runs too,
    and across machines: MASTER_ADDR / MASTER_PORT come from the launcher). Without a
    launcher it returns `[value]`.
    """
    rank, world, _ = launcher_rank()
    if world == 1:
        return [value]
    import torch.distributed as dist

    started = not dist.is_initialized()
    if started:
        dist.init_process_group("gloo", rank=rank, world_size=world, timeout=_GATHER_TIMEOUT)
    try:
        gathered: list[Any] | None = [None] * world if rank == 0 else None
        dist.gather_object(value, gathered, dst=0)
        return gathered
    finally:
        if started:
            dist.destroy_process_group()


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one CPU thread: torch's intra-op pool and, through threadpoolctl,
    the BLAS and OpenMP pools numpy and scipy use. The previous settings come back after."""
    # threadpoolctl limits the libraries loaded when it is called: load them first.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(previous)


def _worker_entry(job: tuple[Callable[..., Any], tuple, int]) -> Any:
    function, arguments, slot = job
    with one_thread():
        return function(*arguments, slot)


def run_workers(
    function: Callable[..., T], arguments: Sequence[tuple], *, slots: Sequence[int] | None = None
) -> list[T]:
    """`function(*arguments[w], slot_w)` for each worker w, in fresh processes; results in
    order.

    One worker runs here, in this process. More use a spawn pool (a fresh interpreter each,
    so no CUDA state is inherited). Every worker computes on one CPU thread (`one_thread`,
    see the module docstring), so the results do not depend on the number of workers;
    `slot_w` (default w) says which GPU a worker takes (`device_for`). `function` must be
    importable (module level). An exception in a worker is raised here.
    """
    slots = list(range(len(arguments))) if slots is None else list(slots)
    jobs = [(function, tuple(a), s) for a, s in zip(arguments, slots, strict=True)]
    if len(jobs) == 1:
        return [_worker_entry(jobs[0])]
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(len(jobs)) as pool:
        return pool.map(_worker_entry, jobs, chunksize=1)
