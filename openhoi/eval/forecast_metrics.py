"""Hand forecasting metrics (HandWorld's protocol): best-of-K keypoint errors and baselines.

The 12 keypoints are both wrists and the 5 fingertips of each hand (left first), taken
from the 21 hand keypoints of `HOISequence.hand_joints` (16 MANO joints, then the 5
fingertips). For K forecasts `(K, N, 12, 3)` of the N future frames and the truth
`(N, 12, 3)`, in metres:

    e_k(t)   = mean over the 12 keypoints of ‖x̂_k(t, j) − x(t, j)‖
    mean_k   = mean over t of e_k(t)        (ADE)        final_k = e_k(N − 1)   (FDE)
    best-of-K mean = min_k mean_k,          best-of-K final = min_k final_k

each minimum taken on its own (the usual minADE / minFDE), reported in millimetres.
Baselines continue the history's keypoints: copy-last holds the last frame, constant
velocity extrapolates the last frame-to-frame step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from openhoi.data import HAND_SIDES
from openhoi.errors import InputError
from openhoi.eval._arrays import as_float_array

__all__ = [
    "FORECAST_KEYPOINTS",
    "ForecastErrors",
    "best_of_k",
    "constant_velocity_forecast",
    "copy_last_forecast",
    "forecast_errors",
    "forecast_keypoints",
]

# Indices among the 21 hand keypoints: the wrist (joint 0) and the 5 fingertips (16..20).
FORECAST_KEYPOINTS = (0, 16, 17, 18, 19, 20)
_MM_PER_M = 1000.0


@dataclass(frozen=True)
class ForecastErrors:
    """Per-forecast errors, each `(K,)` float64 in millimetres.

    mean_mm: mean over frames of the mean keypoint distance (ADE).
    final_mm: the mean keypoint distance at the last frame (FDE).
    """

    mean_mm: np.ndarray
    final_mm: np.ndarray


def forecast_keypoints(sequence, hands: Mapping | None = None) -> np.ndarray:
    """`(T, 12, 3)` metres: both wrists and fingertips of `sequence` (left hand first).

    Args:
        sequence: an `HOISequence`.
        hands: side → `HandModel` (default: the embedded hand).
    """
    hands = hands or {}
    parts = [
        np.asarray(sequence.hand_joints(side, hands.get(side)))[:, FORECAST_KEYPOINTS]
        for side in HAND_SIDES
    ]
    return np.concatenate(parts, axis=1).astype(np.float64)


def forecast_errors(forecasts: object, truth: object) -> ForecastErrors:
    """Errors of K forecasts `(K, N, J, 3)` (or one `(N, J, 3)`) against `(N, J, 3)`, metres."""
    truth = as_float_array("truth", truth, min_ndim=3)
    forecasts = as_float_array("forecasts", forecasts, min_ndim=3)
    if forecasts.ndim == 3:
        forecasts = forecasts[None]
    if truth.ndim != 3 or truth.shape[-1] != 3 or forecasts.shape[1:] != truth.shape:
        raise InputError(
            f"forecasts must have shape (K, N, J, 3) matching truth (N, J, 3), got "
            f"{forecasts.shape} and {truth.shape}"
        )
    per_frame = np.linalg.norm(forecasts - truth[None], axis=-1).mean(axis=-1)  # (K, N)
    return ForecastErrors(
        mean_mm=per_frame.mean(axis=1) * _MM_PER_M, final_mm=per_frame[:, -1] * _MM_PER_M
    )


def best_of_k(errors: ForecastErrors, k: int) -> tuple[float, float]:
    """(best mean mm, best final mm) over the first `k` forecasts, each minimum on its own."""
    count = len(errors.mean_mm)
    if not 1 <= k <= count:
        raise InputError(f"k must be 1..{count} (the forecasts given), got {k}")
    return float(errors.mean_mm[:k].min()), float(errors.final_mm[:k].min())


def copy_last_forecast(history: object, num_frames: int) -> np.ndarray:
    """`(N, J, 3)`: the history's `(H, J, 3)` last frame, held for `num_frames` frames."""
    history = _history(history, 1)
    _check_count(num_frames)
    return np.repeat(history[-1:], num_frames, axis=0)


def constant_velocity_forecast(history: object, num_frames: int) -> np.ndarray:
    """`(N, J, 3)`: the last frame moved on by the last step, x(H−1) + n·(x(H−1) − x(H−2))."""
    history = _history(history, 2)
    _check_count(num_frames)
    step = history[-1] - history[-2]
    n = np.arange(1, num_frames + 1, dtype=np.float64)[:, None, None]
    return history[-1][None] + n * step[None]


def _history(history: object, least: int) -> np.ndarray:
    history = as_float_array("history", history, min_ndim=3)
    if history.ndim != 3 or history.shape[-1] != 3 or history.shape[0] < least:
        raise InputError(
            f"history must have shape (H, J, 3) with H >= {least}, got {history.shape}"
        )
    return history


def _check_count(num_frames: int) -> None:
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)):
        raise InputError(f"num_frames must be an integer, got {num_frames!r}")
    if num_frames < 1:
        raise InputError(f"num_frames must be >= 1, got {num_frames}")
