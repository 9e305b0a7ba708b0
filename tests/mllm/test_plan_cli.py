"""`openhoi plan / generate` with the plan review and the LLM front end (issue 31, parts 3-4).

Ungroundable requests exit 2 with one line and write nothing; `--force` keeps the best
guess and says why in plan.json; dropped steps are printed. The LLM runs are served by the
stub endpoint of `test_llm_frontend.py` and grounded by a tiny random planner.
"""

from __future__ import annotations

import json

import pytest

import openhoi.mllm
from openhoi.cli import main
from openhoi.mllm.api import Planner

from .test_llm_frontend import VALID, _Stub

JAR = [
    {"primitive": "grasp", "hands": "left", "object": "jar", "affordance": "grasp",
     "text": "hold the jar"},
    {"primitive": "twist_open", "hands": "right", "object": "jar", "affordance": "open",
     "text": "twist the lid"},
]  # fmt: skip


def _run(capsys, *args):
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def tiny_planner(tiny_model, monkeypatch):
    def load(path=None, *, device="cpu", require_grounding=False):
        return Planner(tiny_model, device=device, require_grounding=require_grounding)

    monkeypatch.setattr(openhoi.mllm, "load_planner", load)


def test_llm_plan_nonsense_exits_2_unless_forced(tiny_planner, capsys, tmp_path):
    out = tmp_path / "plan"
    with _Stub([json.dumps(VALID)] * 2) as stub:
        args = ["plan", "--instruction", "flibber the wug zorp", "--object", "mug",
                "--planner-llm", stub.url, "--out", str(out)]  # fmt: skip
        code, _, err = _run(capsys, *args)
        assert code == 2 and err.count("\n") == 1 and "flibber the wug zorp" in err
        assert "--force" in err and not out.exists()
        code, text, _ = _run(capsys, *args, "--force")
    assert code == 0 and "best guess" in text
    plan = json.loads((out / "plan.json").read_text())
    assert "no action" in plan["ungrounded"] and plan["source"] == "llm:default"
    assert [s["primitive"] for s in plan["subtasks"]] == ["grasp", "lift", "drink", "place"]


def test_llm_plan_says_which_steps_were_dropped(tiny_planner, capsys, tmp_path):
    # a jar cannot cut: the words spell out no plan it can do, so the LLM's steps stay and
    # what they leave out is listed
    instruction = "pick up the jar, open it, cut it and put it down"
    with _Stub([json.dumps({"subtasks": JAR})]) as stub:
        code, text, _ = _run(capsys, "plan", "--instruction", instruction, "--object", "jar",
                             "--planner-llm", stub.url, "--out", str(tmp_path))  # fmt: skip
    assert code == 0
    for request in ("'cut'", "'put it down'"):
        assert f"dropped {request}" in " ".join(text.split())
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert [d["request"] for d in plan["dropped"]] == ["cut", "put it down"]
    assert plan["subtasks"][1]["text"] == "twist open the lid of the jar with the right hand"


def test_bad_llm_source_is_one_line(capsys, tmp_path):
    code, _, err = _run(capsys, "plan", "--instruction", "shake the mug", "--object", "mug",
                        "--planner-llm", str(tmp_path / "missing"))  # fmt: skip
    assert code == 2 and "neither an http(s) URL nor an existing model folder" in err


def test_shipped_planner_rejects_nonsense(capsys, tmp_path):
    out = tmp_path / "plan"
    args = ["plan", "--instruction", "colourless green ideas sleep furiously", "--object",
            "bottle", "--out", str(out)]  # fmt: skip
    code, _, err = _run(capsys, *args)
    assert code == 2 and "no action this planner knows" in err and not out.exists()


def test_generate_rejects_ungroundable_request_before_writing(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = _run(capsys, "generate", "--instruction", "tap the bottle trigger",
                        "--object", "bottle", "--out", str(out), "--steps", "2",
                        "--no-render", "--no-report", "-q")  # fmt: skip
    assert code == 2 and "has a trigger" in err and not out.exists()
