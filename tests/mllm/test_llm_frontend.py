"""LLM front end (issue 31, part 3): schema, retries, constrained fallback, both backends.

A stub OpenAI-compatible endpoint (http.server on 127.0.0.1, in a thread) answers with
scripted replies; a tiny random GPT-2 saved to a temporary folder stands in for a local
Hugging Face model (it does not follow the schema, so it exercises loading, prompting and
the fallback). The built-in planner's mask head (a tiny random planner) grounds the masks.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from openhoi.errors import MissingFileError
from openhoi.mllm.api import Planner
from openhoi.mllm.llm_frontend import (
    LLMFrontEndConfig,
    LLMPlanError,
    closest_plan,
    load_llm_planner,
    system_prompt,
    validate_llm_plan,
)
from openhoi.objects import load_object

VALID = {
    "subtasks": [
        {"primitive": "grasp", "hands": "right", "object": "mug", "affordance": "grasp",
         "text": "grasp the mug by its handle"},
        {"primitive": "lift", "hands": "right", "object": "mug", "affordance": "grasp",
         "text": "lift the mug"},
        {"primitive": "drink", "hands": "right", "object": "mug", "affordance": "grasp",
         "text": "drink from the mug"},
        {"primitive": "place", "hands": "right", "object": "mug", "affordance": "grasp",
         "text": "put the mug down"},
    ]
}  # fmt: skip
INVALID = json.dumps({"subtasks": [{**VALID["subtasks"][0], "primitive": "pick_up"}]})


class _Stub:
    """A chat endpoint that answers with the next scripted reply and records requests."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((self.path, dict(self.headers), body))
                reply = stub.replies.pop(0) if stub.replies else "no more replies"
                message = {"role": "assistant", "content": reply}
                data = json.dumps({"choices": [{"message": message}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def planner(tiny_model):
    return Planner(tiny_model)


def _llm(planner, url, **kwargs):
    return load_llm_planner(planner, LLMFrontEndConfig(source=url, **kwargs))


def test_prompt_names_schema_scene_and_parts():
    prompt = system_prompt([load_object("mug"), load_object("spray_bottle")])
    for word in ('"subtasks"', "twist_open", "wrap-grasp", '"spray bottle"', "handle", "trigger"):
        assert word in prompt


def test_validation_errors_name_step_field_and_allowed_values():
    mug = [load_object("mug")]
    steps = validate_llm_plan("```json\n" + json.dumps(VALID) + "\n```", mug)
    assert [s.primitive for s in steps] == ["grasp", "lift", "drink", "place"]
    with pytest.raises(LLMPlanError, match="sub-task 1: primitive must be one of grasp.*'pick_up'"):
        validate_llm_plan(INVALID, mug)
    bad_object = json.dumps({"subtasks": [{**VALID["subtasks"][0], "object": "canteen"}]})
    with pytest.raises(LLMPlanError, match='object must be one of "mug"'):
        validate_llm_plan(bad_object, mug)
    with pytest.raises(LLMPlanError, match="not JSON"):
        validate_llm_plan("Sure! First you grab it.", mug)


def test_constrained_parse_picks_closest_valid_steps():
    mug = [load_object("mug")]
    steps = closest_plan(INVALID, "drink from the mug", mug)
    assert [(s.primitive, s.object_index) for s in steps] == [("grasp", 0)]
    steps = closest_plan("1. grab it 2. drink 3. put it down", "drink from the mug", mug)
    assert [s.primitive for s in steps] == ["grasp", "drink", "place"]
    steps = closest_plan("%%%%", "pick up the mug and shake it", mug)
    assert [s.primitive for s in steps] == ["grasp", "shake"]
    with pytest.raises(LLMPlanError, match="no usable sub-task"):
        closest_plan("%%%%", "flibber the wug", mug)


def test_endpoint_valid_reply_is_grounded_by_the_mask_head(planner, monkeypatch):
    monkeypatch.setenv("OPENHOI_LLM_MODEL", "stub-model")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with _Stub([json.dumps(VALID)]) as stub:
        plan = _llm(planner, stub.url).plan("pick up the mug by its handle and drink", ["mug"])
    path, headers, body = stub.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "stub-model"
    assert headers["Authorization"] == "Bearer sk-test"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert [s.primitive for s in plan.subtasks] == ["grasp", "lift", "drink", "place"]
    assert plan.subtasks[0].text == "grasp the mug by its handle with the right hand"
    assert all(s.mask.shape == (2048,) and np.isfinite(s.mask).all() for s in plan.subtasks)
    assert plan.source == "llm:stub-model" and plan.ungrounded is None


def test_endpoint_invalid_then_valid_retries_with_the_error(planner):
    with _Stub([INVALID, json.dumps(VALID)]) as stub:
        plan = _llm(planner, stub.url + "/v1", model="m").plan("drink from the mug", ["mug"])
    assert len(stub.requests) == 2
    retry = stub.requests[1][2]["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert "primitive must be one of" in retry[-1]["content"] and "pick_up" in retry[-1]["content"]
    assert len(plan.subtasks) == 4 and plan.source == "llm:m"


def test_endpoint_garbage_falls_back_or_fails_clearly(planner):
    with _Stub(["garbage"] * 3) as stub:
        plan = _llm(planner, stub.url, max_retries=2).plan("shake the mug", ["mug"])
    assert len(stub.requests) == 3
    # the fallback's "shake", framed by the review as the request's own words spell it
    assert [s.primitive for s in plan.subtasks] == ["grasp", "lift", "shake", "place"]
    assert plan.source.endswith("(constrained)")
    with _Stub(["garbage"]) as stub, pytest.raises(LLMPlanError, match="no usable sub-task"):
        _llm(planner, stub.url, max_retries=0).plan("flibber the wug zorp", ["mug"])


def test_unreachable_endpoint_and_missing_folder(planner, tmp_path):
    with _Stub([]) as stub:
        url = stub.url
    with pytest.raises(LLMPlanError, match="cannot reach LLM endpoint"):
        _llm(planner, url, timeout_s=2).plan("shake the mug", ["mug"])
    with pytest.raises(MissingFileError, match="neither an http"):
        _llm(planner, str(tmp_path / "nope"))
    with pytest.raises(MissingFileError, match="Hugging Face causal LM"):
        _llm(planner, str(tmp_path))


def _tiny_gpt2(folder):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = ["<unk>", "<eos>", "{", "}", '"', ":", ",", "[", "]", "subtasks", "grasp", "drink",
             "mug", "the", "right", "shake", "place", "lift"]  # fmt: skip
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", eos_token="<eos>")
    fast.save_pretrained(folder)
    config = GPT2Config(vocab_size=len(words), n_positions=4096, n_embd=16, n_layer=1, n_head=2,
                        eos_token_id=1, bos_token_id=1)  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(folder)


def test_tiny_local_model_folder_runs_through_the_fallback(planner, tmp_path):
    import torch

    torch.manual_seed(0)
    _tiny_gpt2(tmp_path)
    llm = _llm(planner, str(tmp_path), max_retries=1, max_new_tokens=12)
    assert llm.backend.name == tmp_path.name
    plan = llm.plan("pick up the mug and shake it", ["mug"])
    assert {s.primitive for s in plan.subtasks} <= {"grasp", "lift", "drink", "shake", "place"}
    assert plan.source.startswith(f"llm:{tmp_path.name}")
    assert all(s.mask.shape == (2048,) for s in plan.subtasks)
