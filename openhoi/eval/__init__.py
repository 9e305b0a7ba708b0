"""Evaluation: motion metrics, affordance metrics, physics of sequences, confidence intervals.

The physics metrics and the motion evaluator network (`MotionEvaluator`, `load_evaluator`)
are imported lazily (they pull in torch), so the pure-numpy metrics stay cheap to import.
"""

from __future__ import annotations

from typing import Any

from openhoi.eval.affordance_metrics import (
    AFFORDANCE_GT_THRESHOLD,
    PIAD_IOU_THRESHOLDS,
    AffordanceMetrics,
    affordance_metrics,
)
from openhoi.eval.motion_metrics import (
    BoundaryJerkOutput,
    FrameMotionOutput,
    SmoothRateOutput,
    boundary_jerk,
    diversity,
    feature_statistics,
    fid,
    final_object_location_error,
    frame_motion_statistics,
    frechet_distance,
    mpjpe_mm,
    multimodality,
    raw_parameter_features,
    raw_parameter_fid,
    root_aligned_mpjpe_mm,
    smooth_rate,
)
from openhoi.eval.statistics import ConfidenceInterval, mean_confidence_interval

__all__ = [
    "AFFORDANCE_GT_THRESHOLD",
    "PIAD_IOU_THRESHOLDS",
    "AffordanceMetrics",
    "BoundaryJerkOutput",
    "ConfidenceInterval",
    "FrameMotionOutput",
    "MotionEvaluator",
    "SmoothRateOutput",
    "affordance_metrics",
    "boundary_jerk",
    "diversity",
    "feature_statistics",
    "fid",
    "final_object_location_error",
    "frame_motion_statistics",
    "frechet_distance",
    "load_evaluator",
    "mean_confidence_interval",
    "mpjpe_mm",
    "multimodality",
    "raw_parameter_features",
    "raw_parameter_fid",
    "root_aligned_mpjpe_mm",
    "sequence_physics",
    "smooth_rate",
]


def __getattr__(name: str) -> Any:
    if name == "sequence_physics":
        from openhoi.eval.physics import sequence_physics

        return sequence_physics
    if name in ("MotionEvaluator", "load_evaluator"):
        from openhoi.eval import evaluator

        return getattr(evaluator, name)
    raise AttributeError(f"module 'openhoi.eval' has no attribute {name!r}")
