"""Generator: determinism, quality gate, primitives, resume, splits."""

import json

import numpy as np
import pytest

from openhoi.data import load_episodes, read_index
from openhoi.errors import InputError
from openhoi.objects import load_object
from openhoi.synth import generator
from openhoi.synth.generator import _RESOURCES, generate_episode, synthesize_dataset
from openhoi.synth.quality import check_segment
from openhoi.synth.tasks import make_task


def _episode(name, kind, index=1, seed=0):
    obj = load_object(name)
    task = make_task(obj, kind, "right", np.random.default_rng(index))
    return generate_episode(seed, index, (name,), task=task)


@pytest.fixture(scope="module")
def cup_episode():
    episode = _episode("cup", "relocate")
    assert episode is not None
    return episode


def test_same_seed_gives_identical_arrays(cup_episode):
    again = _episode("cup", "relocate")
    for a, b in zip(cup_episode.segments, again.segments, strict=True):
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.betas, b.betas)


def test_segments_are_canonical_and_pass_the_gate(cup_episode):
    obj = load_object(cup_episode.object)  # "cup" or "cup@<scale>"
    ratio = obj.size[2] / load_object("cup").size[2]
    assert obj.name.split("@")[0] == "cup" and cup_episode.metadata["scale"] == pytest.approx(ratio)
    hands = _RESOURCES.hands()
    for segment, ann, step in zip(
        cup_episode.segments, cup_episode.annotations, cup_episode.plan, strict=True
    ):
        assert segment.num_frames <= 150
        assert segment.texts == (step.text,)
        np.testing.assert_allclose(segment.object_translation()[0, :2], 0.0, atol=1e-5)
        x_axis = segment.object_rotation()[0][:, 0]
        assert abs(np.arctan2(x_axis[1], x_axis[0])) < 1e-4
        assert check_segment(segment, obj, ann["held"], hands).passed


def test_broken_segments_are_rejected(cup_episode):
    obj = load_object(cup_episode.object)
    hands = _RESOURCES.hands()
    segment = cup_episode.segments[1]  # lift: held throughout
    held = cup_episode.annotations[1]["held"]
    # Sink the holding hand 1 cm below the table in every frame.
    frames = np.array(segment.frames)
    side = 0 if held[:, 0].any() else 1
    name = ("left", "right")[side]
    lowest = segment.hand_vertices(name, hands[name])[..., 2].min(axis=1)
    frames[:, side * 99 + 2] -= lowest + 0.01
    broken = segment.replace(frames=frames)
    report = check_segment(broken, obj, held, hands)
    assert not report.passed
    # A floating object that nobody holds.
    grasp = cup_episode.segments[0]
    frames = np.array(grasp.frames)
    frames[:, -10 + 2] += 0.05
    report = check_segment(
        grasp.replace(frames=frames),
        obj,
        np.zeros_like(held[:1]).repeat(grasp.num_frames, 0),
        hands,
    )
    assert "object_rest" in report.reasons


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("toothbrush", "slide"),  # push: a fingertip from above slides a thin object
        ("phone", "press"),
        ("pitcher", "pour"),  # carried by its loop handle, not wrapped round the body
    ],
)
def test_cheap_primitive_builds_a_passing_segment(name, kind):
    episode = _episode(name, kind)
    assert episode is not None, f"{kind} on {name} never passed the gate"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("cup", "pour"),  # grasp lift pour place
        ("cup", "drink"),
        ("hammer", "inspect"),  # rotate
        ("knife", "cut"),
        ("toothbrush", "shake"),
        ("box", "open_close"),  # open close (grasped where the lid ends: closed)
        ("book", "open_close"),
        ("laptop", "open_use"),  # open press close
        ("bowl", "pour"),
        ("phone", "inspect"),  # thin object on the table: grasped from above
        ("spatula", "slide"),  # push
    ],
)
def test_primitive_builds_a_passing_segment(name, kind):
    episode = _episode(name, kind)
    assert episode is not None, f"{kind} on {name} never passed the gate"


@pytest.mark.slow
def test_handover_builds_a_passing_segment():
    # Handover passes on some draws only (index 0 here; index 1 does not), see the notes.
    episode = _episode("bottle", "handover", index=0)
    assert episode is not None, "handover on bottle never passed the gate"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["twist_open", "twist_close"])
