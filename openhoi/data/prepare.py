"""`prepare_dataset`: a released GRAB / ARCTIC / H2O folder → an openhoi episode folder.

The output is the same on-disk format as SynthHOI (`openhoi.data.episodes`), readable with
`load_episodes`, plus the objects' meshes under `objects/` (`openhoi.data.object_store`).
Per episode the reader gives 30 fps, ≤150-frame segments with templated sub-task text and
plan; preparation adds, per segment:

- `annotations["contact"]` `(T, 2, 21)` bool: hand keypoints within 2 cm of the object
  surface (`geometry.constants.CONTACT_LABEL_THRESHOLD_M`), left row 0;
- `annotations["hand_contact"]` `(T, 2)` bool: any hand vertex within 2 cm;
- `HOISequence.affordance` `(1, 1024)`: the fine-stage affordance mask, per object point
  the fraction of the segment's contact frames in which a hand vertex is within 2 cm;
- a high-level instruction (template, optionally paraphrased by a rewriter).

Runs are resumable (episodes already in the index are skipped) and every file is written
atomically. Without the real MANO files everything still runs on the embedded hand, and
the index's `info["mano_notes"]` lists what is approximate as a result.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from openhoi.data.episodes import Episode, EpisodeWriter
from openhoi.data.instructions import InstructionRewriter, make_rewriter
from openhoi.data.object_store import save_object, stored_object_names
from openhoi.data.readers import get_reader
from openhoi.data.readers._common import MAX_SEGMENT_FRAMES, TARGET_FPS, hand_object_contact

__all__ = ["PrepareReport", "prepare_dataset"]

logger = logging.getLogger(__name__)

#: Bumped when the prepared content changes, so a resumed run cannot mix versions.
PREPARE_VERSION = 1


@dataclass(frozen=True)
class PrepareReport:
    """What `prepare_dataset` did.

    Attributes:
        out: the episode folder.
        dataset: "grab", "arctic" or "h2o".
        num_sequences: recorded sequences read.
        num_written: episodes written by this run.
        num_skipped: episodes already in the folder (resumed run).
        objects: names of the objects stored under `out/objects/`.
        uses_real_mano: whether the official MANO files were used.
        mano_notes: what is approximate because they were not.
    """

    out: Path
    dataset: str
    num_sequences: int
    num_written: int
    num_skipped: int
    objects: tuple[str, ...]
    uses_real_mano: bool
    mano_notes: tuple[str, ...]


def _annotate(episode: Episode, obj, hands, rewriter: InstructionRewriter | None) -> Episode:
    segments, annotations = [], []
    for segment in episode.segments:
        contact = hand_object_contact(segment, obj, hands)
        segments.append(segment.replace(affordance=contact.point_hits[None]))
        annotations.append({"contact": contact.keypoints, "hand_contact": contact.vertices})
    instruction = episode.instruction
    metadata = dict(episode.metadata)
    if rewriter is not None:
        metadata["template_instruction"] = instruction
        instruction = rewriter.rewrite(instruction)
    return replace(
        episode,
        instruction=instruction,
        segments=tuple(segments),
        annotations=tuple(annotations),
        metadata=metadata,
    )


def prepare_dataset(
    name: str,
    root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    mano_dir: str | os.PathLike | None = None,
    rewriter: str | os.PathLike | InstructionRewriter | None = None,
    keep_betas: bool = True,
    progress: bool = True,
    assume_flat_mean: bool = False,
    shard_size: int = 64,
) -> PrepareReport:
    """Read a released dataset folder and write it as openhoi episodes.

    Args:
        name: "grab", "arctic" or "h2o".
        root: the dataset folder as released (see `openhoi.data.readers.<name>`).
        out: output episode folder (created; an existing one from the same settings resumes).
        mano_dir: folder with MANO_LEFT.pkl / MANO_RIGHT.pkl; None uses the embedded hand.
        rewriter: None (templates only), an http(s) URL of an OpenAI-compatible server, a
            local Hugging Face causal-LM folder, or an `InstructionRewriter`.
        keep_betas: keep the datasets' hand shapes (False writes zero betas).
        progress: show a progress bar.
        assume_flat_mean: ARCTIC without MANO files: keep its finger poses unchanged
            instead of refusing (they lack MANO's hands_mean).
        shard_size: episodes per shard file.

    Returns:
        A `PrepareReport`.

    Raises:
        MissingFileError: the folder or a file the dataset needs is missing (named).
        InputError: a file's content is malformed (named), or an unknown dataset.
    """
    from openhoi.provenance import dataset_hand_info

    reader_class = get_reader(name)
    reader = reader_class(
        Path(root), mano_dir=mano_dir, keep_betas=keep_betas, assume_flat_mean=assume_flat_mean
    )
    keys = reader.sequence_keys()
    if isinstance(rewriter, (str, os.PathLike)) or rewriter is None:
        rewriter = make_rewriter(rewriter)
    notes = reader.mano_notes()
    for note in notes:
        logger.warning("%s: %s", name, note)
    info = {
        "prepare_version": PREPARE_VERSION,
        "dataset": name,
        "root": str(Path(root).resolve()),
        "fps": TARGET_FPS,
        "max_segment_frames": MAX_SEGMENT_FRAMES,
        "keep_betas": bool(keep_betas),
        "mano": "official" if reader.hands.is_real else "embedded",
        "mano_notes": notes,
        "assume_flat_mean": bool(assume_flat_mean),
        "rewriter": None if rewriter is None else rewriter.spec,
    }
    out = Path(out)
    info.update(dataset_hand_info(out, reader.hands.models))  # the hand that converted it
    written = skipped = 0
    stored = set(stored_object_names(out))
    from rich.progress import Progress

    with (
        EpisodeWriter(out, source=name, shard_size=shard_size, info=info) as writer,
        Progress(disable=not progress, transient=True) as bar,
    ):
        task = bar.add_task(f"preparing {name}", total=len(keys))
        tags: dict[str, dict[str, object]] = {}
        for key in keys:
            for episode in reader.read_sequence(key):
                tags[episode.episode_id] = episode.metadata
                if episode.episode_id in writer.done_ids:
                    skipped += 1
                    continue
                obj = reader.load_object(episode.object)
                if episode.object not in stored:
                    save_object(obj, out)
                    stored.add(episode.object)
                writer.add(_annotate(episode, obj, reader.hands, rewriter))
                written += 1
            bar.advance(task)
    write_prepared_splits(out, tags)
    logger.info("%s: wrote %d episodes to %s (%d already there)", name, written, out, skipped)
    return PrepareReport(
        out=out,
        dataset=name,
        num_sequences=len(keys),
        num_written=written,
        num_skipped=skipped,
        objects=tuple(sorted(stored)),
        uses_real_mano=reader.hands.is_real,
        mano_notes=tuple(notes),
    )


def write_prepared_splits(out: str | os.PathLike, tags: dict[str, dict[str, object]]) -> Path:
    """`splits.json` of a prepared folder from each episode's split tags.

    `test_unseen_objects`: episodes on the dataset's unseen objects (any subject);
    `test_seen`: seen objects performed by the held-out subject; `val`: every 10th of the
    remaining episodes by id; `train`: the rest; `test`: both test sets. Training
    (`openhoi train diffusion`, `openhoi train evaluator`) reads `train`/`val`, so the test
    episodes never leak into a model that `tools/benchmark.py` then scores on them.
    """
    from openhoi._io import save_json_atomic
    from openhoi.data.torch_dataset import SPLITS_FILE, VAL_EVERY

    splits: dict[str, list[str]] = {
        "train": [], "val": [], "test_seen": [], "test_unseen_objects": []
    }  # fmt: skip
    pool = []
    for episode_id in sorted(tags):
        meta = tags[episode_id]
        if meta.get("object_split") == "unseen":
            splits["test_unseen_objects"].append(episode_id)
        elif meta.get("subject_split") == "heldout":
            splits["test_seen"].append(episode_id)
        else:
            pool.append(episode_id)
    for number, episode_id in enumerate(pool):
        splits["val" if number % VAL_EVERY == VAL_EVERY - 1 else "train"].append(episode_id)
    splits["test"] = sorted(splits["test_seen"] + splits["test_unseen_objects"])
    path = Path(out) / SPLITS_FILE
    save_json_atomic(path, {"how_chosen": "openhoi/data/splits/<dataset>.json", "splits": splits})
    return path
