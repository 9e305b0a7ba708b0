"""The MuJoCo simulator check: known answers on a can held by a synthesised power grasp."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from openhoi import HOISequence
from openhoi.errors import InputError
from openhoi.hand import HandModel
from openhoi.objects import load_object
from openhoi.refine.phases import HoldPhase
from openhoi.refine.sim_model import convex_decomposition, hand_joint_frames
from openhoi.refine.simulate import GRAVITY_DIRECTIONS, SimConfig, hold_test, simulate_sequence

LIFT = np.array([0.0, 0.0, 0.3])  # hold tests run in the air, away from any table
CARRY = [HoldPhase(0, 2, ("right",), None, "carry")]


@pytest.fixture(scope="module")
def can():
    return load_object("can")  # a 6.6 cm x 12.2 cm cylinder (and its pull tab)


@pytest.fixture(scope="module")
def hands():
    return {side: HandModel(side) for side in ("left", "right")}


@pytest.fixture(scope="module")
def grasp(can, hands):
    from openhoi.synth.grasp import synthesize_grasp

    mask = np.asarray(can.affordance_mask("wrap-grasp"), np.float32)
    # Seed 3 puts the fingers and the thumb on opposite sides of the can. Not every power
    # grasp SynthHOI makes does: seeds 0, 1 and 4 touch one side only, and a hand frozen
    # in such a pose cannot hold the can against every gravity direction.
    return synthesize_grasp(
        can, hands["right"], mask, grasp_type="power", rng=np.random.default_rng(3), floor_z=None
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return SimConfig(frames_per_phase=1, cache_dir=str(tmp_path_factory.mktemp("cache")))


def _static(grasp, pose, hand_offset=np.zeros(3), num_frames=2) -> HOISequence:
    """The grasp held still in the air for `num_frames` frames."""
    return HOISequence.from_parameters(
        right_pose=np.tile(pose, (num_frames, 1, 1)),
        right_transl=np.tile(grasp.transl + LIFT + hand_offset, (num_frames, 1)),
        object_transl=np.tile(LIFT, (num_frames, 1)),
        betas=np.stack([np.zeros(10), grasp.betas]),
        active_hands=np.tile([False, True], (num_frames, 1)),
        object_name="can",
    )


def _lift(grasp, hands, num_frames=60, height=0.15, tilt_deg=20.0) -> HOISequence:
    """Hand and can rise together from the table and tilt about the wrist: the object's pose
    is the hand's motion composed with the fixed grasp transform."""
    wrist_rest = hands["right"].rest_joints(torch.as_tensor(grasp.betas[None]).float())[0, 0]
    pivot = grasp.transl + wrist_rest.numpy()  # the wrist in the world at frame 0
    s = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, num_frames))  # smooth 0 → 1
    turn = Rotation.from_rotvec(np.radians(tilt_deg) * s[:, None] * [1.0, 0.0, 0.0]).as_matrix()
    shift = height * s[:, None] * [0.0, 0.0, 1.0]
    orient = Rotation.from_rotvec(grasp.pose[0]).as_matrix()
    pose = np.tile(grasp.pose, (num_frames, 1, 1))
    pose[:, 0] = Rotation.from_matrix(turn @ orient).as_rotvec()
    return HOISequence.from_parameters(
        right_pose=pose,
        right_transl=pivot + shift - wrist_rest.numpy(),
        object_rotation=turn,
        object_transl=np.einsum("fij,j->fi", turn, -pivot) + pivot + shift,
        betas=np.stack([np.zeros(10), grasp.betas]),
        active_hands=np.tile([False, True], (num_frames, 1)),
        object_name="can",
    )


def test_a_wrapped_can_holds_in_all_six_directions(can, hands, grasp, config):
    report = simulate_sequence(_static(grasp, grasp.pose), can, hands, phases=CARRY, config=config)
    (phase,) = report.phases
    (frame,) = phase.hold
    assert frame.held == (True,) * len(GRAVITY_DIRECTIONS), frame.displacement_mm
    assert max(frame.displacement_mm) < 1000 * config.hold_threshold_m
    assert report.summary()["hold_success"] == 1.0
    # The grasp's skin is within 1 mm of the can, and so are its convex pieces.
    assert 0.0 <= phase.initial_penetration_max_mm < 1.0
    assert report.summary()["initial_penetration_max_mm"] == phase.initial_penetration_max_mm
    # Deterministic: the same inputs give the same report.
    again = simulate_sequence(_static(grasp, grasp.pose), can, hands, phases=CARRY, config=config)
    assert again.to_dict() == report.to_dict()