def test_twist_builds_a_passing_segment(kind):
    episode = _episode("jar", kind)
    assert episode is not None, f"{kind} on jar never passed the gate"


def test_thin_object_grasp_comes_from_above():
    from openhoi.synth.grasp import synthesize_grasp

    obj = load_object("phone")
    hand = _RESOURCES.hands()["right"]
    mask = np.asarray(obj.affordance_mask("grasp"), np.float32).copy()
    mask[np.asarray(obj.points.part_ids) != obj.part_index("body")] = 0.0
    grasp = synthesize_grasp(
        obj, hand, mask, grasp_type="pinch", rng=np.random.default_rng(0), floor_z=0.0
    )
    assert grasp.normal[2] > 0.99  # approached from above: the sides are too low
    assert grasp.penetration_m <= 0.0015
    assert grasp.touches_affordance


def _lateral(name, region_part, affordance, seed=0, side="right"):
    from openhoi.synth.grasp import synthesize_grasp

    obj = load_object(name)
    hand = _RESOURCES.hands()[side]
    mask = np.asarray(obj.affordance_mask(affordance), np.float32).copy()
    mask[np.asarray(obj.points.part_ids) != obj.part_index(region_part)] = 0.0
    grasp = synthesize_grasp(
        obj, hand, mask, grasp_type="lateral", rng=np.random.default_rng(seed), floor_z=0.0
    )
    return obj, hand, grasp


@pytest.mark.parametrize(
    ("name", "part", "affordance", "side"),
    [("headphones", "band", "lift", "right"), ("mug", "handle", "grasp", "left")],
)
def test_lateral_grasp_squeezes_the_part_between_thumb_and_index(name, part, affordance, side):
    import torch

    from openhoi.synth.grasp import _HandFrame, _ObjectDistance

    obj, hand, grasp = _lateral(name, part, affordance, side=side)
    assert {"thumb", "index_side"} <= set(grasp.touching)
    assert grasp.penetration_m <= 0.0015 and grasp.touches_affordance
    # The part lies between the two: the segment from the thumb's closest vertex to the
    # index side's closest vertex passes through it.
    verts = hand(
        torch.from_numpy(grasp.pose)[None],
        torch.from_numpy(grasp.transl)[None],
        torch.from_numpy(grasp.betas)[None],
    ).vertices[0]
    distance = _ObjectDistance(obj, 0.0)
    sdf = distance(verts)
    frame = _HandFrame(hand, torch.from_numpy(grasp.betas))
    thumb = verts[frame.zones["thumb"][int(sdf[frame.zones["thumb"]].argmin())]]
    index = verts[frame.index_side[int(sdf[frame.index_side].argmin())]]
    between = thumb[None] + torch.linspace(0.1, 0.9, 9)[:, None] * (index - thumb)[None]
    assert float(distance(between).min()) < 0.0
    # The hand arrives along the part: its approach direction is tangent to the surface
    # at the target, not along the surface normal as in the other grasp types.
    points = np.asarray(obj.points.points)
    nearest = int(np.linalg.norm(points - grasp.target, axis=1).argmin())
    surface_normal = np.asarray(obj.points.normals)[nearest]
    assert np.linalg.norm(grasp.normal) == pytest.approx(1.0, abs=1e-5)
    assert abs(float(np.dot(grasp.normal, surface_normal))) < 0.3


def test_lateral_grasp_refuses_thick_parts():
    from openhoi.synth.grasp import GraspFailure

    with pytest.raises(GraspFailure, match="thin enough for a lateral grasp"):
        _lateral("hammer", "handle", "grasp")


def test_key_grip_episode_passes_the_gate(monkeypatch):
    monkeypatch.setattr(generator, "_grasp_order", lambda types, rng: ("lateral",))
    episode = _episode("headphones", "relocate", index=2)
    assert episode is not None, "no key-grip episode on the headphones passed the gate"
    obj = load_object(episode.object)
    hands = _RESOURCES.hands()
    for segment, ann in zip(episode.segments, episode.annotations, strict=True):
        assert check_segment(segment, obj, ann["held"], hands).passed


