"""3D MLLM planner: instruction + object points → ordered sub-tasks with <AFF> affordance masks.

Public surface: `load_planner(path=None) -> Planner` with `.plan(instruction, objects) ->
Plan`, `write_plan`, and the typed plan values. Every plan is reviewed (`review`: scene
names and parts, dropped steps, ungroundable requests); `LLMFrontEndConfig` puts any LLM
in front (`llm_frontend`). Torch-heavy modules (model, training) are
imported lazily, so `import openhoi.mllm` stays cheap.
"""

from __future__ import annotations

from openhoi._lazy import lazy_attributes

_LAZY = {
    "Plan": "openhoi.mllm.plan",
    "PlanParseError": "openhoi.mllm.plan",
    "parse_plan_text": "openhoi.mllm.plan",
    "Planner": "openhoi.mllm.api",
    "load_planner": "openhoi.mllm.api",
    "write_plan": "openhoi.mllm.api",
    "write_plans_jsonl": "openhoi.mllm.api",
    "read_plan_requests": "openhoi.mllm.api",
    "PlannerModel": "openhoi.mllm.model",
    "PlannerModelConfig": "openhoi.mllm.model",
    "PlannerTrainConfig": "openhoi.mllm.training",
    "train_planner": "openhoi.mllm.training",
    "evaluate_planner": "openhoi.mllm.evaluation",
    "LLMFrontEndConfig": "openhoi.mllm.llm_frontend",
    "LLMPlanError": "openhoi.mllm.llm_frontend",
    "UngroundedRequestError": "openhoi.mllm.review",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
