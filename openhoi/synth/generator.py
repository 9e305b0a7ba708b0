"""SynthHOI episode generator: tasks → segments → quality gate → sharded episode folder.

Episode `i` of a run with seed `s` depends only on `(s, i)`: its object and phrasing set
come from `default_rng([s, i, 0])` and everything else from `default_rng([s, i, 1])`,
so a run is reproducible for any number of workers and resumes exactly (ids already in
the index are skipped). Every segment is checked by `quality.check_segment`; a failed
segment is rebuilt (new random draws) up to `max_segment_attempts` times, and a segment
that never passes restarts the episode with a new task (up to `max_episode_attempts`).

Randomised per episode: object (uniform over the chosen objects), kind, dominant hand,
phrasing set (10% held-out), object yaw and position, hand shapes (betas ~ N(0, 0.5²)
clipped to ±1.5), speed (×0.8–1.25 per segment), grasp targets and all motion
parameters, and the object's uniform scale (one of `GeneratorConfig.scales`, from its own
stream `default_rng([s, i, 2])`). A scaled object is named `name@factor` ("mug@0.9") in the
episode and its segments, which `openhoi.objects.load_object` and `load_episode_object` read
back as the same geometry.

Objects are built-in names or mesh files with an affordance sidecar (`objects.mesh_io`);
a mesh is validated once, stored under `<out>/objects/<stem>/` (parts, affordances) and
named by its file stem, so the folder is self-contained for training and benchmarks.
Its episode kinds follow from its labels (`tasks.kinds_for`). Objects may also be
procedural family variants ("mug-v007", SynthHOI v3: `openhoi.synth.v3` stores them under
`<out>/objects/` first and they are read back from there); their split follows the
held-out families (`tasks.is_unseen_object`).

Each segment is canonicalised: the world is translated and turned about z so the object
starts at x = y = 0 with zero yaw (height kept, so the table stays at z = 0).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from openhoi._io import save_json_atomic
from openhoi.data.episodes import Episode, EpisodeWriter, read_index
from openhoi.data.object_store import save_object
from openhoi.data.sequence import HAND_SIDES, NUM_BETAS, HOISequence
from openhoi.data.torch_dataset import SPLITS_FILE, VAL_EVERY
from openhoi.data.transforms import canonical_transform
from openhoi.errors import InputError
from openhoi.provenance import dataset_hand_info
from openhoi.synth.grasp import GraspFailure
from openhoi.synth.primitives import (
    SegmentRequest,
    SegmentTrack,
    build_segment,
    initial_state,
)
from openhoi.synth.quality import QualityConfig, check_segment
from openhoi.synth.tasks import (
    HELD_OUT_OBJECTS,
    TaskSpec,
    held_out_families,
    is_unseen_object,
    sample_task,
)

__all__ = [
    "SPLITS_FILE",
    "GeneratorConfig",
    "SynthReport",
    "episode_choices",
    "episode_id",
    "episode_scale",
    "episode_split",
    "generate_episode",
    "synthesize_dataset",
    "write_splits",
]

logger = logging.getLogger(__name__)

_PHRASING_HELD_OUT_PROBABILITY = 0.1


@dataclass(frozen=True)
class GeneratorConfig:
    """Settings of the generator."""

    quality: QualityConfig = field(default_factory=QualityConfig)
    max_segment_attempts: int = 4
    max_episode_attempts: int = 4
    betas_std: float = 0.5
    betas_clip: float = 1.5
    speed_range: tuple[float, float] = (0.8, 1.25)
    # Uniform object scales drawn per episode (1.0 keeps the object as built or loaded).
    scales: tuple[float, ...] = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15)

    def __post_init__(self) -> None:
        from openhoi.objects.reference import MAX_SCALE, MIN_SCALE

        if self.max_segment_attempts < 1 or self.max_episode_attempts < 1:
            raise InputError("max_segment_attempts and max_episode_attempts must be >= 1")
        if not self.scales or not all(MIN_SCALE <= float(v) <= MAX_SCALE for v in self.scales):
            raise InputError(
                f"scales must be a non-empty list of numbers in [{MIN_SCALE}, {MAX_SCALE}], "
                f"got {list(self.scales)}"
            )


@dataclass
class _Stats:
    """Attempt / rejection counts (mergeable across workers)."""

    segments_attempted: Counter = field(default_factory=Counter)
    segments_rejected: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    episodes_restarted: int = 0
    episodes_failed: int = 0

    def merge(self, other: dict) -> None:
        self.segments_attempted.update(other["segments_attempted"])
        self.segments_rejected.update(other["segments_rejected"])
        self.reasons.update(other["reasons"])
        self.episodes_restarted += other["episodes_restarted"]
        self.episodes_failed += other["episodes_failed"]

    def to_dict(self) -> dict:
        return {
            "segments_attempted": dict(self.segments_attempted),
            "segments_rejected": dict(self.segments_rejected),
            "reasons": dict(self.reasons),
            "episodes_restarted": self.episodes_restarted,
            "episodes_failed": self.episodes_failed,
        }


@dataclass(frozen=True)
class SynthReport:
    """What `synthesize_dataset` did.

    Attributes:
        folder: output folder. num_episodes: episodes in the folder now.
        num_written: episodes written by this call (the rest were already there).
        seconds: wall time of this call.
        segment_rejection_rate: rejected / attempted segments (this call).
        rejection_by_primitive: primitive → rejection rate (this call).
        rejection_reasons: failed check or "grasp_failure" → count.
        episodes_restarted / episodes_failed: episodes that needed a new task / that
            produced nothing after all attempts (their ids are left out).
    """

    folder: Path
    num_episodes: int
    num_written: int
    seconds: float
    segment_rejection_rate: float
    rejection_by_primitive: dict[str, float]
    rejection_reasons: dict[str, int]
    episodes_restarted: int
    episodes_failed: int

    @property
    def episodes_per_minute(self) -> float:
        """Written episodes per minute of wall time."""
        return 60.0 * self.num_written / max(self.seconds, 1e-9)


# ------------------------------------------------------------------------- canonicalisation


def track_to_sequence(
    track: SegmentTrack, state_betas: np.ndarray, rest_wrists: dict, object_name: str, text: str
) -> HOISequence:
    """A canonicalised `HOISequence` from a world-frame track (see the module docstring)."""
    from scipy.spatial.transform import Rotation

    rot, shift = canonical_transform(track.rotation[0], track.transl[0])
    kwargs = {}
    for side in HAND_SIDES:
        pose = np.array(track.poses[side], np.float64)
        orient = Rotation.from_matrix(
            np.einsum("ij,tjk->tik", rot, Rotation.from_rotvec(pose[:, 0]).as_matrix())
        ).as_rotvec()
        pose[:, 0] = orient
        wrist = rest_wrists[side]
        transl = (track.transls[side] + wrist) @ rot.T + shift - wrist
        kwargs[f"{side}_pose"] = pose
        kwargs[f"{side}_transl"] = transl
    return HOISequence.from_parameters(
        **kwargs,
        object_rotation=np.einsum("ij,tjk->tik", rot, track.rotation),
        object_transl=track.transl @ rot.T + shift,
        object_angle=track.angle,
        betas=np.asarray(state_betas, np.float32),
        active_hands=track.active,
        object_name=object_name,
        texts=(text,),
        affordance=np.asarray(track.mask, np.float32)[None],
    )


# ------------------------------------------------------------------------- episodes


def episode_choices(seed: int, index: int, objects: tuple[str, ...]) -> tuple[str, str]:
    """(object name, phrasing set) of episode `index`: cheap, used for splits too."""
    rng = np.random.default_rng([seed, index, 0])
    name = objects[int(rng.integers(len(objects)))]
    phrasing = "held_out" if rng.random() < _PHRASING_HELD_OUT_PROBABILITY else "train"
    return name, phrasing


def episode_scale(seed: int, index: int, scales: tuple[float, ...]) -> float:
    """Uniform object scale of episode `index` (its own random stream)."""
    rng = np.random.default_rng([seed, index, 2])
    return float(scales[int(rng.integers(len(scales)))])


def episode_id(index: int) -> str:
    """The id of episode `index` ("synth-000042")."""
    return f"synth-{index:06d}"


class _Resources:
    """Objects and hand models, loaded once per process."""

    def __init__(self) -> None:
        self._objects: dict = {}
        self._hands: dict | None = None

    def object(self, name: str, scale: float = 1.0, folder: Path | None = None):
        """A built-in object, or one stored under `folder/objects/`, scaled."""
        key = (name, float(scale), None if folder is None else str(folder))
        if key not in self._objects:
            from openhoi.data.episodes import load_episode_object
            from openhoi.objects import list_objects, load_object

            if name in list_objects() or folder is None:
                base = load_object(name)
            else:
                base = load_episode_object(folder, name)
            self._objects[key] = base.scaled(scale)
        return self._objects[key]

    def hands(self) -> dict:
        if self._hands is None:
            from openhoi.hand import HandModel

            self._hands = {side: HandModel(side=side) for side in HAND_SIDES}
        return self._hands


_RESOURCES = _Resources()


def generate_episode(
    seed: int,
    index: int,
    objects: tuple[str, ...],
    config: GeneratorConfig | None = None,
    *,
    task: TaskSpec | None = None,
    stats: _Stats | None = None,
    folder: str | os.PathLike | None = None,
) -> Episode | None:
    """Episode `index` of a run with `seed` on one of `objects`; None if it never passes.

    Args:
        task: force this task (tests); sampled otherwise.
        stats: counters updated in place.
        folder: episode folder holding the user objects in `objects` (`objects/<name>/`).
    """
    config = config or GeneratorConfig()
    stats = stats if stats is not None else _Stats()
    name, phrasing = episode_choices(seed, index, objects)
    scale = episode_scale(seed, index, config.scales)
    obj = _RESOURCES.object(name, scale, None if folder is None else Path(folder))
    hands = _RESOURCES.hands()
    rng = np.random.default_rng([seed, index, 1])
    for attempt in range(config.max_episode_attempts):
        spec = task if task is not None else sample_task(obj, rng, phrasing=phrasing)
        result = _try_episode(obj, hands, spec, rng, config, stats)
        if result is not None:
            segments, reports, held, extra = result
            meta = {
                "kind": spec.kind,
                "phrasing": spec.phrasing,
                "style": spec.style,
                "main_hand": spec.main_hand,
                "paraphrases": list(spec.paraphrases),
                "subtask_paraphrases": [list(p) for p in spec.subtask_paraphrases],
                "seed": int(seed),
                "index": int(index),
                "scale": scale,
                "split_tags": {
                    "unseen_object": is_unseen_object(name),
                    "held_out_phrasing": spec.phrasing == "held_out",
                },
                "quality": [
                    {
                        "penetration_mean_mm": round(r.penetration_mean_m * 1000, 3),
                        "penetration_max_mm": round(r.penetration_max_m * 1000, 3),
                        "affordance_contact_ratio": round(r.affordance_contact_ratio, 4),
                    }
                    for r in reports
                ],
                **extra,
            }
            return Episode(
                episode_id=episode_id(index),
                instruction=spec.instruction,
                object=obj.name,
                plan=spec.plan,
                segments=tuple(segments),
                source="synth",
                metadata=meta,
                annotations=tuple({"held": h} for h in held),
            )
        if attempt + 1 < config.max_episode_attempts:
            stats.episodes_restarted += 1
        if task is not None:
            break
    stats.episodes_failed += 1
    return None


def _grasp_order(grasp_types: tuple[str, ...], rng) -> tuple[str, ...]:
    """Grasp types to try, in order. A region's list is ordered by preference; where it
    offers a lateral (key) grip (a handle's top bar, a headband) that grip goes first in
    half of the draws, so the corpus has key grips without their replacing the others.
    Regions without one draw nothing from `rng`."""
    if "lateral" not in grasp_types or rng.random() >= 0.5:
        return grasp_types
    return ("lateral", *(g for g in grasp_types if g != "lateral"))


def _try_episode(obj, hands, spec: TaskSpec, rng, config: GeneratorConfig, stats: _Stats):
    betas = np.clip(
        rng.normal(0.0, config.betas_std, size=(len(HAND_SIDES), NUM_BETAS)),
        -config.betas_clip,
        config.betas_clip,
    )
    yaw = rng.uniform(-np.pi, np.pi)
    xy = rng.uniform(-0.05, 0.05, size=2)
    start_angle = 0.0
    if spec.kind == "twist_close" and obj.articulation is not None:
        start_angle = float(rng.uniform(3.4, 4.2))
    state = initial_state(obj, hands, betas, yaw, xy, angle=start_angle)
    segments, reports, helds = [], [], []
    for step, region in zip(spec.plan, spec.regions, strict=True):
        for _ in range(config.max_segment_attempts):
            request = SegmentRequest(
                primitive=step.primitive,
                hands=step.hands,
                affordance=region.affordance,
                part=region.part,
                grasp_types=_grasp_order(region.grasp_types, rng),
                max_height_m=region.max_height_m,
                speed=float(rng.uniform(*config.speed_range)),
            )
            stats.segments_attempted[step.primitive] += 1
            try:
                track = build_segment(obj, hands, state, request, rng)
            except (GraspFailure, InputError) as exc:
                stats.segments_rejected[step.primitive] += 1
                stats.reasons["build_failure"] += 1
                logger.debug("%s on %s: %s", step.primitive, obj.name, exc)
                continue
            sequence = track_to_sequence(track, betas, state.rest_wrists, obj.name, step.text)
            report = check_segment(sequence, obj, track.held, hands, config.quality)
            if not report.passed:
                stats.segments_rejected[step.primitive] += 1
                stats.reasons.update(report.reasons)
                continue
            segments.append(sequence)
            reports.append(report)
            helds.append(track.held)
            state = track.end
            break
        else:
            return None
    return segments, reports, helds, {"start_angle": start_angle}


# ------------------------------------------------------------------------- dataset


def _resolve_objects(objects) -> tuple[tuple[str, ...], dict]:
    """(object names, {name: HOIObject} of the user meshes among them).

    Raises:
        InputError: an unknown name, an invalid mesh, a mesh without an affordance
            SynthHOI can act on, or a mesh whose stem clashes with another object.
    """
    from openhoi.objects import MESH_SUFFIXES, list_objects, load_object
    from openhoi.objects.families import parse_variant_name
    from openhoi.synth.tasks import kinds_for

    known = tuple(list_objects())
    if objects is None:
        return known, {}
    chosen: list[str] = []
    meshes: dict = {}
    for item in objects:
        item = str(item)
        if item in known or parse_variant_name(item) is not None:  # a family variant
            chosen.append(item)
            continue
        if Path(item).suffix.lower() not in MESH_SUFFIXES:
            raise InputError(
                f"object {item!r} is neither a built-in object ({', '.join(known)}) nor a "
                f"mesh file ({', '.join(MESH_SUFFIXES)}) with an affordance sidecar"
            )
        obj = load_object(item)
        kinds_for(obj)  # raises when no labelled region can be acted on
        if obj.name in known or obj.name in meshes or not obj.name.isidentifier():
            raise InputError(
                f"mesh {item!r}: its name {obj.name!r} (the file stem) must be a plain "
                "identifier that is not a built-in or another mesh's name; rename the file"
            )
        meshes[obj.name] = obj
        chosen.append(obj.name)
    if not chosen:
        raise InputError("objects must name at least one built-in object or mesh file")
    return tuple(chosen), meshes


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _worker(job: tuple) -> tuple[int, Episode | None, dict]:
    seed, index, objects, config, folder = job
    stats = _Stats()
    episode = generate_episode(seed, index, objects, config, stats=stats, folder=folder)
    return index, episode, stats.to_dict()


def episode_split(seed: int, index: int, objects: tuple[str, ...]) -> str:
    """The split of episode `index` (see `write_splits`), known before it is generated."""
    name, phrasing = episode_choices(seed, index, objects)
    if is_unseen_object(name):
        return "test_unseen_objects"
    if phrasing == "held_out":
        return "test_held_out_phrasing"
    return "val" if index % VAL_EVERY == 0 else "train"


def write_splits(folder: str | os.PathLike, seed: int, objects: tuple[str, ...]) -> Path:
    """Write `splits.json` for the episodes listed in the folder's index.

    Splits: `test_unseen_objects` (objects in HELD_OUT_OBJECTS), `test_held_out_phrasing`
    (held-out templates on training objects), `val` (every 10th remaining episode by
    index), `train` (the rest). `test` is the union of both test sets.
    """
    folder = Path(folder)
    index = read_index(folder)
    ids = sorted(i for shard in index["shards"] for i in shard["episode_ids"])
    splits: dict[str, list[str]] = {
        "train": [],
        "val": [],
        "test_unseen_objects": [],
        "test_held_out_phrasing": [],
    }
    for eid in ids:
        splits[episode_split(seed, int(eid.rsplit("-", 1)[1]), objects)].append(eid)
    splits["test"] = sorted(splits["test_unseen_objects"] + splits["test_held_out_phrasing"])
    payload = {
        "held_out_objects": list(HELD_OUT_OBJECTS),
        "seed": seed,
        "splits": splits,
    }
    if _has_variants(objects):  # SynthHOI v3: unseen means unseen families
        payload["held_out_families"] = list(held_out_families())
    path = folder / SPLITS_FILE
    save_json_atomic(path, payload)
    return path


def synthesize_dataset(
    out: str | os.PathLike,
    num_episodes: int,
    seed: int = 0,
    objects: list[str] | tuple[str, ...] | None = None,
    workers: int = 1,
    progress: bool = True,
    *,
    shard_size: int = 64,
    config: GeneratorConfig | None = None,
    shard=None,
) -> SynthReport:
    """Generate (or resume) a SynthHOI folder of `num_episodes` episodes.

    Args:
        out: output folder (index.json, shard-*.npz, splits.json).
        num_episodes: episode ids 0..num_episodes-1; ids already present are skipped.
        seed: run seed; episode i depends only on (seed, i).
        objects: built-in object names and/or mesh files with an affordance sidecar
            (default: all 20 built-ins); meshes are stored in `out/objects/`.
        workers: processes; each uses one torch thread.
        progress: show a rich progress bar.
        shard_size: episodes per shard file.
        config: generator settings.
        shard: an `openhoi.shard.Shard`: write only its slice of the episode indices
            (recorded in index.json; `openhoi data merge` joins the slices).

    Returns:
        SynthReport (rejection rates also recorded in index.json under "results").
    """
    import time

    if num_episodes < 1:
        raise InputError(f"num_episodes must be >= 1, got {num_episodes}")
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    config = config or GeneratorConfig()
    chosen, meshes = _resolve_objects(objects)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for obj in meshes.values():
        save_object(obj, out)
    info = {"generator": "synthhoi", "version": 1, "seed": int(seed), "objects": list(chosen)}
    if _has_variants(chosen):  # SynthHOI v3: procedural family variants
        info.update(version=3, held_out_families=list(held_out_families()))
    info.update(dataset_hand_info(out, _RESOURCES.hands()))  # the hand every episode uses
    writer = EpisodeWriter(out, source="synth", shard_size=shard_size, info=info)
    indices = range(num_episodes) if shard is None else shard.positions(num_episodes)
    todo = [i for i in indices if episode_id(i) not in writer.done_ids]
    part = None if shard is None or shard.is_whole else [shard.index, shard.count, num_episodes]
    if (out / "index.json").is_file() and read_index(out).get("results", {}).get("shard") != part:
        raise InputError(f"{str(out)!r} holds another slice of episodes; use a new folder")
    if part is not None:
        writer.set_info("shard", part)  # [index, count, num_episodes]
    stats = _Stats()
    previous = None
    if (out / "index.json").is_file():  # resumed run: keep the earlier counts
        previous = read_index(out).get("results", {}).get("rejection_stats")
    if previous:
        stats.merge(previous)
    start = time.perf_counter()
    run_stats = _Stats()
    # Stored objects (user meshes, family variants) are read back from the folder.
    folder = out if meshes or _has_variants(chosen) else None
    jobs = [(seed, i, chosen, config, folder) for i in todo]
    written = 0
    # Episodes are written in index order so shards are identical for any worker count.
    pending: dict[int, Episode | None] = {}
    next_position = 0
    with _progress_bar(progress, len(todo)) as advance:
        for index, episode, job_stats in _run(jobs, workers):
            run_stats.merge(job_stats)
            pending[index] = episode
            while next_position < len(todo) and todo[next_position] in pending:
                ready = pending.pop(todo[next_position])
                next_position += 1
                if ready is not None:
                    writer.add(ready)
                    written += 1
                advance()
        stats.merge(run_stats.to_dict())
        writer.set_info("rejection_stats", stats.to_dict())
        writer.set_info("rejection_rates", _rates(stats))
        writer.close()
    seconds = time.perf_counter() - start
    write_splits(out, seed, chosen)
    total = int(read_index(out).get("num_episodes", 0))
    rates = _rates(run_stats)
    return SynthReport(
        folder=out,
        num_episodes=total,
        num_written=written,
        seconds=seconds,
        segment_rejection_rate=rates["segment"],
        rejection_by_primitive=rates["by_primitive"],
        rejection_reasons=dict(run_stats.reasons),
        episodes_restarted=run_stats.episodes_restarted,
        episodes_failed=run_stats.episodes_failed,
    )


def _has_variants(objects) -> bool:
    """Whether any object is a procedural family variant ("mug-v007", SynthHOI v3)."""
    from openhoi.objects.families import parse_variant_name

    return any(parse_variant_name(name) is not None for name in objects)


def _rates(stats: _Stats) -> dict:
    attempted = sum(stats.segments_attempted.values())
    rejected = sum(stats.segments_rejected.values())
    return {
        "segment": rejected / attempted if attempted else 0.0,
        "by_primitive": {
            p: round(stats.segments_rejected[p] / n, 4)
            for p, n in sorted(stats.segments_attempted.items())
        },
    }


def _run(jobs, workers: int):
    if workers == 1 or len(jobs) <= 1:
        _worker_init()
        for job in jobs:
            yield _worker(job)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_worker_init) as pool:
        yield from pool.imap_unordered(_worker, jobs, chunksize=1)


class _progress_bar:
    """A rich progress bar (or nothing) with an `advance()` callback."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total
        self._progress = None

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        from rich.progress import Progress

        self._progress = Progress()
        self._progress.start()
        task = self._progress.add_task("SynthHOI episodes", total=self.total)
        return lambda: self._progress.advance(task)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
