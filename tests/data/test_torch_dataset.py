"""SegmentDataset: shapes, masks and the normalisation round trip."""

import numpy as np
import torch

from openhoi.data.torch_dataset import (
    NormalisationStats,
    SegmentDataset,
    collate_segments,
)
from openhoi.synth import synthesize_dataset


def test_loader_shapes_and_round_trip(tmp_path):
    synthesize_dataset(tmp_path, 2, seed=1, objects=["cup"], progress=False)
    dataset = SegmentDataset(tmp_path, split="all", max_frames=150)
    assert len(dataset) >= 2
    assert (tmp_path / "stats.json").is_file()
    batch = collate_segments([dataset[0], dataset[1]])
    longest = int(batch.num_frames.max())
    assert batch.frames.shape == (2, longest, 208)
    assert batch.frame_mask.dtype == torch.bool
    assert batch.frame_mask.sum(dim=1).tolist() == batch.num_frames.tolist()
    assert batch.object_points.shape == (2, 1024, 6)
    assert batch.affordance.shape == (2, 1024)
    assert batch.active_hands.shape == (2, 2)
    assert len(batch.texts) == 2 and all(batch.texts)
    stats = NormalisationStats.load(tmp_path / "stats.json")
    raw = np.random.default_rng(0).normal(size=(5, 208)).astype(np.float32)
    np.testing.assert_allclose(stats.denormalise(stats.normalise(raw)), raw, atol=1e-5)
    tensor = torch.from_numpy(raw)
    torch.testing.assert_close(stats.denormalise(stats.normalise(tensor)), tensor)
    stats.save(tmp_path / "copy.json")
    again = NormalisationStats.load(tmp_path / "copy.json")
    np.testing.assert_array_equal(again.mean, stats.mean)
