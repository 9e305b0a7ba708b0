"""Join the slices of `openhoi data synth --shard I/N` into one SynthHOI folder.

Episode i of a run depends only on (seed, i), so the slices hold exactly the episodes one
process would have written. The merge copies each episode's arrays unchanged, in index
order, into shard files of the same size as `synthesize_dataset` writes, sums the
rejection counts, and writes index.json and splits.json as that run would have: the
merged folder equals a single-process run's (episodes, index and splits; the npz files
differ only in their zip time stamps).
"""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openhoi.errors import InputError, MissingFileError

__all__ = ["merge_synth_shards"]


def _default_shard_size() -> int:
    from openhoi.synth.generator import synthesize_dataset

    return int(inspect.signature(synthesize_dataset).parameters["shard_size"].default)


def _read_slice(folder: Path) -> dict[str, Any]:
    from openhoi.data.episodes import read_index

    if not folder.is_dir():
        raise MissingFileError(f"shard folder {str(folder)!r} does not exist")
    index = read_index(folder)
    results = index.get("results", {})
    if index.get("source") != "synth" or "shard" not in results:
        raise InputError(
            f"{str(folder)!r} is not a slice written by `openhoi data synth --shard I/N`"
        )
    if "rejection_rates" not in results:
        raise InputError(
            f"{str(folder)!r} is an unfinished slice; rerun its `openhoi data synth` command "
            "(it resumes) before merging"
        )
    return index


def merge_synth_shards(
    folders: Sequence[str | Path],
    out: str | Path,
    *,
    overwrite: bool = False,
    shard_size: int | None = None,
    target=None,
) -> Path:
    """Join every slice `0/N .. N-1/N` of one `openhoi data synth` run into `out`.

    Args:
        folders: the slice folders, in any order.
        out: the folder to write (must not exist, unless `overwrite`).
        overwrite: replace an existing `out` whole.
        shard_size: episodes per shard file (default: `synthesize_dataset`'s).
        target: an `openhoi.shard.Shard` the slices make up together (its parts
            `target.part(k, K)`, as a launcher's ranks write them); None: the whole run.

    Returns:
        `out`.

    Raises:
        InputError / MissingFileError: no folders, a folder that is not a finished slice,
            slices of different runs or settings, a slice given twice or missing. Nothing
            is written then.
    """
    from openhoi._io import save_json_atomic
    from openhoi.export.run_folder import check_output_folder, fresh_folder
    from openhoi.synth.generator import _rates, _Stats, episode_id, write_splits

    if not folders:
        raise InputError("data merge needs the slice folders of one `data synth --shard` run")
    paths = [Path(folder) for folder in folders]
    indexes = [_read_slice(path) for path in paths]
    first, first_path = indexes[0], paths[0]
    _, count, total = first["results"]["shard"]
    seen: dict[int, Path] = {}
    for path, index in zip(paths, indexes, strict=True):
        number, num_slices, num_episodes = index["results"]["shard"]
        if (num_slices, num_episodes) != (count, total):
            raise InputError(
                f"{str(path)!r} is slice {number}/{num_slices} of {num_episodes} episodes but "
                f"{str(first_path)!r} is a slice of {count} of {total}: slices of different "
                "runs cannot be merged"
            )
        if index["info"] != first["info"]:
            raise InputError(
                f"{str(path)!r} was written with other settings than {str(first_path)!r} "
                f"({index['info']} vs {first['info']}): slices of different runs cannot be "
                "merged"
            )
        if number in seen:
            raise InputError(
                f"{str(seen[number])!r} and {str(path)!r} are both slice {number}/{count}"
            )
        seen[number] = path
    from openhoi.shard import Shard

    target = target or Shard()
    if count % target.count:
        raise InputError(f"slices of {count} cannot make up slice {target} of a run")
    wanted = [target.part(k, count // target.count).index for k in range(count // target.count)]
    stray = sorted(set(seen) - set(wanted))
    if stray:
        raise InputError(f"{str(seen[stray[0]])!r} is not a part of slice {target} of the run")
    missing = [i for i in wanted if i not in seen]
    if missing:
        given = ", ".join(f"{str(seen[i])!r} = {i}/{count}" for i in sorted(seen))
        raise InputError(
            f"slice{'s' if len(missing) > 1 else ''} {', '.join(f'{i}/{count}' for i in missing)} "
            f"missing (given: {given})"
        )
    # Where each episode's arrays are: (folder, shard file) by episode id.
    where: dict[str, tuple[Path, str]] = {}
    for path, index in zip(paths, indexes, strict=True):
        for shard in index["shards"]:
            for eid in shard["episode_ids"]:
                where[eid] = (path, shard["file"])
    ids = [episode_id(i) for i in range(total) if episode_id(i) in where]
    stats = _Stats()
    for index in indexes:
        stats.merge(index["results"]["rejection_stats"])
    size = shard_size or _default_shard_size()
    check_output_folder(out, overwrite=overwrite)
    with fresh_folder(out, overwrite=overwrite) as temp:
        for path in paths:  # stored objects (meshes, family variants): the union
            if (path / "objects").is_dir():
                shutil.copytree(path / "objects", temp / "objects", dirs_exist_ok=True)
        shards = []
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            arrays = _episode_arrays(chunk, where)
            name = f"shard-{len(shards):05d}.npz"
            with open(temp / name, "wb") as handle:
                np.savez_compressed(handle, **arrays)
            shards.append({"file": name, "episode_ids": chunk})
        results = {k: v for k, v in first["results"].items() if k != "shard"}
        if not target.is_whole:
            results["shard"] = [target.index, target.count, total]
        results["rejection_stats"] = stats.to_dict()
        results["rejection_rates"] = _rates(stats)
        index = {key: first[key] for key in ("format", "version", "source", "info")}
        index.update(shards=shards, num_episodes=len(ids), results=results)
        save_json_atomic(temp / "index.json", index)
        info = first["info"]
        write_splits(temp, info["seed"], tuple(info["objects"]))
    return Path(out)


def _episode_arrays(ids: Sequence[str], where: dict[str, tuple[Path, str]]) -> dict:
    """The stored arrays (`<id>/...` keys) of episodes `ids`, read from their slices."""
    arrays: dict[str, np.ndarray] = {}
    by_file: dict[tuple[Path, str], list[str]] = {}
    for eid in ids:
        by_file.setdefault(where[eid], []).append(eid)
    for (folder, file), wanted in by_file.items():
        with np.load(folder / file, allow_pickle=False) as data:
            for eid in wanted:
                prefix = f"{eid}/"
                arrays.update({k: data[k] for k in data.files if k.startswith(prefix)})
    # In episode order, as `EpisodeWriter` writes them.
    order = {eid: k for k, eid in enumerate(ids)}
    return dict(sorted(arrays.items(), key=lambda item: order[item[0].split("/", 1)[0]]))
