"""Tests run torch on one thread: their tensors are small, and on a busy 2-core box the
thread pool's spin-waiting made tiny models ~50x slower than one thread."""

from __future__ import annotations

import json

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def synth_folder(tmp_path_factory):
    """Two SynthHOI episodes on the cup, both listed as the unseen-object test split (shared
    by the benchmark and split-run tests; module scope: one folder per test module)."""
    from openhoi.data import load_episodes
    from openhoi.synth import synthesize_dataset

    folder = tmp_path_factory.mktemp("synth")
    synthesize_dataset(folder, 2, seed=1, objects=["cup"], progress=False)
    ids = sorted(e.episode_id for e in load_episodes(folder))
    splits = {"train": ids, "val": [], "test": ids, "test_unseen_objects": ids,
              "test_held_out_phrasing": []}  # fmt: skip
    (folder / "splits.json").write_text(json.dumps({"splits": splits}))
    return folder