@pytest.mark.parametrize("hand", ["fingers open", "3 cm away"])
def test_an_open_hand_drops_the_can(can, hands, grasp, config, hand):
    if hand == "fingers open":
        sequence = _static(grasp, grasp.open_pose)
    else:  # the closed hand backed off along the direction it arrived from
        sequence = _static(grasp, grasp.pose, hand_offset=0.03 * np.asarray(grasp.normal))
    report = simulate_sequence(sequence, can, hands, phases=CARRY, config=config)
    (frame,) = report.phases[0].hold
    assert not frame.success
    assert sum(frame.held) <= 2, frame.displacement_mm
    assert report.summary()["hold_success"] == 0.0


def test_a_carried_can_follows_the_lift(can, hands, grasp, config):
    sequence = _lift(grasp, hands)
    phases = [HoldPhase(0, sequence.num_frames, ("right",), None, "carry")]
    report = simulate_sequence(sequence, can, hands, phases=phases, config=config)
    (phase,) = report.phases
    assert phase.tracking_success, phase.max_deviation_mm
    assert phase.max_deviation_mm < 20.0
    assert phase.slip_mm < 5.0
    summary = report.summary()
    assert summary["tracking_success"] == 1.0 and summary["slip_max_mm"] == phase.slip_mm


def test_a_teleporting_object_fails_tracking(can, hands, grasp, config):
    lifted = _lift(grasp, hands, num_frames=40)
    frames = np.array(lifted.frames)
    frames[20:, 198:201] += [0.10, 0.0, 0.0]  # the object jumps 10 cm away from the hand
    sequence = lifted.replace(frames=frames)
    phases = [HoldPhase(0, 40, ("right",), None, "carry")]
    (phase,) = simulate_sequence(sequence, can, hands, phases=phases, config=config).phases
    assert not phase.tracking_success
    assert phase.max_deviation_mm > 50.0


def test_hand_pieces_follow_their_joints(hands, grasp):
    """A vertex skinned to one joint only moves rigidly with that joint's frame."""
    hand = hands["right"]
    weights = hand.mano.lbs_weights.numpy()
    rigid = np.flatnonzero(weights.max(axis=1) > 0.999)
    joint = weights[rigid].argmax(axis=1)
    rest = np.zeros((1, 16, 3))
    sequence = _static(grasp, grasp.pose, num_frames=1)
    posed = sequence.hand_vertices("right", hand)[0]
    flat = HOISequence.from_parameters(right_pose=rest, betas=sequence.betas)
    flat_vertices = flat.hand_vertices("right", hand)[0]
    frames = hand_joint_frames(
        hand, sequence.hand_pose_6d("right"), sequence.hand_translation("right"), grasp.betas
    )[0]
    flat_frames = hand_joint_frames(
        hand, flat.hand_pose_6d("right"), flat.hand_translation("right"), grasp.betas
    )[0]
    local_posed = np.einsum(
        "vji,vj->vi", frames[joint, :3, :3], posed[rigid] - frames[joint, :3, 3]
    )
    local_flat = np.einsum(
        "vji,vj->vi", flat_frames[joint, :3, :3], flat_vertices[rigid] - flat_frames[joint, :3, 3]
    )
    # Pose blend shapes move skin by a few mm; the rigid part of the motion is exact.
    assert len(rigid) > 100
    assert np.abs(local_posed - local_flat).max() < 0.005


def test_convex_decomposition_is_cached(tmp_path, monkeypatch):
    import coacd

    bottle = load_object("bottle")
    body = bottle.part_meshes()[bottle.part_index("body")]
    assert not body.is_convex  # the neck narrows: CoACD runs
    first = convex_decomposition(body, threshold=0.05, cache_dir=tmp_path)
    files = list((tmp_path / "convex").glob("*.npz"))
    assert len(files) == 1 and not list((tmp_path / "convex").glob("*.tmp"))

    def no_coacd(*args, **kwargs):
        raise AssertionError("the cached decomposition was not used")

    monkeypatch.setattr(coacd, "run_coacd", no_coacd)
    second = convex_decomposition(body, threshold=0.05, cache_dir=tmp_path)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a.vertices, b.vertices) and np.array_equal(a.faces, b.faces)
    with pytest.raises(AssertionError, match="cached"):  # other settings, other key
        convex_decomposition(body, threshold=0.1, cache_dir=tmp_path)
    # A convex part is its own single piece and needs no cache entry.
    cap = bottle.part_meshes()[bottle.part_index("cap")]
    assert len(convex_decomposition(cap, threshold=0.05, cache_dir=tmp_path)) == 1
    assert len(list((tmp_path / "convex").glob("*.npz"))) == 1


