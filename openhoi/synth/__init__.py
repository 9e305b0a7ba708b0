"""SynthHOI: procedural, physically checked hand–object interaction episodes."""

from openhoi.synth.eval_split import EvalSplitSpec, eval_split_folder, eval_split_manifest
from openhoi.synth.generator import (
    SPLITS_FILE,
    GeneratorConfig,
    SynthReport,
    generate_episode,
    synthesize_dataset,
    write_splits,
)
from openhoi.synth.grasp import GRASP_TYPES, Grasp, GraspConfig, GraspFailure, synthesize_grasp
from openhoi.synth.language import (
    PRIMITIVE_VERBS,
    instruction_templates,
    plan_target_text,
    subtask_phrasings,
)
from openhoi.synth.primitives import BUILDERS, build_segment
from openhoi.synth.quality import QualityConfig, QualityReport, check_segment
from openhoi.synth.tasks import (
    EPISODE_KINDS,
    HELD_OUT_OBJECTS,
    KIND_STEPS,
    TaskSpec,
    kinds_for,
    make_task,
    sample_task,
)

__all__ = [
    "BUILDERS",
    "EPISODE_KINDS",
    "GRASP_TYPES",
    "HELD_OUT_OBJECTS",
    "KIND_STEPS",
    "PRIMITIVE_VERBS",
    "SPLITS_FILE",
    "EvalSplitSpec",
    "GeneratorConfig",
    "Grasp",
    "GraspConfig",
    "GraspFailure",
    "QualityConfig",
    "QualityReport",
    "SynthReport",
    "TaskSpec",
    "build_segment",
    "check_segment",
    "eval_split_folder",
    "eval_split_manifest",
    "generate_episode",
    "instruction_templates",
    "kinds_for",
    "make_task",
    "plan_target_text",
    "sample_task",
    "subtask_phrasings",
    "synthesize_dataset",
    "synthesize_grasp",
    "write_splits",
]
