"""A torch Dataset over the segments of an episode folder (SynthHOI or prepared real data).

Each item is one sub-task segment: its 208-D frames (normalised with statistics of the
train split), a frame mask, acting hands, the object's 1024 condition points with
normals in its canonical frame, the segment's affordance mask and sub-task text. Text
embeddings are not computed here (the motion package does that).

Normalisation statistics are computed once over the train split and saved beside the
data as `stats.json` (`NormalisationStats.save/load`), so a checkpoint can carry them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from openhoi._io import save_json_atomic
from openhoi.data.episodes import load_episodes, read_index
from openhoi.data.layout import FRAME_DIM
from openhoi.errors import InputError, MissingFileError

__all__ = [
    "STATS_FILE",
    "NormalisationStats",
    "SegmentBatch",
    "SegmentDataset",
    "SegmentSample",
    "collate_segments",
    "compute_stats",
    "split_episode_ids",
]

STATS_FILE = "stats.json"
SPLITS_FILE = "splits.json"
# Both split writers (SynthHOI, prepared datasets) send one in this many training-pool
# episodes to `val`.
VAL_EVERY = 10
# Features whose train std is below this keep std 1 (constant channels).
_MIN_STD = 1e-4


@dataclass(frozen=True)
class NormalisationStats:
    """Per-feature mean and std of the 208-D frames: `x_norm = (x − mean) / std`."""

    mean: np.ndarray  # (208,)
    std: np.ndarray  # (208,)

    def __post_init__(self) -> None:
        for name in ("mean", "std"):
            value = np.asarray(getattr(self, name), np.float32)
            if value.shape != (FRAME_DIM,):
                raise InputError(f"{name} must have shape ({FRAME_DIM},), got {value.shape}")
            object.__setattr__(self, name, value)
        if (self.std <= 0).any():
            raise InputError("std must be > 0 everywhere")

    def normalise(self, frames):
        """`(..., 208)` numpy array or tensor → normalised, same type."""
        if torch.is_tensor(frames):
            mean = torch.as_tensor(self.mean, device=frames.device, dtype=frames.dtype)
            std = torch.as_tensor(self.std, device=frames.device, dtype=frames.dtype)
            return (frames - mean) / std
        return (np.asarray(frames) - self.mean) / self.std

    def denormalise(self, frames):
        """Inverse of `normalise`."""
        if torch.is_tensor(frames):
            mean = torch.as_tensor(self.mean, device=frames.device, dtype=frames.dtype)
            std = torch.as_tensor(self.std, device=frames.device, dtype=frames.dtype)
            return frames * std + mean
        return np.asarray(frames) * self.std + self.mean

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically; returns the path."""
        path = Path(path)
        save_json_atomic(
            path,
            {"format": "openhoi-frame-stats", "mean": self.mean.tolist(), "std": self.std.tolist()},
        )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> NormalisationStats:
        """Read a file written by `save`."""
        path = Path(path)
        if not path.is_file():
            raise MissingFileError(f"normalisation stats {str(path)!r} not found")
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != "openhoi-frame-stats":
            raise InputError(f"{str(path)!r} is not an openhoi stats file")
        return cls(np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32))


@dataclass(frozen=True)
class SegmentSample:
    """One segment, unpadded.

    Attributes:
        frames: `(T, 208)` float32 normalised. active_hands: `(2,)` bool (acts anywhere).
        object_points: `(1024, 6)` xyz + normals, canonical frame. affordance: `(1024,)`.
        text: sub-task text. object_name: the object's reference string (`ObjectRef`).
    """

    frames: torch.Tensor
    active_hands: torch.Tensor
    object_points: torch.Tensor
    affordance: torch.Tensor
    text: str
    object_name: str


@dataclass(frozen=True)
class SegmentBatch:
    """A padded batch of segments.

    Attributes:
        frames: `(B, T, 208)` normalised, zero after each segment's end.
        frame_mask: `(B, T)` bool, True on real frames. num_frames: `(B,)` int64.
        active_hands: `(B, 2)` bool. object_points: `(B, 1024, 6)`. affordance: `(B, 1024)`.
        texts: B sub-task texts. object_names: B object reference strings.
    """

    frames: torch.Tensor
    frame_mask: torch.Tensor
    num_frames: torch.Tensor
    active_hands: torch.Tensor
    object_points: torch.Tensor
    affordance: torch.Tensor
    texts: list[str]
    object_names: list[str]


def split_episode_ids(folder: str | os.PathLike, split: str) -> list[str] | None:
    """The episode ids of `split` in `folder/splits.json`; None for "all" (every episode).

    Raises:
        MissingFileError: a named split is asked for and the folder has no splits.json.
        InputError: the split is not in the file.
    """
    folder = Path(folder)
    path = folder / SPLITS_FILE
    if not path.is_file():
        if split == "all":
            return None
        raise MissingFileError(
            f"{str(path)!r} not found; split {split!r} needs it (use split='all' to read "
            "every episode)"
        )
    splits = json.loads(path.read_text(encoding="utf-8"))["splits"]
    if split == "all":
        return None
    if split not in splits:
        raise InputError(f"split must be one of {[*sorted(splits), 'all']}, got {split!r}")
    return list(splits[split])


