"""Plan format: strict parser, plan.json schema, constrained-decoding grammar."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openhoi.errors import InputError
from openhoi.mllm.plan import (
    Plan,
    PlanGrammar,
    PlanParseError,
    format_plan_text,
    generation_step,
    parse_plan_text,
)
from openhoi.vocab import SubTask

GOOD = (
    "[grasp|right|0|wrap-grasp] grasp the bottle by its body <AFF> "
    "[twist_open|both|1|open] twist the cap <AFF>"
)


def test_parse_good_text_and_round_trip():
    steps = parse_plan_text(GOOD, num_objects=2)
    assert [s.primitive for s in steps] == ["grasp", "twist_open"]
    assert steps[1] == SubTask("twist_open", "both", "open", "twist the cap", object_index=1)
    assert steps[1].mask is None
    assert parse_plan_text(format_plan_text(steps), num_objects=2) == steps


def test_format_rejects_text_the_grammar_cannot_hold_and_generation_step_cleans_it():
    step = SubTask("grasp", "right", "grasp", "grasp [the] mug | now", mask=np.ones(4))
    with pytest.raises(InputError, match=r"'\[', '\]' or '\|'"):
        format_plan_text([step])
    with pytest.raises(InputError, match="non-empty"):
        format_plan_text([SubTask("grasp", "right", "grasp", "  ")])
    clean = generation_step(step, object_index=2)
    assert clean == SubTask("grasp", "right", "grasp", "grasp the mug now", object_index=2)
    assert clean.mask is None
    assert parse_plan_text(format_plan_text([clean]), num_objects=3) == (clean,)


def test_subtask_mask_is_read_only_float32_and_compared_by_value():
    mask = np.linspace(0, 1, 8)
    step = SubTask("grasp", "right", "grasp", "t", mask=mask)
    assert step.mask.dtype == np.float32 and not step.mask.flags.writeable
    assert step == SubTask("grasp", "right", "grasp", "t", mask=mask.copy())
    assert step != SubTask("grasp", "right", "grasp", "t", mask=mask[::-1].copy())
    assert step != SubTask("grasp", "right", "grasp", "t")
    assert hash(step) == hash(SubTask("grasp", "right", "grasp", "t"))


def test_parse_tolerates_wordpiece_spacing():
    text = "[ grasp | right | 0 | wrap - grasp ] grasp the bottle <AFF>"
    (step,) = parse_plan_text(text, num_objects=1)
    assert step.affordance == "wrap-grasp" and step.text == "grasp the bottle"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("grasp the bottle <AFF>", "expected a header"),
        ("[grasp|right|0] grasp <AFF>", "4 fields"),
        ("[grab|right|0|grasp] grasp <AFF>", "unknown primitive 'grab'"),
        ("[grasp|middle|0|grasp] grasp <AFF>", "hands must be"),
        ("[grasp|right|2|grasp] grasp <AFF>", "object must be an index 0..1"),
        ("[grasp|right|x|grasp] grasp <AFF>", "object must be an index"),
        ("[grasp|right|0|fly] grasp <AFF>", "unknown affordance type 'fly'"),
        ("[grasp|right|0|grasp] <AFF>", "empty text"),
        ("[grasp|right|0|grasp] grasp the bottle", "not followed by <AFF>"),
        ("[grasp|right|0|grasp grasp <AFF>", "not closed"),
        ("[grasp|right|0|grasp] grasp <AFF> <AFF>", "expected 1 <AFF>"),
        ("[grasp|right|0|grasp] grasp <AFF> trailing words", "sub-task 2: expected a header"),
    ],
)
def test_parse_rejects_malformed(text, message):
    with pytest.raises(PlanParseError, match=message):
        parse_plan_text(text, num_objects=2)


def test_parse_multi_token_fusion_count():
    text = "[grasp|right|0|grasp] grasp it <AFF> <AFF>"
    assert len(parse_plan_text(text, 1, num_aff_tokens=2)) == 1
    with pytest.raises(PlanParseError, match="expected 3"):
        parse_plan_text(text, 1, num_aff_tokens=3)


def test_plan_json_schema():
    mask = np.linspace(0, 1, 8, dtype=np.float32)
    plan = Plan(
        "open the bottle",
        ("mug", "bottle"),
        (SubTask("grasp", "right", "wrap-grasp", "grasp the bottle", 1, mask=mask),),
    )
    data = json.loads(json.dumps(plan.to_json()))
    assert set(data) == {"instruction", "objects", "subtasks", "dropped", "ungrounded", "source"}
    assert data["dropped"] == [] and data["ungrounded"] is None and data["source"] == "built-in"
    assert data["subtasks"] == [
        {
            "text": "grasp the bottle",
            "primitive": "grasp",
            "hands": "right",
            "object": 1,
            "affordance": "wrap-grasp",
            "mask": "mask_00.npy",
        }
    ]
    assert plan.subtasks[0].object_index == 1 and plan.subtasks[0].mask.shape == (8,)


def test_plan_rejects_bad_values():
    mask = np.zeros(4, dtype=np.float32)
    with pytest.raises(InputError, match="object"):
        Plan("x", ("mug",), (SubTask("grasp", "right", "grasp", "t", 3, mask=mask),))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        SubTask("grasp", "right", "grasp", "t", mask=mask + 2)
    with pytest.raises(InputError, match="no mask"):
        Plan("x", ("mug",), (SubTask("grasp", "right", "grasp", "t"),))
    with pytest.raises(InputError, match="at least one"):
        Plan("x", ("mug",), ())


def test_grammar_walk_yields_parseable_text():
    from openhoi.mllm.default_backbone import load_minilm_tokenizer

    tokenizer = load_minilm_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": ["<AFF>"]})
    aff = tokenizer.convert_tokens_to_ids("<AFF>")
    grammar = PlanGrammar(
        tokenizer,
        2,
        aff_token_id=aff,
        eos_token_id=tokenizer.sep_token_id,
        max_steps=2,
        max_text_tokens=3,
    )
    rng = np.random.default_rng(0)
    for _ in range(5):
        state, ids = grammar.start(), []
        while state[0] != "done":
            allowed = grammar.allowed(state)
            token = int(allowed[int(rng.integers(len(allowed)))])
            state = grammar.advance(state, token)
            if token != tokenizer.sep_token_id:
                ids.append(token)
        text = tokenizer.decode(ids)
        steps = parse_plan_text(text.replace("<AFF>", " <AFF> "), num_objects=2)
        assert 1 <= len(steps) <= 2
