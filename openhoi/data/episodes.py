"""Episodes and their on-disk form, shared by SynthHOI and the prepared real datasets.

An episode is one instruction on one object: an ordered plan of sub-tasks and one
`HOISequence` segment per sub-task. A dataset folder holds::

    index.json            {"format": "openhoi-episodes", "version": 1, "source": ...,
                           "shards": [{"file": ..., "episode_ids": [...]}, ...], ...}
    shard-00000.npz       plain arrays, keys "<episode_id>/meta" (a JSON string) and
                          "<episode_id>/seg<k>/<field>" (HOISequence.to_arrays fields)
    objects/              meshes of non-built-in objects (real datasets), by object name

Segments store their object's name (a built-in name, `name@scale`, or a name stored in
`objects/`) or a full `ObjectRef` string. `load_episodes` hands out segments whose
`object_name` is a reference that resolves on its own: a name stored in this folder's
`objects/` becomes its `stored:` reference (absolute path + hash, computed at load, so
the folder may move), and a stored object wins over a built-in of the same name.

Shards are written atomically and the index is rewritten atomically after each shard,
so a killed writer leaves only complete shards listed; `EpisodeWriter` skips episode ids
already listed, which makes writing resumable without duplicates. Nothing is pickled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from openhoi._io import atomic_open, save_json_atomic
from openhoi.data.sequence import HOISequence
from openhoi.errors import InputError, MissingFileError
from openhoi.vocab import AFF_TOKEN, HAND_CHOICES, PRIMITIVES, SubTask

if TYPE_CHECKING:
    from openhoi.objects import HOIObject

__all__ = [
    "HAND_CHOICES",
    "PRIMITIVES",
    "Episode",
    "EpisodeWriter",
    "SubTask",
    "episode_object_path",
    "folder_object_ref",
    "load_episode_object",
    "load_episodes",
    "read_index",
]

INDEX_FILE = "index.json"
INDEX_FORMAT = "openhoi-episodes"
INDEX_VERSION = 1
OBJECTS_FOLDER = "objects"


@dataclass(frozen=True)
class Episode:
    """An instruction on one object: plan (sub-tasks) and one segment per sub-task.

    Attributes:
        episode_id: unique within its dataset folder; letters, digits, `-`, `_` and `.`.
        instruction: the high-level instruction ("I'm thirsty, open the bottle ...").
        object: the object's name: a built-in name (maybe `name@scale`) or the name of an
            object in the folder's `objects/`; `object_ref` is the resolvable reference.
        plan: ordered sub-tasks.
        segments: one `HOISequence` per sub-task (≤150 frames each at 30 fps).
        source: "synth", "grab", "arctic" or "h2o".
        metadata: JSON-serialisable extras (subject, paraphrases, split tags, ...).
        annotations: per segment, named numeric arrays (e.g. "contact" `(T, 2, 21)` bool
            hand-keypoint contact labels); empty dicts when there are none.
    """

    episode_id: str
    instruction: str
    object: str
    plan: tuple[SubTask, ...]
    segments: tuple[HOISequence, ...]
    source: str = "synth"
    metadata: dict[str, object] = field(default_factory=dict)
    annotations: tuple[dict[str, np.ndarray], ...] = ()

    def __post_init__(self) -> None:
        if not self.annotations:
            object.__setattr__(self, "annotations", tuple({} for _ in self.segments))
        if len(self.annotations) != len(self.segments):
            raise InputError(
                f"episode {self.episode_id!r}: {len(self.annotations)} annotation dict(s) for "
                f"{len(self.segments)} segment(s)"
            )
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        if not self.episode_id or not set(self.episode_id) <= allowed:
            raise InputError(
                f"episode_id must be non-empty letters, digits, '-', '_' or '.', "
                f"got {self.episode_id!r}"
            )
        if len(self.plan) != len(self.segments) or not self.plan:
            raise InputError(
                f"episode {self.episode_id!r}: plan has {len(self.plan)} sub-task(s) but "
                f"{len(self.segments)} segment(s); need one segment per sub-task"
            )

    @property
    def object_ref(self) -> str:
        """Reference string of the object (the segments'; see `ObjectRef`), else `object`."""
        return self.segments[0].object_name or self.object

    def load_object(self) -> HOIObject:
        """The episode's object, resolved from `object_ref`."""
        from openhoi.objects import load_object

        return load_object(self.object_ref)

    @property
    def target_text(self) -> str:
        """The planner's target output: each sub-task's text followed by `<AFF>`."""
        return " ".join(f"{step.text} {AFF_TOKEN}" for step in self.plan)

    def sequence(self) -> HOISequence:
        """All segments joined into one continuous sequence.

        SynthHOI stores each segment canonicalised (the object starts at the origin), so its
        segments are chained: each is moved to start where the previous one left the
        object. Prepared real datasets keep their world frame, so theirs are joined as is.
        """
        from openhoi.data.transforms import chain_segments

        if self.source == "synth":
            return HOISequence.concatenate(chain_segments(self.segments))
        return HOISequence.concatenate(self.segments)


def _episode_to_arrays(episode: Episode) -> dict[str, np.ndarray]:
    meta = {
        "episode_id": episode.episode_id,
        "instruction": episode.instruction,
        "object": episode.object,
        "plan": [step.to_dict() for step in episode.plan],
        "source": episode.source,
        "metadata": episode.metadata,
        "num_segments": len(episode.segments),
    }
    arrays = {f"{episode.episode_id}/meta": np.array(json.dumps(meta, ensure_ascii=False))}
    for k, segment in enumerate(episode.segments):
        for key, value in segment.to_arrays().items():
            arrays[f"{episode.episode_id}/seg{k}/{key}"] = np.asarray(value)
        for key, value in episode.annotations[k].items():
            arrays[f"{episode.episode_id}/ann{k}/{key}"] = np.asarray(value)
    return arrays


def _episode_from_arrays(
    episode_id: str,
    arrays: dict[str, np.ndarray],
    where: str,
    object_ref: Callable[[str], str] = str,
) -> Episode:
    """Rebuild an episode; `object_ref` maps each segment's object name to its reference."""
    meta = json.loads(str(arrays[f"{episode_id}/meta"]))
    segments = []
    annotations = []
    for k in range(int(meta["num_segments"])):
        ann_prefix = f"{episode_id}/ann{k}/"
        annotations.append(
            {key[len(ann_prefix) :]: v for key, v in arrays.items() if key.startswith(ann_prefix)}
        )
        prefix = f"{episode_id}/seg{k}/"
        fields = {
            key[len(prefix) :]: value for key, value in arrays.items() if key.startswith(prefix)
        }
        if "frames" not in fields:
            raise InputError(f"{where}: episode {episode_id!r} lacks segment {k}")
        name = str(fields.get("object_name", "")) or meta["object"]
        fields["object_name"] = np.array(object_ref(name))
        segments.append(
            HOISequence.from_arrays(fields, where=f"{where}: episode {episode_id!r} segment {k}")
        )
    return Episode(
        episode_id=meta["episode_id"],
        instruction=meta["instruction"],
        object=meta["object"],
        plan=tuple(SubTask.from_dict(step) for step in meta["plan"]),
        segments=tuple(segments),
        source=meta.get("source", "synth"),
        metadata=meta.get("metadata", {}),
        annotations=tuple(annotations),
    )


def read_index(folder: str | os.PathLike) -> dict[str, object]:
    """The parsed `index.json` of an episode folder, validated."""
    folder = Path(folder)
    path = folder / INDEX_FILE
    if not folder.is_dir():
        raise MissingFileError(f"episode folder {str(folder)!r} does not exist")
    if not path.is_file():
        raise MissingFileError(
            f"{str(folder)!r} is not an episode folder: {INDEX_FILE} is missing "
            "(write one with `openhoi data synth` or `openhoi data prepare`)"
        )
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{str(path)!r} is not valid JSON ({exc})") from exc
    if index.get("format") != INDEX_FORMAT:
        raise InputError(f"{str(path)!r} is not an openhoi episode index")
    if int(index.get("version", 0)) > INDEX_VERSION:
        raise InputError(f"{str(path)!r} has version {index['version']}; upgrade openhoi")
    return index


def load_episodes(
    folder: str | os.PathLike, episode_ids: Iterable[str] | None = None
) -> Iterator[Episode]:
    """Iterate the episodes of a folder in index order (optionally only `episode_ids`).

    Segments name their object by a reference that resolves to this folder's stored copy
    (see the module docstring), so `segment.load_object()` / `object_vertices()` work.
    """
    folder = Path(folder)
    index = read_index(folder)
    wanted = None if episode_ids is None else set(episode_ids)
    refs: dict[str, str] = {}

    def object_ref(name: str) -> str:
        if name not in refs:
            refs[name] = folder_object_ref(folder, name)
        return refs[name]

    for shard in index["shards"]:
        ids = [i for i in shard["episode_ids"] if wanted is None or i in wanted]
        if not ids:
            continue
        path = folder / shard["file"]
        if not path.is_file():
            raise MissingFileError(f"shard {str(path)!r} listed in the index is missing")
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        for episode_id in ids:
            yield _episode_from_arrays(episode_id, arrays, str(path), object_ref)


class EpisodeWriter:
    """Append episodes to a folder in atomic shards; resumable (see module docstring).

    Args:
        folder: output folder (created).
        source: dataset name stored in the index ("synth", "grab", ...).
        shard_size: episodes per shard file.
        info: extra JSON fields for the index (generator settings, seed, ...). When the
            folder already has an index, `info` must match it, so a resumed run cannot mix
            settings.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        source: str,
        shard_size: int = 64,
        info: dict[str, object] | None = None,
    ) -> None:
        if shard_size < 1:
            raise InputError(f"shard_size must be >= 1, got {shard_size}")
        self.folder = Path(folder)
        self.shard_size = shard_size
        self._buffer: list[Episode] = []
        info = dict(info or {})
        if (self.folder / INDEX_FILE).is_file():
            self._index = read_index(self.folder)
            if self._index.get("source") != source or self._index.get("info", {}) != info:
                raise InputError(
                    f"{str(self.folder)!r} already holds episodes written with other settings "
                    f"(source {self._index.get('source')!r}, info {self._index.get('info')}); "
                    "use a new folder or the same settings to resume"
                )
        else:
            self._index = {
                "format": INDEX_FORMAT,
                "version": INDEX_VERSION,
                "source": source,
                "info": info,
                "shards": [],
            }
        self.done_ids = {i for shard in self._index["shards"] for i in shard["episode_ids"]}

    def add(self, episode: Episode) -> None:
        """Queue an episode; a full shard is written at once. Known ids are refused."""
        if episode.episode_id in self.done_ids or any(
            e.episode_id == episode.episode_id for e in self._buffer
        ):
            raise InputError(f"episode {episode.episode_id!r} is already in {str(self.folder)!r}")
        self._buffer.append(episode)
        if len(self._buffer) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        """Write the queued episodes as one shard and update the index."""
        if not self._buffer:
            return
        number = len(self._index["shards"])
        name = f"shard-{number:05d}.npz"
        arrays: dict[str, np.ndarray] = {}
        for episode in self._buffer:
            arrays.update(_episode_to_arrays(episode))
        with atomic_open(self.folder / name) as handle:
            np.savez_compressed(handle, **arrays)
        ids = [e.episode_id for e in self._buffer]
        self._index["shards"].append({"file": name, "episode_ids": ids})
        self._index["num_episodes"] = sum(len(s["episode_ids"]) for s in self._index["shards"])
        save_json_atomic(self.folder / INDEX_FILE, self._index)
        self.done_ids.update(ids)
        self._buffer = []

    def set_info(self, key: str, value: object) -> None:
        """Record a run-level result (e.g. rejection rates) in the index, written on flush."""
        self._index.setdefault("results", {})[key] = value

    def close(self) -> None:
        """Flush the last, possibly short, shard and write the index."""
        self.flush()
        save_json_atomic(self.folder / INDEX_FILE, self._index)

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # On error, keep what is complete but do not write a partial shard.
        if exc_type is None:
            self.close()


def episode_object_path(folder: str | os.PathLike, name: str) -> Path | None:
    """The mesh file of a non-built-in object stored in an episode folder, if any."""
    objects = Path(folder) / OBJECTS_FOLDER
    for suffix in (".ply", ".obj", ".glb", ".stl", ".off"):
        candidate = objects / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def folder_object_ref(folder: str | os.PathLike, name: str) -> str:
    """Reference string of object `name` (or `name@factor`) as episodes in `folder` mean it.

    A name stored under `<folder>/objects/<name>/` becomes its `stored:` reference (scaled
    as named); anything else (a reference, a built-in name, a name not stored) is returned
    unchanged.
    """
    from openhoi.data.object_store import stored_object_names, stored_object_ref
    from openhoi.objects.library import split_scaled_name
    from openhoi.objects.reference import is_file_reference

    if not name or is_file_reference(name):
        return name
    try:
        base, factor = split_scaled_name(name)
    except InputError:
        return name
    if base not in stored_object_names(folder):
        return name
    return str(stored_object_ref(folder, base).scaled(factor))


def load_episode_object(folder: str | os.PathLike, name: str) -> HOIObject:
    """The `HOIObject` an episode in `folder` names: stored with the data, or built in.

    `name` may be a reference string (a segment's `object_name`), loaded as such. For a
    name the order is: an object stored under `<folder>/objects/<name>/` (parts and
    affordances, as `openhoi data prepare` and `openhoi data synth` on user meshes write
    them), a bare mesh `<folder>/objects/<name>.<suffix>`, then the built-in library. A
    `name@factor` suffix (SynthHOI's scale randomisation) scales whichever object is found.
    """
    from openhoi.objects import load_object
    from openhoi.objects.library import split_scaled_name
    from openhoi.objects.reference import is_file_reference

    ref = folder_object_ref(folder, name)
    if is_file_reference(ref):
        return load_object(ref)
    base, factor = split_scaled_name(name)
    local = episode_object_path(folder, base)
    if local is None:
        return load_object(name)
    return load_object(str(local)).scaled(factor)
