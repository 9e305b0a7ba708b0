"""PlannerModel: <AFF> token handling, hidden-state position, decoder, training, decoding."""

from __future__ import annotations

import numpy as np
import torch

from openhoi.mllm.model import (
    NON_TOKEN_ID,
    AffordanceDecoder,
    AffordanceDecoderConfig,
    gather_aff_states,
)
from openhoi.mllm.plan import AFF_TOKEN, parse_plan_text
from openhoi.vocab import SubTask

from .conftest import make_sample


def test_aff_is_one_token_and_embeddings_resized(tiny_model):
    tokenizer = tiny_model.tokenizer
    ids = tokenizer(f"grasp it {AFF_TOKEN} then", add_special_tokens=False)["input_ids"]
    assert ids.count(tiny_model.aff_token_id) == 1
    assert tokenizer(AFF_TOKEN, add_special_tokens=False)["input_ids"] == [tiny_model.aff_token_id]
    table = tiny_model.language_model.get_input_embeddings()
    assert table.num_embeddings == len(tokenizer) > tiny_model.aff_token_id
    assert tiny_model.language_model.get_output_embeddings().weight.shape[0] == len(tokenizer)


def test_gather_takes_the_state_at_the_aff_token():
    hidden = torch.arange(2 * 5, dtype=torch.float32).reshape(2, 5, 1)
    ids = torch.tensor([[1, 2, 9, 3, 4], [9, 5, 6, 9, 7]])
    states = gather_aff_states(hidden, ids, aff_token_id=9)
    # Position of <AFF> itself (not the one before, which predicts it), row-major order.
    assert states.flatten().tolist() == [2.0, 5.0, 8.0]


def test_aff_state_sees_its_sub_task_but_not_what_follows(tiny_model):
    """Only text before (and at) <AFF> changes its state: no look-ahead, no off-by-one."""
    model = tiny_model.eval()
    sample = make_sample()
    steps_a = sample.steps
    steps_b = (steps_a[0], SubTask("place", "left", "support", "put it down", 0))
    steps_c = (SubTask("grasp", "right", "wrap-grasp", "hold the cup", 1), steps_a[1])
    states = []
    for steps in (steps_a, steps_b, steps_c):
        captured = {}

        def hook(module, args, output, captured=captured):
            captured["logits"] = output

        handle = model.decoder.register_forward_hook(hook)
        torch.manual_seed(0)
        model.forward(
            [type(sample)(sample.points, sample.names, sample.instruction, steps, sample.masks)]
        )
        handle.remove()
        states.append(captured["logits"])
    # Changing step 2 leaves mask 1 identical; changing step 1's text changes mask 1.
    assert torch.allclose(states[0][0], states[1][0], atol=1e-5)
    assert not torch.allclose(states[0][0], states[2][0], atol=1e-5)


def test_decoder_attends_over_points_and_gradient_reaches_them():
    torch.manual_seed(0)
    decoder = AffordanceDecoder(
        AffordanceDecoderConfig(hidden_size=32, num_layers=2, num_heads=4), 16, 24
    )
    points = torch.randn(2, 100, 24, requires_grad=True)
    query = torch.randn(2, 1, 16)
    logits = decoder(query, points)
    assert logits.shape == (2, 100)
    logits.sum().backward()
    assert points.grad is not None and points.grad.abs().sum() > 0
    # The query selects points: another query ranks the points differently.
    other = decoder(torch.randn(2, 1, 16), points)
    assert not torch.allclose(logits.argsort(-1), other.argsort(-1))


def test_train_steps_lower_both_losses(tiny_model):
    model = tiny_model.train()
    batch = [make_sample(0), make_sample(1, num_objects=1)]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    first = model(batch)
    for _ in range(15):
        output = model(batch)
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
    last = model(batch)
    assert last.task_loss.item() < 0.8 * first.task_loss.item()
    assert last.aff_loss.item() < first.aff_loss.item()


def test_constrained_decoding_from_random_model_parses(tiny_model):
    model = tiny_model.eval()
    sample = make_sample()
    output = model.generate(sample, constrained=True)
    steps = parse_plan_text(output.text, num_objects=2)
    assert steps == output.steps and 1 <= len(steps) <= model.config.max_steps
    assert output.masks.shape == (len(steps), sample.points[0].shape[0])
    assert np.all((output.masks >= 0) & (output.masks <= 1))


def test_input_ids_mark_embedding_slots(tiny_model):
    sample = make_sample()
    _, tokens, _, _ = tiny_model._encode_scenes([sample])
    ids, extras, object_ends = tiny_model._prefix(
        torch.stack(tokens[0]), sample.names, sample.instruction, None
    )
    assert ids.count(NON_TOKEN_ID) == sum(e.shape[0] for e in extras) == 2 * 8
    # Each object's last point token: a point slot followed by the next text token.
    assert len(object_ends) == 2
    assert all(ids[p] == NON_TOKEN_ID and ids[p + 1] != NON_TOKEN_ID for p in object_ends)
