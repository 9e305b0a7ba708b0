"""Planner scene phrasing: extra training paraphrases and hand cues."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi.errors import InputError
from openhoi.mllm.object_pointer import named_objects
from openhoi.mllm.phrasing import (
    EXTRA_INSTRUCTIONS,
    HAND_CUES,
    extra_instruction,
    names_hand,
    with_hand_cue,
)
from openhoi.mllm.training import SceneSampler, training_objects
from openhoi.synth.language import INSTRUCTION_TEMPLATES
from openhoi.synth.tasks import HELD_OUT_OBJECTS, KIND_STEPS


def test_every_kind_has_extra_paraphrases_that_keep_the_held_out_ones_unseen():
    assert set(EXTRA_INSTRUCTIONS) == set(KIND_STEPS)
    for kind, extras in EXTRA_INSTRUCTIONS.items():
        sets = INSTRUCTION_TEMPLATES[kind]
        known = {t for _, t in sets["train"]} | {t for _, t in sets["held_out"]}
        assert len(set(extras)) == len(extras) == 10
        assert not set(extras) & known
        assert all("{object}" in t or "{" not in t for t in extras)
    rng = np.random.default_rng(0)
    pours = {t.format(object="jar") for t in EXTRA_INSTRUCTIONS["pour"]}
    assert extra_instruction("pour", "jar", rng) in pours
    with pytest.raises(InputError, match="unknown episode kind"):
        extra_instruction("juggle", "jar", rng)


def test_hand_cue_names_a_left_hand_and_leaves_stated_or_two_handed_scenes_alone():
    rng = np.random.default_rng(0)
    for _ in range(20):
        cued = with_hand_cue("Open the jar.", "left", ["right", "left"], rng)
        assert "Open the jar." in cued and "left" in cued.lower() and names_hand(cued)
    stated = "Pour the jar out with the right hand."
    assert with_hand_cue(stated, "left", ["left"], rng) == stated
    assert with_hand_cue("Carry the box.", "left", ["both", "both"], rng) == "Carry the box."
    never = [with_hand_cue("Open the jar.", "right", ["right"], rng, right_probability=0.0)]
    assert never == ["Open the jar."]
    always = with_hand_cue("Open the jar.", "right", ["right"], rng, right_probability=1.0)
    assert "right" in always.lower()
    held_out = with_hand_cue("Open the jar.", "left", ["left"], rng, phrasing="held_out")
    assert held_out.startswith("Open the jar. ") and held_out[14:] in HAND_CUES["held_out"]["left"]
    for hand in ("left", "right"):
        assert not set(HAND_CUES["train"][hand]) & set(HAND_CUES["held_out"][hand])
    with pytest.raises(InputError, match="main_hand"):
        with_hand_cue("Open the jar.", "middle", ["left"], rng)


def test_scenes_state_every_non_default_hand_and_can_reproduce_raw_instructions():
    cued = SceneSampler(list(HELD_OUT_OBJECTS), phrasing="held_out", augment=False)
    raw = SceneSampler(list(HELD_OUT_OBJECTS), phrasing="held_out", augment=False, hand_cues=False)
    rng_cued, rng_raw = np.random.default_rng(3), np.random.default_rng(3)
    unstated_left = 0
    for _ in range(40):
        sample, task = cued.fine(rng_cued)
        hands = {s.hands for s in sample.steps}
        if task.main_hand == "left" and hands != {"both"}:
            assert names_hand(sample.instruction), sample.instruction
        raw_sample, raw_task = raw.fine(rng_raw)
        assert raw_sample.instruction == raw_task.instruction
        unstated_left += raw_task.main_hand == "left" and not names_hand(raw_sample.instruction)
    assert unstated_left > 0  # the raw protocol does hide left hands


def test_training_scenes_mix_in_extra_paraphrases():
    sampler = SceneSampler(training_objects(), augment=False, paraphrase_probability=1.0)
    rng = np.random.default_rng(0)
    extras = {t for ts in EXTRA_INSTRUCTIONS.values() for t in ts}
    seen = 0
    for _ in range(30):
        sample, task = sampler.fine(rng)
        if task.style == "multi_step":
            continue
        # Strip a training cue before or after the instruction, then match a template.
        text = sample.instruction
        for cue in HAND_CUES["train"]["left"] + HAND_CUES["train"]["right"]:
            text = text.replace(cue, "").strip()
        object_words = sample.names[sample.steps[0].object_index]
        seen += any(t.format(object=object_words) == text for t in extras)
        assert text != task.instruction
    assert seen > 10
    with pytest.raises(InputError, match="paraphrase_probability"):
        SceneSampler(training_objects(), paraphrase_probability=1.5)
    with pytest.raises(InputError, match="max_scene_objects"):
        SceneSampler(training_objects(), max_scene_objects=0)


def test_a_scene_that_only_implies_its_object_has_no_rival_for_the_same_task():
    from openhoi.objects import load_object
    from openhoi.synth.tasks import kinds_for

    sampler = SceneSampler(
        list(HELD_OUT_OBJECTS),
        phrasing="held_out",
        augment=False,
        max_scene_objects=3,
        distractors=sorted(set(training_objects()) | set(HELD_OUT_OBJECTS)),
    )
    rng = np.random.default_rng(1)
    implied_with_others = 0
    for _ in range(80):
        sample, task = sampler.fine(rng)
        target = sample.steps[0].object_index
        if named_objects(sample.instruction, [sample.names[target]])[0]:
            continue
        for index, name in enumerate(sample.names):
            if index != target:
                rival = load_object(name.replace(" ", "_"))
                assert task.kind not in kinds_for(rival), (sample.instruction, sample.names)
        implied_with_others += len(sample.names) > 1
    assert implied_with_others > 0  # implied scenes still get distractors
