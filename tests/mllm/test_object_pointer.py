"""Object selection: `named_objects`, the header's object slot, the pointer at work."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import torch

from openhoi.mllm.checkpoint import build_planner_model, load_checkpoint, save_checkpoint
from openhoi.mllm.default_backbone import load_minilm_tokenizer
from openhoi.mllm.object_pointer import named_objects
from openhoi.mllm.plan import PlanParseError, header_object_slot

from .conftest import TINY_BACKBONE, make_sample, tiny_config


def test_named_objects_matches_whole_words_and_prefers_the_longer_name():
    assert named_objects("Cut with the knife.", ("hammer", "knife")).tolist() == [0, 1]
    assert named_objects("Pass me the Bottles!", ("bottle", "mug")).tolist() == [1, 0]
    # "spray bottle" covers "bottle": only the longer name is named ...
    names = ("bottle", "spray bottle")
    assert named_objects("Spray the plant with the spray bottle", names).tolist() == [0, 1]
    # ... unless the shorter one also appears on its own.
    both = "Put the spray bottle next to the bottle"
    assert named_objects(both, names).tolist() == [1, 1]
    # Inside another word is not a name; nothing named gives zeros.
    assert named_objects("Scan the cans", ("can", "scanner")).tolist() == [1, 0]
    assert named_objects("My throat is dry.", ("can", "laptop")).tolist() == [0, 0]


def test_header_object_slot_finds_the_index_token():
    tokenizer = load_minilm_tokenizer()
    position, ids = header_object_slot(tokenizer, "twist_open", "both", "open", 3)
    tokens = tokenizer.convert_ids_to_tokens(
        tokenizer("[twist_open|both|2|open]", add_special_tokens=False)["input_ids"]
    )
    assert tokens[position] == "2"
    assert tokenizer.convert_ids_to_tokens(list(ids)) == ["0", "1", "2"]


def test_pointer_loss_only_for_scenes_with_a_choice_and_it_trains(tiny_model):
    model = tiny_model.train()
    single = model.forward([make_sample(num_objects=1)])
    assert single.pointer_loss.item() == 0.0
    batch = [make_sample(seed) for seed in range(3)]
    optimizer = torch.optim.Adam(model.object_pointer.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        output = model.forward(batch, task_weight=0.0, aff_weight=0.0)
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        losses.append(output.pointer_loss.item())
    assert losses[0] > 0.1 and losses[-1] < 0.5 * losses[0]


def test_generation_takes_the_object_from_the_pointer(tiny_model):
    model = tiny_model.eval()
    sample = make_sample()  # objects ("mug", "bottle"), instruction "open the bottle"
    with torch.no_grad():
        model.object_pointer.term_weights[0] = 50.0  # the named object wins
    for constrained in (True, False):
        try:
            output = model.generate(sample, constrained=constrained)
        except PlanParseError:  # a random LM's free text need not parse
            continue
        assert output.steps and all(s.object_index == 1 for s in output.steps)
    renamed = dataclasses.replace(sample, instruction="open the mug")
    output = model.generate(renamed, constrained=True)
    assert all(s.object_index == 0 for s in output.steps)


def test_checkpoint_from_before_the_pointer_still_loads(tmp_path):
    torch.manual_seed(0)
    config = dataclasses.replace(tiny_config(), object_pointer=False)
    model = build_planner_model(config, TINY_BACKBONE)
    save_checkpoint(model, TINY_BACKBONE, tmp_path / "old")
    path = tmp_path / "old" / "planner_config.json"
    saved = json.loads(path.read_text())
    del saved["model"]["object_pointer"]
    path.write_text(json.dumps(saved))
    loaded, _ = load_checkpoint(tmp_path / "old")
    assert loaded.config.object_pointer is False and loaded.object_pointer is None
    output = loaded.generate(make_sample(), constrained=True)
    assert np.all((output.masks >= 0) & (output.masks <= 1))
