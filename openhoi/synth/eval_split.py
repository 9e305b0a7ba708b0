"""SynthHOI test sets, generated on first use and cached, so a benchmark needs no folder.

Episode `i` of a SynthHOI run depends only on `(seed, i, objects)`, and its split follows
from the cheap `episode_choices` draw alone (`episode_split`). So the test episodes of a
run can be generated without its training episodes: walk the indices `0..num_episodes-1`
in order, generate only those of the wanted test set, and stop once `limit` of them have
passed the quality gate (an episode that never passes is left out, as the full run leaves
it out). The folder holds exactly the episodes, ids and order that the same test set of
`openhoi data synth --episodes num_episodes --seed seed` has, with a `splits.json` listing
them under the same split name.

Defaults reproduce `outputs/synthhoi-default`, the set the shipped motion model and motion
evaluator were trained on and on which the README / BENCHMARKS numbers were measured:
seed 0, 1,500 episodes, the 19 built-in objects that existed then (`RECORDED_OBJECTS`;
the pitcher came later, and adding an object changes which object every episode draws).

Cache: `$OPENHOI_CACHE` (else `$XDG_CACHE_HOME/openhoi`, else `~/.cache/openhoi`), then
`synthhoi-eval/<key>/`, the key naming the seed, the episode count, the objects and the
package data version (`data_version`: the package version and a hash of the code and hand
assets that episodes are made from, so an edited generator never reads a stale cache).
Inside, `<test set>-<n>` holds the first n episodes of the test set and `<test set>-all`
all of them. A folder is written under a temporary name and renamed when complete, so an
interrupted first use leaves no folder that a later call would read; a larger request
starts from a copy of the largest cached prefix.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from openhoi._cache import CACHE_ENV, cache_root
from openhoi._io import save_json_atomic
from openhoi.errors import InputError

__all__ = [
    "CACHE_ENV",
    "RECORDED_OBJECTS",
    "TEST_SETS",
    "EvalSplitSpec",
    "cache_root",
    "data_version",
    "eval_split_folder",
    "eval_split_manifest",
]

logger = logging.getLogger(__name__)

# The built-in objects of outputs/synthhoi-default (`openhoi data synth --episodes 1500
# --seed 0` before the pitcher was added): fixed here, not read from `list_objects()`.
RECORDED_OBJECTS = (
    "book", "bottle", "bowl", "box", "can", "cup", "hammer", "headphones", "jar", "kettle",
    "knife", "laptop", "mug", "pan", "phone", "scissors", "spatula", "spray_bottle",
    "toothbrush",
)  # fmt: skip
RECORDED_SEED = 0
RECORDED_NUM_EPISODES = 1500
# splits.json name → the `episode_split` values it holds ("test" is the union).
TEST_SETS = {
    "test_unseen_objects": ("test_unseen_objects",),
    "test_held_out_phrasing": ("test_held_out_phrasing",),
    "test": ("test_unseen_objects", "test_held_out_phrasing"),
}
MANIFEST_FILE = "eval_split.json"
# Code and assets that determine an episode's content (relative to the package root).
_CONTENT_SOURCES = (
    "synth",
    "objects",
    "hand",
    "geometry",
    "assets/hand",
    "vocab.py",
    "data/sequence.py",
    "data/episodes.py",
    "data/transforms.py",
    "data/object_store.py",
)


def data_version() -> str:
    """`<package version>-<hash>`: the hash covers the code and assets episodes come from."""
    import openhoi

    root = Path(openhoi.__file__).resolve().parent
    digest = hashlib.sha256()
    for source in _CONTENT_SOURCES:
        path = root / source
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and file.suffix != ".pyc" and "__pycache__" not in file.parts:
                digest.update(file.relative_to(root).as_posix().encode())
                digest.update(file.read_bytes())
    return f"{openhoi.__version__}-{digest.hexdigest()[:12]}"


@dataclass(frozen=True)
class EvalSplitSpec:
    """Which run's test set: what its content depends on (the cache key).

    test_set: "test_unseen_objects", "test_held_out_phrasing" or "test" (both).
    seed / num_episodes / objects: the SynthHOI run (`synthesize_dataset` arguments).
    """

    test_set: str = "test_unseen_objects"
    seed: int = RECORDED_SEED
    num_episodes: int = RECORDED_NUM_EPISODES
    objects: tuple[str, ...] = RECORDED_OBJECTS

    def __post_init__(self) -> None:
        from openhoi.objects import list_objects

        if self.test_set not in TEST_SETS:
            raise InputError(f"test_set must be one of {list(TEST_SETS)}, got {self.test_set!r}")
        if self.num_episodes < 1:
            raise InputError(f"num_episodes must be >= 1, got {self.num_episodes}")
        unknown = sorted(set(self.objects) - set(list_objects()))
        if unknown or not self.objects:
            raise InputError(f"objects must be built-in objects, got unknown {unknown}")

    def key(self) -> str:
        """The cache folder name: seed, count, objects and data version."""
        objects = hashlib.sha256(",".join(self.objects).encode()).hexdigest()[:8]
        return f"seed{self.seed}-n{self.num_episodes}-obj{objects}-v{data_version()}"

    def members(self) -> list[int]:
        """Indices of the run whose episodes belong to the test set, in order."""
        from openhoi.synth.generator import episode_split

        wanted = TEST_SETS[self.test_set]
        return [
            i
            for i in range(self.num_episodes)
            if episode_split(self.seed, i, self.objects) in wanted
        ]


def eval_split_folder(
    spec: EvalSplitSpec | None = None,
    limit: int | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> Path:
    """An episode folder holding the first `limit` episodes (None: all) of `spec`'s test set.

    Reuses a cached folder that holds at least that many; otherwise generates what is
    missing (see the module docstring) and caches it atomically.

    Args:
        spec: the run and test set (default: the unseen objects of the recorded set).
        limit: episodes wanted (the folder may hold more).
        cache_dir: cache root (default `cache_root()`).
        progress: show a progress bar while generating.

    Raises:
        InputError: `limit` below 1, or bad `spec` fields.
    """
    spec = spec or EvalSplitSpec()
    if limit is not None and limit < 1:
        raise InputError(f"limit must be >= 1, got {limit}")
    base = Path(cache_dir) if cache_dir is not None else cache_root()
    folder = base / "synthhoi-eval" / spec.key()
    cached = _cached(folder, spec.test_set)
    complete = cached.get("all")
    if complete is not None:
        return complete
    enough = sorted(n for n in cached if n != "all" and limit is not None and n >= limit)
    if enough:
        return cached[enough[0]]
    start = cached[max(cached)] if cached else None
    return _build(folder, spec, limit, start, progress)


def eval_split_manifest(folder: str | os.PathLike) -> dict:
    """What a cached folder holds: test set, seed, episode count, objects, data version, ids."""
    import json

    return json.loads((Path(folder) / MANIFEST_FILE).read_text(encoding="utf-8"))


def _cached(folder: Path, test_set: str) -> dict:
    """{episode count or "all": folder} of the complete cached folders of `test_set`."""
    found: dict = {}
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        stem, _, count = path.name.rpartition("-")
        if stem != test_set or not (path / MANIFEST_FILE).is_file():
            continue
        if count == "all":
            found["all"] = path
        elif count.isdigit():
            found[int(count)] = path
    return found


def _build(folder: Path, spec: EvalSplitSpec, limit: int | None, start, progress: bool) -> Path:
    """Generate the test set's episodes up to `limit` into a temp folder, then rename it."""
    import json

    import torch

    from openhoi.data.episodes import EpisodeWriter
    from openhoi.data.torch_dataset import SPLITS_FILE
    from openhoi.synth.generator import (
        GeneratorConfig,
        _progress_bar,
        episode_id,
        episode_split,
        generate_episode,
    )

    folder.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".tmp-{spec.test_set}-", dir=folder))
    try:
        ids: list[str] = []
        next_index = 0
        if start is not None:  # continue the largest cached prefix
            shutil.rmtree(temp)
            shutil.copytree(start, temp)
            manifest = json.loads((start / MANIFEST_FILE).read_text(encoding="utf-8"))
            ids, next_index = list(manifest["episode_ids"]), int(manifest["next_index"])
        # The index info synthesize_dataset writes.
        info = {
            "generator": "synthhoi",
            "version": 1,
            "seed": spec.seed,
            "objects": list(spec.objects),
        }
        writer = EpisodeWriter(temp, source="synth", info=info)
        todo = [i for i in spec.members() if i >= next_index]
        wanted = len(todo) if limit is None else min(limit - len(ids), len(todo))
        config = GeneratorConfig()
        # One torch thread, as synthesize_dataset's workers run, so episodes are identical.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        failed: list[int] = []
        try:
            with _progress_bar(progress, wanted) as advance:
                for index in todo:
                    if limit is not None and len(ids) >= limit:
                        break
                    next_index = index + 1
                    episode = generate_episode(spec.seed, index, spec.objects, config)
                    if episode is None:
                        failed.append(index)
                        continue
                    writer.add(episode)
                    ids.append(episode_id(index))
                    advance()
        finally:
            torch.set_num_threads(threads)
        writer.close()
        complete = not any(i >= next_index for i in todo)
        kinds = {i: episode_split(spec.seed, int(i.rsplit("-", 1)[1]), spec.objects) for i in ids}
        splits = {name: [i for i in ids if kinds[i] in sets] for name, sets in TEST_SETS.items()}
        save_json_atomic(temp / SPLITS_FILE, {"seed": spec.seed, "splits": splits})
        save_json_atomic(
            temp / MANIFEST_FILE,
            {
                "test_set": spec.test_set,
                "seed": spec.seed,
                "num_episodes": spec.num_episodes,
                "objects": list(spec.objects),
                "data_version": data_version(),
                "episode_ids": ids,
                "next_index": next_index,
                "complete": complete,
            },
        )
        target = folder / f"{spec.test_set}-{'all' if complete else f'{len(ids):06d}'}"
        try:
            os.rename(temp, target)
        except OSError:  # another process cached the same folder first: use theirs
            if not (target / MANIFEST_FILE).is_file():
                raise
            shutil.rmtree(temp, ignore_errors=True)
        logger.info("cached %d %s episodes in %s", len(ids), spec.test_set, target)
        return target
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
