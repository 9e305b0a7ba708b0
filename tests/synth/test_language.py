"""Language and plans: templates, text/plan consistency, held-out sets."""

import numpy as np
import pytest

from openhoi.data import PRIMITIVES, Episode
from openhoi.objects import list_objects, load_object
from openhoi.synth.language import (
    PRIMITIVE_VERBS,
    instruction_templates,
    object_words,
    plan_target_text,
)
from openhoi.synth.tasks import (
    EPISODE_KINDS,
    HELD_OUT_OBJECTS,
    KIND_STEPS,
    kinds_for,
    make_task,
    sample_task,
)


@pytest.mark.parametrize("kind", sorted(KIND_STEPS))
def test_every_kind_has_enough_disjoint_templates(kind):
    train = instruction_templates(kind, "train")
    held_out = instruction_templates(kind, "held_out")
    assert len(train) >= 10
    assert len(held_out) >= 3
    assert not {t for _, t in train} & {t for _, t in held_out}
    styles = {style for style, _ in train}
    assert {"imperative", "intent", "polite", "synonym", "multi_step"} <= styles


@pytest.mark.parametrize("name", list_objects())
def test_subtask_texts_name_object_and_primitive(name):
    obj = load_object(name)
    rng = np.random.default_rng(0)
    for kind in kinds_for(obj):
        for phrasing in ("train", "held_out"):
            task = make_task(obj, kind, "left", rng, phrasing=phrasing)
            assert [s.primitive for s in task.plan] == [s.primitive for s in KIND_STEPS[kind]]
            for step, variants in zip(task.plan, task.subtask_paraphrases, strict=True):
                assert step.affordance in obj.affordance_names
                assert step.text in variants
                for text in variants:
                    assert object_words(name) in text
                    assert any(verb in text for verb in PRIMITIVE_VERBS[step.primitive]), text
            assert task.instruction and task.instruction not in task.paraphrases


def test_plan_target_text_matches_episode():
    obj = load_object("bottle")
    task = sample_task(obj, np.random.default_rng(3))
    text = plan_target_text(task.plan)
    assert text.count("<AFF>") == len(task.plan)
    # Episode.target_text is the contract the planner trains on.
    from openhoi.data import HOISequence

    segment = HOISequence.from_parameters(object_rotation=np.eye(3)[None].repeat(2, 0))
    episode = Episode("e0", task.instruction, "bottle", task.plan, (segment,) * len(task.plan))
    assert episode.target_text == text


def test_held_out_objects_share_kinds_with_training_objects():
    names = list_objects()
    assert set(HELD_OUT_OBJECTS) <= set(names)
    train_kinds = {k for n in names if n not in HELD_OUT_OBJECTS for k in EPISODE_KINDS[n]}
    for name in HELD_OUT_OBJECTS:
        assert set(EPISODE_KINDS[name]) <= train_kinds
    used = {s.primitive for k in train_kinds for s in KIND_STEPS[k]}
    assert used == set(PRIMITIVES)
