"""Best-of-K candidate score: a resting grip beats a sunk hand and a far hand.

The built-in box (base + lid, top face at z = 0.09 m) and the embedded right hand, palm
down and tipped 0.2 rad about y so the index, middle and ring pads lie level on the lid
while the thumb hangs beside the -y side face (found by a small search; 4 zones touch).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from openhoi import HOISequence
from openhoi.errors import InputError
from openhoi.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from openhoi.hand import HandModel
from openhoi.motion import MotionCondition
from openhoi.motion.segments import CandidateChoice, SegmentRequest
from openhoi.objects import load_object
from openhoi.refine.candidates import CandidateScoreConfig, CandidateScorer, make_chooser

NUM_FRAMES = 12
TILT_Y_RAD = -0.2
EDGE_OFFSET_M = -0.025  # hand origin 4.5 cm inside the -y side face (y = -0.07 m)


@pytest.fixture(scope="module")
def box():
    return load_object("box")


@pytest.fixture(scope="module")
def right_hand():
    return HandModel("right")


def _grip(box, hand: HandModel, finger_gap_m: float) -> HOISequence:
    """Fingers' lowest pad `finger_gap_m` above the lid (negative: sunk into it)."""
    tilt = axis_angle_to_matrix(torch.tensor([0.0, TILT_Y_RAD, 0.0]))
    palm_down = axis_angle_to_matrix(torch.tensor([np.pi / 2, 0.0, 0.0]))
    pose = torch.zeros(1, 16, 3)
    pose[0, 0] = matrix_to_axis_angle(tilt @ palm_down)
    verts = hand(pose, torch.zeros(1, 3)).vertices[0].numpy()
    pads = np.concatenate([ids for name, ids in hand.contact_zones.items() if name != "thumb"])
    top, near_side = float(box.mesh.bounds[1, 2]), float(box.mesh.bounds[0, 1])
    transl = np.array(
        [0.0, near_side + 0.07 + EDGE_OFFSET_M, top + finger_gap_m - verts[pads, 2].min()]
    )
    return HOISequence.from_parameters(
        right_pose=np.repeat(pose.numpy(), NUM_FRAMES, axis=0),
        right_transl=np.tile(transl, (NUM_FRAMES, 1)),
        num_frames=NUM_FRAMES,
    )


def _lid_mask(box) -> np.ndarray:
    """The condition points on the lid's top face."""
    points = np.asarray(box.points.points)
    return (points[:, 2] > box.mesh.bounds[1, 2] - 0.005).astype(np.float32)


def test_score_prefers_a_resting_grip_over_a_sunk_and_a_far_hand(box, right_hand):
    far, sunk, grip = (_grip(box, right_hand, gap) for gap in (0.2, -0.006, 0.001))
    scores = CandidateScorer(box, {"right": right_hand})([far, sunk, grip], _lid_mask(box))
    assert scores.score.shape == (3,)
    # The far hand touches nothing: every term is 0.
    assert scores.terms(0) == {
        "score": 0.0,
        "penetration_mm": 0.0,
        "affordance_contact": 0.0,
        "holding_ratio": 0.0,
    }
    # The sunk hand holds the lid but is inside it (the 1 cm lid caps the depth at ~5 mm);
    # the grip holds it from outside.
    assert scores.penetration_mm[1] > 3.0 and scores.holding_ratio[1] == 1.0
    assert scores.penetration_mm[2] == 0.0
    assert scores.holding_ratio[2] == 1.0 and scores.affordance_contact[2] == 1.0
    assert int(np.argmax(scores.score)) == 2
    assert scores.score[2] == pytest.approx(2.0)
    assert scores.score[1] == pytest.approx(2.0 - 0.2 * scores.penetration_mm[1])


def test_affordance_term_needs_contact_on_the_region(box, right_hand):
    grip = _grip(box, right_hand, 0.001)
    points = np.asarray(box.points.points)
    bottom = (points[:, 2] < 0.005).astype(np.float32)
    scorer = CandidateScorer(box, {"right": right_hand})
    on_lid, on_bottom = scorer([grip], _lid_mask(box)), scorer([grip], bottom)
    assert on_lid.affordance_contact[0] == 1.0 and on_bottom.affordance_contact[0] == 0.0
    assert on_lid.score[0] - on_bottom.score[0] == pytest.approx(1.0)


def test_weights_and_strides_follow_the_config(box, right_hand):
    sunk = _grip(box, right_hand, -0.006)
    config = CandidateScoreConfig(
        affordance_weight=0.0, holding_weight=0.0, frame_stride=5, vertex_stride=1
    )
    scores = CandidateScorer(box, {"right": right_hand}, config)([sunk], _lid_mask(box))
    assert scores.score[0] == pytest.approx(-0.2 * scores.penetration_mm[0])
    with pytest.raises(InputError, match="frame_stride must be 1..30, got 0"):
        CandidateScoreConfig(frame_stride=0)
    with pytest.raises(InputError, match="holding_weight"):
        CandidateScoreConfig(holding_weight=-1.0)
    with pytest.raises(InputError, match="equal lengths"):
        CandidateScorer(box, {"right": right_hand})([sunk, sunk[:4]], _lid_mask(box))


def test_chooser_keeps_the_best_candidate_with_its_scores(box, right_hand):
    hands = {"left": HandModel("left"), "right": right_hand}
    candidates = [_grip(box, right_hand, gap) for gap in (0.2, -0.006, 0.001)]
    condition = MotionCondition(box, _lid_mask(box), "press the lid", "right")
    request = SegmentRequest("k", condition, NUM_FRAMES, seed=0, num_candidates=3)
    choose = make_chooser(hands)
    choice = choose(request, candidates)
    assert isinstance(choice, CandidateChoice)
    assert choice.index == 2 and len(choice.scores) == 3 and len(choice.terms) == 3
    assert choice.scores[2] == max(choice.scores)
    assert choice.to_dict()["terms"][2]["holding_ratio"] == 1.0
    # Ties (all far away) keep candidate 0, the K = 1 sample.
    far = candidates[0]
    assert choose(request, [far, far]).index == 0
