"""Sequences and datasets: `HOISequence` (the currency between stages), episodes on disk."""

from openhoi.data import layout
from openhoi.data.episodes import (
    HAND_CHOICES,
    PRIMITIVES,
    Episode,
    EpisodeWriter,
    SubTask,
    episode_object_path,
    folder_object_ref,
    load_episode_object,
    load_episodes,
    read_index,
)
from openhoi.data.sequence import HAND_SIDES, NUM_BETAS, HOISequence

__all__ = [
    "HAND_CHOICES",
    "HAND_SIDES",
    "NUM_BETAS",
    "PRIMITIVES",
    "Episode",
    "EpisodeWriter",
    "HOISequence",
    "SubTask",
    "episode_object_path",
    "folder_object_ref",
    "layout",
    "load_episode_object",
    "load_episodes",
    "read_index",
]