def test_resume_after_interruption(tmp_path, monkeypatch):
    real = generator._worker
    calls = {"n": 0}

    def flaky(job):
        calls["n"] += 1
        if job[1] == 2:
            raise RuntimeError("killed")
        return real(job)

    monkeypatch.setattr(generator, "_worker", flaky)
    with pytest.raises(RuntimeError):
        synthesize_dataset(tmp_path, 3, seed=5, objects=["cup"], progress=False, shard_size=1)
    assert read_index(tmp_path)["num_episodes"] == 2
    monkeypatch.setattr(generator, "_worker", real)
    report = synthesize_dataset(tmp_path, 3, seed=5, objects=["cup"], progress=False, shard_size=1)
    assert report.num_written == 1
    ids = [e.episode_id for e in load_episodes(tmp_path)]
    assert sorted(ids) == ["synth-000000", "synth-000001", "synth-000002"]
    splits = json.loads((tmp_path / "splits.json").read_text())["splits"]
    assigned = splits["train"] + splits["val"] + splits["test"]
    assert sorted(assigned) == sorted(ids)
    assert "rejection_rates" in read_index(tmp_path)["results"]


def test_box_culling_keeps_grasp_distances_exact(monkeypatch):
    import torch

    from openhoi.synth import grasp

    obj = load_object("jar")
    points = torch.rand(2000, 3) * torch.tensor([0.3, 0.3, 0.25]) - torch.tensor([0.15, 0.15, 0.05])
    culled = grasp._ObjectDistance(obj, 0.5, floor_z=0.0)(points)
    monkeypatch.setattr(grasp, "_CULL_MARGIN_M", 1e3)
    exact = grasp._ObjectDistance(obj, 0.5, floor_z=0.0)(points)
    near = exact < 0.025  # every threshold the grasp code compares the sdf with is below
    assert torch.equal(culled[near], exact[near])
    assert bool((culled[~near] >= 0.02).all())


def _labelled_flask(folder):
    import trimesh

    mesh = trimesh.creation.cylinder(radius=0.035, height=0.16, sections=32)
    mesh.apply_translation([0.3, -0.2, 0.5])  # off the canonical frame: the loader fixes it
    mesh.export(folder / "flask.obj")
    labels = {"wrap-grasp": list(range(len(mesh.faces)))}
    (folder / "flask.affordance.json").write_text(json.dumps(labels))
    return folder / "flask.obj"


def test_user_mesh_episodes_are_self_contained(tmp_path):
    from openhoi.data import load_episode_object
    from openhoi.data.torch_dataset import SegmentDataset

    mesh = _labelled_flask(tmp_path)
    out = tmp_path / "synth"
    report = synthesize_dataset(out, 3, seed=2, objects=[str(mesh)], progress=False)
    assert report.num_written == 3
    assert (out / "objects" / "flask" / "object.json").is_file()
    episodes = list(load_episodes(out))
    for episode in episodes:
        assert episode.object.split("@")[0] == "flask"
        assert "flask" in episode.instruction.lower()
        assert {s.primitive for s in episode.plan} <= {
            "grasp",
            "lift",
            "shake",
            "rotate",
            "move",
            "place",
        }
        obj = load_episode_object(out, episode.object)  # stored labels, scaled as named
        assert "wrap-grasp" in obj.affordance_names
        assert obj.size[2] == pytest.approx(0.16 * episode.metadata["scale"], rel=1e-6)
    sample = SegmentDataset(out, split="all")[0]
    assert sample.object_points.shape == (1024, 6) and float(sample.affordance.max()) == 1.0


def test_user_mesh_without_affordances_is_refused_before_writing(tmp_path):
    import trimesh

    trimesh.creation.box((0.1, 0.1, 0.1)).export(tmp_path / "crate.obj")
    out = tmp_path / "synth"
    with pytest.raises(InputError, match="no affordance SynthHOI can act on"):
        synthesize_dataset(out, 2, objects=[str(tmp_path / "crate.obj")], progress=False)
    assert not out.exists()
    with pytest.raises(InputError, match="neither a built-in"):
        synthesize_dataset(out, 2, objects=["teapot"], progress=False)
