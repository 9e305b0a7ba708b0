"""`Pipeline.generate_many`: batched segments, per-prompt errors, same results as one prompt.

Shipped weights with 4 DDIM steps (one DSG-guided step). The physics report (tens of
seconds per prompt on CPU, measured in tests/cli/test_generate.py) is replaced by an empty
report here; the fake records which object each prompt was measured against.

Tolerances: a segment's noise does not depend on its batch, but the network's float
rounding does (batched matmuls), ~1e-5 on the frames. DSG's losses are not smooth (which
vertices penetrate, which fingertips are in contact), so guided steps can amplify that
rounding: measured up to 5.5e-3 with 10 steps on tools/bench_generate.py's 8 prompts.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from openhoi.api import GenerateConfig, GenerateResult, Pipeline
from openhoi.errors import InputError

# Batching is about sampling: the contact optimisation after it is a deterministic function
# of the composed sequence whose discrete choices (phase frames, the best grasp candidate)
# turn float-rounding differences into visible ones, so these comparisons leave it out;
# `test_the_contact_stage_runs_by_default` covers it.
CONFIG = GenerateConfig.from_options(
    steps=4, seed=3, optimise_contacts=False, kinematic_carry=False
)
ATOL_ROUNDING = 1e-4  # without guidance
ATOL_GUIDED = 1e-2  # with DSG (see above)
GOOD = [
    ("pick up the mug and put it down again", ["mug"]),
    ("grab the knife", ["knife"]),
]
BAD_OBJECT = ("open the portal", ["teleporter"])
EMPTY = ("   ", ["mug"])
_MEASURED: list[str] = []  # object names the fake physics report was asked about


def _empty_physics(sequence, obj, hands):
    from openhoi.geometry import PhysicsReport

    _MEASURED.append(obj.name)
    zeros = np.zeros(sequence.num_frames)
    return PhysicsReport(
        penetration_depth_m=zeros,
        in_contact=zeros.astype(bool),
        affordance_contact=None,
        intersection_volume_cm3=zeros,
    )


@pytest.fixture(scope="module")
def pipeline():
    import torch

    import openhoi.eval

    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openhoi.eval, "sequence_physics", _empty_physics)
        yield Pipeline.from_pretrained()


@pytest.fixture(scope="module")
def batched(pipeline):
    """GOOD with a bad object between them and an empty instruction after."""
    return pipeline.generate_many([GOOD[0], BAD_OBJECT, GOOD[1], EMPTY], CONFIG)


@pytest.fixture(scope="module")
def singles(pipeline):
    return [pipeline(text, objects, CONFIG) for text, objects in GOOD]


def test_bad_prompts_become_error_entries_and_the_others_are_generated(batched):
    assert len(batched) == 4
    assert isinstance(batched[0], GenerateResult) and isinstance(batched[2], GenerateResult)
    assert isinstance(batched[1], InputError) and "teleporter" in str(batched[1])
    assert isinstance(batched[3], InputError) and "empty" in str(batched[3])
    # Results stay in prompt order, each measured against its own object.
    assert [batched[k].summary()["object"] for k in (0, 2)] == ["mug", "knife"]
    assert [batched[k].plan.instruction for k in (0, 2)] == [GOOD[0][0], GOOD[1][0]]
    assert {"mug", "knife"} <= set(_MEASURED)


def test_batched_result_equals_the_single_prompt_run(batched, singles):
    for result, single in zip((batched[0], batched[2]), singles, strict=True):
        assert result.plan.to_json() == single.plan.to_json()
        assert result.sequence.num_frames == single.sequence.num_frames
        assert result.sequence.texts == single.sequence.texts
        np.testing.assert_allclose(result.sequence.frames, single.sequence.frames, atol=ATOL_GUIDED)
        np.testing.assert_array_equal(result.sequence.active_hands, single.sequence.active_hands)


def test_the_contact_stage_runs_by_default_and_physics_sim_adds_mujoco(pipeline, singles):
    result = pipeline(*GOOD[0], GenerateConfig.from_options(steps=4, seed=3, physics_sim=True))
    assert result.contact is not None and "contact_s" in result.timings
    summary = result.summary()
    assert summary["contact"]["phases"] and summary["contact"]["grasps"]
    assert set(summary["contact"]["scene"]) == {"before", "after"}
    # At rest on the table at the start, and wherever no hand holds the mug.
    assert abs(summary["contact"]["scene"]["after"]["object_start_height_mm"]) < 0.01
    assert singles[0].contact is None and "contact_s" not in singles[0].timings
    # The MuJoCo check of every holding phase (the carried ones are simulated).
    sim = summary["simulation"]
    carried = [p for p in result.contact.phases if p.kind == "carry" and p.part is None]
    assert sim["summary"]["tested_phases"] == len(carried)
    assert len(sim["phases"]) == len(result.contact.phases) and "simulation_s" in result.timings
    json.dumps(summary)  # report.json stays JSON


def test_without_guidance_batched_equals_single_up_to_rounding(pipeline):
    config = GenerateConfig.from_options(
        steps=4, seed=3, refine=False, optimise_contacts=False, kinematic_carry=False
    )
    batched = pipeline.generate_many([GOOD[1], GOOD[0]], config)
    single = pipeline(*GOOD[0], config)
    np.testing.assert_allclose(
        batched[1].sequence.frames, single.sequence.frames, atol=ATOL_ROUNDING
    )


def test_batched_result_has_the_structure_of_call(batched, singles):
    for result, single in zip((batched[0], batched[2]), singles, strict=True):
        assert result.summary().keys() == single.summary().keys()
        assert result.timings.keys() == single.timings.keys()
        assert result.physics.summary().keys() == single.physics.summary().keys()
        assert result.subtask_frames == single.subtask_frames
        assert result.skipped_subtasks == single.skipped_subtasks


def test_same_seed_same_output_whatever_the_batch_size(pipeline, batched):
    again = pipeline.generate_many(GOOD, CONFIG, batch_size=1)
    for result, first in zip(again, (batched[0], batched[2]), strict=True):
        np.testing.assert_allclose(result.sequence.frames, first.sequence.frames, atol=ATOL_GUIDED)
    repeat = pipeline.generate_many(GOOD, CONFIG, batch_size=1)
    for result, first in zip(repeat, again, strict=True):
        np.testing.assert_array_equal(result.sequence.frames, first.sequence.frames)


def test_a_bad_single_prompt_raises(pipeline):
    with pytest.raises(InputError, match="teleporter"):
        pipeline(*BAD_OBJECT, CONFIG)


def test_bad_batch_size_and_seed_count_are_refused(pipeline):
    from openhoi.motion import MotionCondition

    with pytest.raises(InputError, match="batch_size must be 1..4096, got 0"):
        pipeline.generate_many(GOOD, CONFIG, batch_size=0)
    condition = MotionCondition(object="mug", affordance=np.ones(1024, np.float32), text="grasp")
    with pytest.raises(InputError, match="got 1 seeds for 2 conditions"):
        pipeline.generator.sample([condition, condition], 8, steps=2, seed=[0])


def test_every_object_given_is_in_the_result_and_the_others_stand_beside(pipeline):
    result = pipeline("pick up the mug and put it down again", ["mug", "cup"], CONFIG)
    assert [o.name for o in result.objects] == ["mug", "cup"]
    ((other, pose),) = result.static_poses.items()
    assert {other, result.main_object} == {0, 1}
    static = np.asarray(result.objects[other].mesh.vertices) @ pose[:3, :3].T + pose[:3, 3]
    moved = np.asarray(result.object.mesh.vertices)
    assert static[:, 0].min() > moved[:, 0].max()  # beside, not inside
    assert abs(static[:, 2].min()) < 1e-6  # standing on the table


def test_report_is_optional(pipeline):
    config = GenerateConfig.from_options(steps=2, seed=0, report=False)
    result = pipeline(*GOOD[1], config)
    assert result.physics is None and "report_s" not in result.timings
    assert result.summary()["physics"] is None


def test_the_config_is_resolved_from_the_model_folder(pipeline):
    result = pipeline(*GOOD[1], GenerateConfig.from_options(seed=0, steps=2, report=False))
    sampling = result.config.sampling
    defaults = pipeline.generator.sampling_defaults
    assert sampling.sampler == defaults["sampler"] and sampling.eta == defaults["eta"]
    assert sampling.guidance_scale == defaults["guidance_scale"] and sampling.steps == 2
    assert result.provenance["motion"]["id"].startswith("sha256:")


def test_unknown_generate_option_is_refused():
    with pytest.raises(InputError, match="unknown generate option 'stpes'"):
        GenerateConfig.from_options(stpes=4)


def test_a_weak_mask_still_guides_and_is_reported(pipeline, monkeypatch):
    from openhoi.mllm import Planner

    plan = Planner.plan

    def weak(self, instruction, objects):
        made = plan(self, instruction, objects)
        subtasks = tuple(
            dataclasses.replace(s, mask=np.asarray(s.mask) * 0.4) for s in made.subtasks
        )
        return dataclasses.replace(made, subtasks=subtasks)

    monkeypatch.setattr(Planner, "plan", weak)
    result = pipeline(*GOOD[1], GenerateConfig.from_options(steps=2, seed=0, report=False))
    assert result.weak_masks == tuple(result.subtask_frames)


def test_openhoi_refine_stays_callable_after_the_subpackage_is_imported():
    import openhoi
    import openhoi.refine  # binds openhoi.refine to the sub-package

    seq = openhoi.HOISequence.from_parameters(
        right_pose=np.zeros((6, 16, 3)),
        right_transl=np.linspace([0.0, -0.3, 0.1], [0.0, -0.1, 0.1], 6),
        object_name="mug",
    )
    refined = openhoi.refine(seq, "mug")  # the hand never touches the mug: nothing held
    assert refined.sequence is seq and refined.phases == ()
    with pytest.raises(InputError, match="options are subtasks"):
        openhoi.refine(seq, "mug", num_steps=2)
    posthoc = openhoi.refine.refine_sequence(
        seq, openhoi.load_object("mug"), config=openhoi.refine.PostHocConfig(num_steps=2)
    )
    assert posthoc.sequence.num_frames == seq.num_frames
    assert np.isfinite(posthoc.loss_after)


def test_a_place_in_a_second_object_happens_there(pipeline):
    from openhoi.refine.scene import Support

    config = GenerateConfig.from_options(steps=4, seed=3, optimise_contacts=False)
    result = pipeline("put the phone in the bowl", ["phone", "bowl"], config)
    place = result.plan.subtasks[-1]
    assert (place.primitive, place.object_index, place.target_index, place.relation) == (
        "place", 0, 1, "in"
    )  # fmt: skip
    assert place.target_mask is not None and result.main_object == 0
    bowl, pose = result.objects[1], result.static_poses[1]
    rim = np.asarray(bowl.mesh.vertices) @ pose[:3, :3].T + pose[:3, 3]
    end = result.sequence.object_transforms()[-1]
    phone = np.asarray(result.object.mesh.vertices) @ end[:3, :3].T + end[:3, 3]
    centre = phone[:, :2].mean(0)
    assert (rim[:, :2].min(0) < centre).all() and (centre < rim[:, :2].max(0)).all()
    # it rests on the bowl (its bottom or its rim), not in the table or through the bowl
    support = Support([(bowl, pose)])
    assert phone[:, 2].min() > 0.005
    assert (phone[:, 2] >= support.height(phone[:, :2]) - 2e-3).all()
    # report.json says how deep hands and phone went into the bowl over the whole motion
    into_bowl = result.summary()["static_objects"]["bowl"]
    assert into_bowl["object_penetration_max_mm"] < 3.0
    assert set(into_bowl) == {
        "hand_penetration_max_mm", "object_penetration_max_mm", "frames_over_2mm"
    }  # fmt: skip