def test_bottle_collision_pieces_stay_on_its_surface(tmp_path):
    """Regression: at the old CoACD threshold (0.05) the bottle body was one hull whose
    shoulder stood 4.05 mm proud of the mesh, so a hand touching the shoulder started
    inside the collision shape and was kicked off; the default keeps every piece within
    1 mm of the real surface."""
    from openhoi.geometry import signed_distance
    from openhoi.refine.sim_model import object_pieces

    bottle = load_object("bottle")
    pieces = object_pieces(bottle, threshold=SimConfig().coacd_threshold, cache_dir=tmp_path)
    rng = np.random.default_rng(0)
    for (name, part), mesh in zip(pieces.items(), bottle.part_meshes(), strict=True):
        for piece in part:
            # Points on the piece's hull faces (vertices alone lie on the mesh by design).
            tri = piece.vertices[piece.faces]
            weights = rng.dirichlet(np.ones(3), size=(len(tri), 8))
            points = np.einsum("fsk,fkd->fsd", weights, tri).reshape(-1, 3)
            sdf = signed_distance(torch.as_tensor(points)[None], mesh).sdf[0]
            assert float(sdf.max()) < 0.001, (name, float(sdf.max()))


def test_only_carry_phases_of_the_whole_object_are_tested(can, hands, grasp, config):
    phases = [
        HoldPhase(0, 2, ("right",), None, "push"),
        HoldPhase(0, 2, ("right",), "tab", "articulate"),
    ]
    report = simulate_sequence(_static(grasp, grasp.pose), can, hands, phases=phases, config=config)
    assert [p.is_tested for p in report.phases] == [False, False]
    assert all(p.reason and p.hold == () and p.slip_mm is None for p in report.phases)
    assert report.summary() == {
        "hold_success": None,
        "tracking_success": None,
        "slip_mean_mm": None,
        "slip_max_mm": None,
        "initial_penetration_max_mm": None,
        "tested_phases": 0,
        "untested_phases": 2,
    }
    json.dumps(report.to_dict())


def test_a_phase_outside_the_sequence_is_refused(can, hands, grasp, config):
    with pytest.raises(InputError, match="outside"):
        simulate_sequence(
            _static(grasp, grasp.pose),
            can,
            hands,
            phases=[HoldPhase(0, 5, ("right",), None, "carry")],
            config=config,
        )


def test_hold_test_judges_the_frames_it_is_given(can, hands, grasp, config):
    # Frame 0 wraps the can, frame 1 is the same hand opened: one holds, the other drops.
    sequence = _static(grasp, grasp.pose)
    frames = sequence.frames.copy()
    frames[1] = _static(grasp, grasp.open_pose).frames[1]
    sequence = sequence.replace(frames=frames)
    wrapped, opened = hold_test(sequence, can, ["right"], [0, 1], hands, config=config)
    assert (wrapped.frame, opened.frame) == (0, 1)
    assert wrapped.success and not opened.success
    report = simulate_sequence(sequence, can, hands, phases=CARRY, config=config)
    assert wrapped == report.phases[0].hold[0]  # the same test simulate_sequence runs
    with pytest.raises(InputError, match="outside"):
        hold_test(sequence, can, ["right"], [2], hands, config=config)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("frames_per_phase", 0, "frames_per_phase"),
        ("hold_threshold_m", -0.02, "hold_threshold_m"),
        ("hold_duration_s", float("nan"), "hold_duration_s"),
        ("friction", 0.0, "friction"),
        ("squeeze_m", 0.05, "squeeze_m"),
        ("condim", 2, "condim"),
        ("timestep_s", 0.05, "timestep_s"),
        ("solref_timeconst_s", 0.001, "solref_timeconst_s"),
        ("solimp", (0.99, 0.9, 0.001), "solimp"),
        ("coacd_threshold", 0.0, "coacd_threshold"),
    ],
)
def test_bad_config_values_are_refused(field, value, needle):
    with pytest.raises(InputError, match=needle):
        SimConfig(**{field: value})


def test_check_writes_check_json_for_a_run_folder(tmp_path, hands, grasp, capsys):
    from openhoi.cli import main

    _lift(grasp, hands, num_frames=30).save(tmp_path / "sequence.npz")
    plan = {"subtasks": [{"primitive": "lift", "hands": "right", "frames": [0, 30]}]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    with pytest.raises(SystemExit) as exit_info:
        main(["check", str(tmp_path), "--frames-per-phase", "1"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "tracking_success" in printed and "check.json" in printed
    written = json.loads((tmp_path / "check.json").read_text())
    assert written["phases_from"] == "plan.json"
    assert written["summary"]["tested_phases"] == 1
    assert written["summary"]["tracking_success"] == 1.0
    assert [p["start"] for p in written["phases"]] == [0]
    assert written["config"]["frames_per_phase"] == 1


def test_check_on_a_missing_folder_is_one_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "openhoi.cli", "check", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "nowhere" in result.stderr and "does not exist" in result.stderr
