"""Contact optimisation after sampling: grasp fitting, holding phases, the scene rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh
from scipy.spatial.transform import Rotation

from openhoi.data import HOISequence
from openhoi.errors import InputError
from openhoi.geometry import signed_distance_parts
from openhoi.hand import HandModel
from openhoi.objects import load_object
from openhoi.refine.contact_opt import ContactConfig, optimise_contacts
from openhoi.refine.grasp_fit import fit_grasp
from openhoi.refine.phases import HoldPhase, holding_phases
from openhoi.refine.scene import object_track, settle
from openhoi.synth.grasp import synthesize_grasp


@pytest.fixture(scope="module")
def hand():
    return HandModel(side="right")


@pytest.fixture(scope="module")
def cylinder(tmp_path_factory):
    path = tmp_path_factory.mktemp("mesh") / "tube.obj"
    trimesh.creation.cylinder(radius=0.035, height=0.16, sections=48).export(path)
    return load_object(path)


@pytest.fixture(scope="module")
def power_grasp(cylinder, hand):
    mask = np.ones(len(cylinder.points.points), np.float32)
    return synthesize_grasp(cylinder, hand, mask, grasp_type="power",
                            rng=np.random.default_rng(0))  # fmt: skip


def _zone_distances(obj, hand, pose, transl):
    verts = hand(torch.tensor(pose[None]).float(), torch.tensor(transl[None]).float()).vertices
    eye = [torch.eye(4)[None]] * len(obj.parts)
    sdf = signed_distance_parts(verts, obj.part_meshes(), eye).sdf[0]
    zones = {k: float(sdf[torch.as_tensor(ids)].min()) for k, ids in hand.contact_zones.items()}
    return zones, float(torch.relu(-sdf).max())


def test_open_hand_beside_a_cylinder_closes_onto_it(cylinder, hand, power_grasp):
    eye = [np.eye(4)] * len(cylinder.parts)
    zones, _ = _zone_distances(cylinder, hand, power_grasp.open_pose, power_grasp.transl)
    assert max(zones[f] for f in ("index", "middle", "ring", "pinky")) > 0.01  # open: far off
    fitted = fit_grasp(hand, cylinder.part_meshes(), eye, power_grasp.open_pose[None],
                       power_grasp.transl[None], power_grasp.betas)  # fmt: skip
    zones, depth = _zone_distances(cylinder, hand, fitted.pose, fitted.transl)
    for finger in ("index", "middle", "ring", "pinky", "thumb"):
        assert abs(zones[finger]) < 0.002, (finger, zones)
    assert depth < 0.0005
    assert set(fitted.touching) >= {"index", "middle", "ring", "pinky", "thumb"}


def test_a_box_pressed_into_the_palm_is_pushed_out(hand, tmp_path):
    from openhoi.hand.regions import vertex_normals

    path = tmp_path / "carton.obj"
    trimesh.creation.box(extents=(0.05, 0.05, 0.16)).export(path)
    box = load_object(path)
    mask = np.ones(len(box.points.points), np.float32)
    grasp = synthesize_grasp(box, hand, mask, grasp_type="power", rng=np.random.default_rng(0))
    # Move the hand along its palm normal until the palm is 5 mm inside the box.
    verts = hand(torch.tensor(grasp.pose[None]).float(), torch.tensor(grasp.transl[None]).float())
    verts = verts.vertices[0].double().numpy()
    palm_ids = hand.contact_zones["palm"]
    facing = vertex_normals(verts, hand.faces)[palm_ids].mean(axis=0)
    facing /= np.linalg.norm(facing)
    pressed = grasp.transl.copy()
    for _ in range(10):
        zones, depth = _zone_distances(box, hand, grasp.pose, pressed)
        pressed += (zones["palm"] + 0.005) * facing
    zones, depth = _zone_distances(box, hand, grasp.pose, pressed)
    assert zones["palm"] == pytest.approx(-0.005, abs=3e-4) and depth >= 0.005
    eye = [np.eye(4)] * len(box.parts)
    fitted = fit_grasp(hand, box.part_meshes(), eye, grasp.pose[None], pressed[None], grasp.betas)
    zones, depth = _zone_distances(box, hand, fitted.pose, fitted.transl)
    assert depth < 0.001
    assert abs(zones["palm"]) < 0.002  # pushed out onto the surface, not away from it
    assert len(fitted.touching) >= 3


def _carried_sequence(obj, hand, grasp, num=60, slide=0.02, start_height=0.05):
    """The object lifted 12 cm and turned while the hand slides along it (a bad sample)."""
    s = np.linspace(0.0, 1.0, num)
    rot = Rotation.from_rotvec(np.outer(s, [0.4, 0.0, 0.3])).as_matrix()
    obj_t = np.stack([0.3 * s, 0.1 * s, start_height + 0.12 * s], axis=1)
    wrist = hand.rest_joints()[0, 0].double().numpy()
    grip_orient = Rotation.from_rotvec(grasp.pose[0]).as_matrix()
    poses = np.repeat(grasp.pose[None], num, axis=0)
    transl = np.zeros((num, 3))
    for t in range(num):
        poses[t, 0] = Rotation.from_matrix(rot[t] @ grip_orient).as_rotvec()
        local = grasp.transl + wrist + np.array([0.0, 0.0, slide * s[t]])
        transl[t] = rot[t] @ local + obj_t[t] - wrist
    return HOISequence.from_parameters(
        right_pose=poses, right_transl=transl, object_rotation=rot, object_transl=obj_t,
        active_hands=np.tile([False, True], (num, 1)), object_name=str(obj.ref),
    )  # fmt: skip


def _in_hand(sequence, obj, hand, phase):
    wrist = sequence.wrist_transforms("right", hand)[phase.start : phase.end]
    body = sequence.object_transforms().astype(np.float64)[phase.start : phase.end]
    return np.linalg.inv(wrist) @ body


def test_a_carried_object_keeps_its_in_hand_transform(cylinder, hand, power_grasp):
    sequence = _carried_sequence(cylinder, hand, power_grasp)
    result = optimise_contacts(sequence, cylinder, {"right": hand},
                               subtasks=[("lift", "right", (0, sequence.num_frames))])  # fmt: skip
    (phase,) = result.phases
    assert (phase.start, phase.end, phase.kind) == (0, sequence.num_frames, "carry")
    relative = _in_hand(result.sequence, cylinder, hand, phase)
    drift = np.linalg.norm(relative[:, :3, 3] - relative[0, :3, 3], axis=1).max()
    turn = Rotation.from_matrix(relative[:, :3, :3] @ relative[0, :3, :3].T).magnitude().max()
    assert drift < 0.001 and turn < 1e-3
    before = _in_hand(sequence, cylinder, hand, phase)
    assert np.linalg.norm(before[:, :3, 3] - before[0, :3, 3], axis=1).max() > 0.015
    # It starts resting on the table (the sample had it 5 cm up) and still rises 12 cm.
    low = result.sequence.object_vertices(cylinder)[..., 2].min(axis=1)
    assert abs(low[0]) < 1e-4
    rise = np.diff(result.sequence.object_translation()[[0, -1], 2])[0]
    assert rise == pytest.approx(0.12, abs=1e-4)


def test_an_open_hand_carrying_a_cylinder_is_fitted_into_a_grip_that_holds_in_mujoco(
    cylinder, hand, power_grasp
):
    from dataclasses import replace

    from openhoi.refine.simulate import SimConfig, simulate_sequence

    opened = replace(power_grasp, pose=power_grasp.open_pose)
    sequence = _carried_sequence(cylinder, hand, opened, num=30, slide=0.0)
    subtasks = [("lift", "right", (0, 30))]
    config = SimConfig(frames_per_phase=1)
    before = simulate_sequence(sequence, cylinder, {"right": hand},
                               phases=holding_phases(sequence, cylinder, subtasks=subtasks),
                               config=config).summary()  # fmt: skip
    result = optimise_contacts(sequence, cylinder, {"right": hand}, subtasks=subtasks)
    (grasp,) = result.grasps
    assert grasp["after"]["imbalance"] < 0.5 and "thumb" in grasp["after"]["touching"]
    after = simulate_sequence(result.sequence, cylinder, {"right": hand}, phases=result.phases,
                              config=config).summary()  # fmt: skip
    assert before["hold_success"] == 0.0
    assert after["hold_success"] == 1.0 and after["tracking_success"] == 1.0
    assert after["slip_max_mm"] < 5.0


def test_a_place_lands_upright_on_the_table_and_stays(cylinder, hand, power_grasp):
    sequence = _carried_sequence(cylinder, hand, power_grasp, num=90)
    subtasks = [("lift", "right", (0, 40)), ("place", "right", (40, 90))]
    phases = holding_phases(sequence, cylinder, {"right": hand}, subtasks=subtasks)
    # The model's object never comes down: the place holds until 0.8 of its frames.
    assert [(p.start, p.end, p.kind) for p in phases] == [(0, 80, "carry")]
    out = optimise_contacts(sequence, cylinder, {"right": hand}, subtasks=subtasks,
                            config=ContactConfig(optimise=False)).sequence  # fmt: skip
    low = out.object_vertices(cylinder)[..., 2].min(axis=1)
    assert np.abs(low[79:]).max() < 1e-4 and low[40] > 0.04
    up = out.object_rotation()[79:, :, 2]
    assert np.allclose(up, [0.0, 0.0, 1.0], atol=1e-5)
    still = out.object_translation()[79:]
    assert np.abs(still - still[0]).max() < 1e-6


def test_an_untouched_object_rests_where_it_is(cylinder):
    num = 30
    drift = np.stack([np.linspace(0, 0.05, num), np.zeros(num), 0.1 + np.linspace(0, -0.2, num)], 1)
    tilt = Rotation.from_rotvec(np.outer(np.linspace(0, 1, num), [0.3, 0.0, 0.5])).as_matrix()
    sequence = HOISequence.from_parameters(object_rotation=tilt, object_transl=drift)
    track, _ = object_track(sequence, cylinder, [])
    assert np.abs(track - track[0]).max() < 1e-12
    assert np.allclose(track[0], settle(cylinder, sequence.object_transforms()[0], 0.0))
    verts = np.asarray(cylinder.vertices_at(0.0)) @ track[0, :3, :3].T + track[0, :3, 3]
    assert abs(verts[:, 2].min()) < 1e-9


def test_a_push_slides_on_the_table(cylinder):
    num = 40
    path = np.stack([np.linspace(0, 0.1, num), np.zeros(num), np.linspace(0, -0.03, num)], 1)
    turn = Rotation.from_rotvec(np.outer(np.linspace(0, 1, num), [0.4, 0.0, 0.6])).as_matrix()
    sequence = HOISequence.from_parameters(object_rotation=turn, object_transl=path)
    track, _ = object_track(sequence, cylinder, [HoldPhase(5, 35, ("right",), None, "push")])
    low = [
        (np.asarray(cylinder.vertices_at(0.0)) @ t[:3, :3].T + t[:3, 3])[:, 2].min() for t in track
    ]
    assert np.abs(low).max() < 1e-9  # never sinks, never lifts
    assert np.allclose(track[:, :3, :3][:, 2], [0.0, 0.0, 1.0])  # yaw only
    assert track[34, 0, 3] - track[5, 0, 3] == pytest.approx(path[34, 0] - path[5, 0])


def test_plan_phases_join_a_grasp_and_the_lift_after_it(cylinder, hand, power_grasp):
    sequence = _carried_sequence(cylinder, hand, power_grasp, num=100)
    subtasks = [("grasp", "right", (0, 40)), ("lift", "right", (55, 100))]
    (phase,) = holding_phases(sequence, cylinder, {"right": hand}, subtasks=subtasks)
    assert phase.end == 100 and phase.moves_from == 40 and phase.start <= 32
    with pytest.raises(InputError, match="outside"):
        holding_phases(sequence, cylinder, subtasks=[("lift", "right", (90, 120))])


def test_phases_are_detected_without_a_plan(cylinder, hand, power_grasp):
    sequence = _carried_sequence(cylinder, hand, power_grasp, slide=0.0)
    phases = holding_phases(sequence, cylinder, {"right": hand})
    assert len(phases) == 1 and phases[0].sides == ("right",)
    assert phases[0].end - phases[0].start >= 0.8 * sequence.num_frames


def test_hold_phase_checks_its_fields():
    with pytest.raises(InputError, match="start < end"):
        HoldPhase(5, 5, ("right",), None, "carry")
    with pytest.raises(InputError, match="kind"):
        HoldPhase(0, 5, ("right",), None, "juggle")
    with pytest.raises(InputError, match="moves_from"):
        HoldPhase(0, 5, ("right",), None, "carry", moves_from=9)


def test_the_simulator_chooses_the_grasp_that_holds(cylinder, hand, power_grasp):
    # The fit's first choice is the hand opened beside the cylinder, its alternative the
    # closed power grasp: the hold test keeps the alternative and says so.
    from openhoi.refine.contact_opt import _grasp_frame, _simulated_choice
    from openhoi.refine.grasp_fit import FittedGrasp

    sequence = _carried_sequence(cylinder, hand, power_grasp, num=20, slide=0.0)
    phases = holding_phases(sequence, cylinder, subtasks=[("lift", "right", (0, 20))])
    track, angles = object_track(sequence, cylinder, phases)
    wrist = hand.rest_joints()[0, 0].double().numpy()

    def as_grasp(pose):
        fitted = FittedGrasp(pose=pose, transl=power_grasp.transl, candidate=0,
                             penetration_mm=0.0, touching=(), energy=0.0)  # fmt: skip
        return _grasp_frame(fitted, wrist)

    opened, closed = as_grasp(power_grasp.open_pose), as_grasp(power_grasp.pose)
    reports = [{"phase": 0, "side": "right"}]
    chosen = _simulated_choice(sequence, cylinder, {"right": hand, "left": HandModel("left")},
                               track, angles, phases, {(0, "right"): opened},
                               {(0, "right"): [closed]}, reports, ContactConfig())  # fmt: skip
    assert chosen[(0, "right")] is closed
    choice = reports[0]["simulated_choice"]
    assert choice["tried"] == 2 and choice["chosen"] == 1
    assert choice["held_directions"][1] > choice["held_directions"][0]


def test_balanced_starts_offer_a_grip_near_the_centre_of_mass(hand, tmp_path):
    # A hammer: a 28 cm handle along x with a heavy head at x = +14 cm. The generated hand
    # holds the far end of the handle, where the head's weight twists the grip most.
    handle = trimesh.creation.cylinder(radius=0.015, height=0.28, sections=32)
    handle.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))
    head = trimesh.creation.box(extents=(0.04, 0.04, 0.1))
    head.apply_translation([0.14, 0.0, 0.0])
    path = tmp_path / "hammer.obj"
    trimesh.util.concatenate([handle, head]).export(path)
    hammer = load_object(path)
    points = np.asarray(hammer.points.points, np.float64)
    on_handle = points[:, 0] < 0.11
    # An open hand, palm (facing -y at rest) 3 cm above the handle's far end.
    palm = torch.as_tensor(hand.contact_zones["palm"])
    flat = torch.zeros(1, 16, 3)
    palm_rest = hand(flat, torch.zeros(1, 3)).vertices[0, palm].mean(dim=0).double().numpy()
    transl = np.array([-0.11, 0.045, 0.0]) - palm_rest
    eye = [np.eye(4)]
    centre_x = float(head.volume * 0.14 / (head.volume + handle.volume))  # about 6 cm

    def grips_x(balanced):
        from openhoi.refine.grasp_fit import GraspFitConfig

        fitted = fit_grasp(hand, hammer.part_meshes(), eye, np.zeros((1, 16, 3)), transl[None],
                           np.zeros(10), region=points[on_handle],
                           config=GraspFitConfig(balanced_starts=balanced, steps=60))  # fmt: skip
        xs = []
        for grasp in (fitted, *fitted.alternatives):
            verts = hand(torch.tensor(grasp.pose[None]).float(),
                         torch.tensor(grasp.transl[None]).float()).vertices[0]  # fmt: skip
            xs.append(float(verts[palm, 0].mean()))
        return np.array(xs)

    plain, balanced = grips_x(False), grips_x(True)
    assert np.abs(plain - centre_x).min() > 0.06  # every grip stays at the far end
    assert np.abs(balanced - centre_x).min() < 0.03  # one grips next to the centre of mass
