"""The cached SynthHOI test set: the recorded run's test episodes, generated once, atomically."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openhoi.data import load_episodes
from openhoi.errors import InputError
from openhoi.synth import eval_split, generator
from openhoi.synth.eval_split import MANIFEST_FILE, EvalSplitSpec, eval_split_folder


@pytest.fixture(autouse=True)
def _fixed_data_version(monkeypatch):
    # The real key hashes the package's code, which may change under a running test in a
    # shared checkout; the reuse logic is what is tested here.
    monkeypatch.setattr(eval_split, "data_version", lambda: "test")


def _no_generation(*args, **kwargs):
    raise AssertionError("the cached folder should have been reused")


def _arrays(folder):
    out = {}
    for episode in load_episodes(folder):
        for k, segment in enumerate(episode.segments):
            out[f"{episode.episode_id}/{k}"] = np.asarray(segment.frames)
        out[f"{episode.episode_id}/text"] = episode.instruction
    return out


def test_first_use_generates_then_reuses_and_the_seed_fixes_the_content(tmp_path, monkeypatch):
    spec = EvalSplitSpec()  # the unseen objects of the recorded outputs/synthhoi-default
    first = eval_split_folder(spec, 1, cache_dir=tmp_path / "a")
    manifest = json.loads((first / MANIFEST_FILE).read_text())
    # The first index of the recorded run that draws a held-out object, same id.
    unseen = [
        i for i in range(10) if generator.episode_split(0, i, spec.objects) == "test_unseen_objects"
    ]
    expected = unseen[0]
    assert manifest["episode_ids"] == [generator.episode_id(expected)]
    assert manifest["seed"] == 0 and manifest["num_episodes"] == 1500
    splits = json.loads((first / "splits.json").read_text())["splits"]
    assert splits["test_unseen_objects"] == splits["test"] == manifest["episode_ids"]
    assert splits["test_held_out_phrasing"] == []
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".tmp")]

    # Second use: the same folder, nothing generated.
    real = generator.generate_episode
    monkeypatch.setattr(generator, "generate_episode", _no_generation)
    assert eval_split_folder(spec, 1, cache_dir=tmp_path / "a") == first
    monkeypatch.setattr(generator, "generate_episode", real)

    # Same seed in another cache: identical episodes.
    second = eval_split_folder(spec, 1, cache_dir=tmp_path / "b")
    mine, theirs = _arrays(first), _arrays(second)
    assert mine.keys() == theirs.keys()
    for key, value in mine.items():
        assert np.array_equal(value, theirs[key]), key


def test_a_larger_request_extends_the_cached_prefix(tmp_path, monkeypatch):
    spec = EvalSplitSpec()
    one = eval_split_folder(spec, 1, cache_dir=tmp_path)
    made = []
    real = generator.generate_episode

    def counted(seed, index, *args, **kwargs):
        made.append(index)
        return real(seed, index, *args, **kwargs)

    monkeypatch.setattr(generator, "generate_episode", counted)
    two = eval_split_folder(spec, 2, cache_dir=tmp_path)
    ids = json.loads((two / MANIFEST_FILE).read_text())["episode_ids"]
    before = json.loads((one / MANIFEST_FILE).read_text())["episode_ids"]
    assert len(ids) == 2 and ids[:1] == before
    assert made == [int(ids[1].rsplit("-", 1)[1])]  # only the new episode was generated
    assert [e.episode_id for e in load_episodes(two)] == ids
    # A smaller request is served by a folder that holds at least as many.
    monkeypatch.setattr(generator, "generate_episode", _no_generation)
    assert eval_split_folder(spec, 1, cache_dir=tmp_path) in (one, two)


def test_an_interrupted_first_use_leaves_no_cache(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(generator, "generate_episode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        eval_split_folder(EvalSplitSpec(), 1, cache_dir=tmp_path)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []


def test_the_key_names_what_determines_the_content():
    base = EvalSplitSpec()
    keys = {
        base.key(),
        EvalSplitSpec(seed=1).key(),
        EvalSplitSpec(num_episodes=100).key(),
        EvalSplitSpec(objects=base.objects[:-1]).key(),
    }
    assert len(keys) == 4 and all("vtest" in key for key in keys)
    with pytest.raises(InputError, match="test_set"):
        EvalSplitSpec(test_set="train")
    with pytest.raises(InputError, match="teleporter"):
        EvalSplitSpec(objects=("mug", "teleporter"))
    with pytest.raises(InputError, match="limit"):
        eval_split_folder(base, 0)
