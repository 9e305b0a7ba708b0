"""The grasp solver's hand frame: its palm normal points out of the palm for every hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from openhoi.hand import HandModel
from openhoi.hand.regions import vertex_normals
from openhoi.synth.grasp import _HandFrame


@pytest.mark.parametrize("asset", ["embedded:v1", "embedded:v2"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_the_palm_normal_points_out_of_the_palm(asset, side):
    hand = HandModel(side=side, mano_dir=asset)
    frame = _HandFrame(hand, torch.zeros(10))
    rest = hand(torch.zeros(1, 16, 3), torch.zeros(1, 3)).vertices[0].double().numpy()
    palm = vertex_normals(rest, hand.faces)[hand.contact_zones["palm"]].mean(axis=0)
    palm /= np.linalg.norm(palm)
    # v2's curled fingers and abducted thumb pulled the old centroid rule 71° off (cos 0.32).
    assert frame.palm @ palm > 0.9
    assert abs(frame.palm @ frame.finger) < 1e-9