def _segments(folder: Path, ids: list[str] | None, max_frames: int):
    for episode in load_episodes(folder, ids):
        for segment in episode.segments:
            frames = np.asarray(segment.frames, np.float32)[:max_frames]
            affordance = (
                np.asarray(segment.affordance[0], np.float32)
                if segment.affordance is not None
                else None
            )
            yield (
                frames,
                np.asarray(segment.active_hands).any(axis=0),
                affordance,
                segment.texts[0] if segment.texts else "",
                segment.object_name or episode.object,
            )


def compute_stats(folder: str | os.PathLike, split: str = "train") -> NormalisationStats:
    """Mean/std of all frames of a split's segments (constant features get std 1)."""
    folder = Path(folder)
    total = np.zeros(FRAME_DIM, np.float64)
    square = np.zeros(FRAME_DIM, np.float64)
    count = 0
    for frames, *_ in _segments(folder, split_episode_ids(folder, split), 10**9):
        total += frames.sum(axis=0)
        square += (frames.astype(np.float64) ** 2).sum(axis=0)
        count += len(frames)
    if count == 0:
        raise InputError(f"split {split!r} of {str(folder)!r} has no frames")
    mean = total / count
    std = np.sqrt(np.clip(square / count - mean**2, 0.0, None))
    std = np.where(std < _MIN_STD, 1.0, std)
    return NormalisationStats(mean.astype(np.float32), std.astype(np.float32))


class SegmentDataset(Dataset):
    """Segments of a split of an episode folder (see the module docstring).

    Args:
        folder: episode folder with index.json (and splits.json unless split="all").
        split: "train", "val", "test", "test_unseen_objects", "test_held_out_phrasing" or
            "all".
        max_frames: segments are cut to this many frames.
        stats: normalisation; default: `folder/stats.json`, computed from the train split
            and saved there when missing.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        split: str = "train",
        max_frames: int = 150,
        stats: NormalisationStats | None = None,
    ) -> None:
        if max_frames < 1:
            raise InputError(f"max_frames must be >= 1, got {max_frames}")
        self.folder = Path(folder)
        read_index(self.folder)
        self.split = split
        self.max_frames = max_frames
        if stats is None:
            path = self.folder / STATS_FILE
            if path.is_file():
                stats = NormalisationStats.load(path)
            else:
                has_train = (self.folder / SPLITS_FILE).is_file()
                stats = compute_stats(self.folder, "train" if has_train else "all")
                stats.save(path)
        self.stats = stats
        ids = split_episode_ids(self.folder, split)
        self._items = list(_segments(self.folder, ids, max_frames))
        self._points: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._items)

    @property
    def lengths(self) -> list[int]:
        """Frames of each segment (after the `max_frames` cut), in item order."""
        return [len(item[0]) for item in self._items]

    def _object_points(self, name: str) -> np.ndarray:
        if name not in self._points:
            from openhoi.data.episodes import load_episode_object

            obj = load_episode_object(self.folder, name)
            self._points[name] = np.concatenate(
                [np.asarray(obj.points.points), np.asarray(obj.points.normals)], axis=1
            ).astype(np.float32)
        return self._points[name]

    def __getitem__(self, index: int) -> SegmentSample:
        frames, active, affordance, text, name = self._items[index]
        points = self._object_points(name)
        if affordance is None:
            affordance = np.zeros(len(points), np.float32)
        return SegmentSample(
            frames=torch.from_numpy(self.stats.normalise(frames).astype(np.float32)),
            active_hands=torch.from_numpy(np.asarray(active, bool)),
            object_points=torch.from_numpy(points),
            affordance=torch.from_numpy(np.array(affordance, np.float32)),  # own, writable copy
            text=text,
            object_name=name,
        )


def collate_segments(samples: list[SegmentSample]) -> SegmentBatch:
    """Pad a list of samples to the longest one (use as a DataLoader `collate_fn`)."""
    if not samples:
        raise InputError("cannot collate an empty list of segments")
    lengths = torch.tensor([len(s.frames) for s in samples], dtype=torch.int64)
    longest = int(lengths.max())
    frames = torch.zeros(len(samples), longest, FRAME_DIM)
    mask = torch.zeros(len(samples), longest, dtype=torch.bool)
    for k, sample in enumerate(samples):
        frames[k, : len(sample.frames)] = sample.frames
        mask[k, : len(sample.frames)] = True
    return SegmentBatch(
        frames=frames,
        frame_mask=mask,
        num_frames=lengths,
        active_hands=torch.stack([s.active_hands for s in samples]),
        object_points=torch.stack([s.object_points for s in samples]),
        affordance=torch.stack([s.affordance for s in samples]),
        texts=[s.text for s in samples],
        object_names=[s.object_name for s in samples],
    )
