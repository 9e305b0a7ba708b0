"""Episode folders: atomic shards, index, resume without duplicates, round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openhoi import HOISequence
from openhoi.data import Episode, EpisodeWriter, SubTask, load_episodes, read_index
from openhoi.errors import InputError, MissingFileError


def _episode(index: int, num_segments: int = 2) -> Episode:
    rng = np.random.default_rng(index)
    segments = tuple(
        HOISequence(
            frames=rng.normal(size=(8 + k, 208)),
            object_name="bottle",
            texts=(f"step {k}",),
            affordance=rng.uniform(size=(1, 1024)),
        )
        for k in range(num_segments)
    )
    plan = tuple(
        SubTask(primitive="grasp", hands="right", affordance="grasp", text=f"step {k}")
        for k in range(num_segments)
    )
    return Episode(
        episode_id=f"ep{index:04d}",
        instruction="grab the bottle",
        object="bottle",
        plan=plan,
        segments=segments,
        metadata={"seed": index},
        annotations=tuple({"contact": np.zeros((8 + k, 2, 21), bool)} for k in range(num_segments)),
    )


def test_write_and_read_back(tmp_path):
    with EpisodeWriter(tmp_path, source="synth", shard_size=2, info={"seed": 0}) as writer:
        for i in range(5):
            writer.add(_episode(i))
    index = read_index(tmp_path)
    assert index["num_episodes"] == 5 and len(index["shards"]) == 3
    episodes = list(load_episodes(tmp_path))
    assert [e.episode_id for e in episodes] == [f"ep{i:04d}" for i in range(5)]
    original = _episode(3)
    back = episodes[3]
    assert back.plan == original.plan and back.metadata == {"seed": 3}
    assert back.target_text == "step 0 <AFF> step 1 <AFF>"
    for a, b in zip(back.segments, original.segments, strict=True):
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.affordance, b.affordance)
    assert back.annotations[1]["contact"].shape == (9, 2, 21)
    assert back.sequence().num_frames == 17
    only = list(load_episodes(tmp_path, episode_ids=["ep0001"]))
    assert [e.episode_id for e in only] == ["ep0001"]


def test_resume_skips_done_ids_and_refuses_other_settings(tmp_path):
    writer = EpisodeWriter(tmp_path, source="synth", shard_size=2, info={"seed": 0})
    for i in range(3):
        writer.add(_episode(i))
    # Simulate a kill: the third episode sits in an unwritten buffer and is lost.
    del writer
    resumed = EpisodeWriter(tmp_path, source="synth", shard_size=2, info={"seed": 0})
    assert resumed.done_ids == {"ep0000", "ep0001"}
    with pytest.raises(InputError, match="already"):
        resumed.add(_episode(0))
    for i in range(5):
        if f"ep{i:04d}" not in resumed.done_ids:
            resumed.add(_episode(i))
    resumed.close()
    ids = [e.episode_id for e in load_episodes(tmp_path)]
    assert ids == [f"ep{i:04d}" for i in range(5)]
    with pytest.raises(InputError, match="other settings"):
        EpisodeWriter(tmp_path, source="synth", info={"seed": 1})


def test_folder_errors(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        read_index(tmp_path / "nope")
    with pytest.raises(MissingFileError, match="index.json"):
        read_index(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="not an openhoi episode index"):
        read_index(tmp_path)


def test_subtask_and_episode_validation():
    with pytest.raises(InputError, match="primitive"):
        SubTask(primitive="teleport", hands="right", affordance="grasp", text="")
    with pytest.raises(InputError, match="hands"):
        SubTask(primitive="grasp", hands="third", affordance="grasp", text="")
    with pytest.raises(InputError, match="affordance"):
        SubTask(primitive="grasp", hands="right", affordance="juggle", text="")
    episode = _episode(0)
    with pytest.raises(InputError, match="one segment per sub-task"):
        Episode("x", "i", "bottle", episode.plan, episode.segments[:1])
    with pytest.raises(InputError, match="episode_id"):
        Episode("bad id!", "i", "bottle", episode.plan, episode.segments)
