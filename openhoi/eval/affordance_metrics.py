"""Affordance-map metrics AUC, aIoU, SIM and MAE, as PIAD (IAGNet) and LASO compute them.

Sources: PIAD / IAGNet (Yang et al., ICCV 2023, github.com/yyvhang/IAGNet, `train.py` and
`utils/eval.py`) and LASO (Li et al., CVPR 2024, github.com/yl3800/LASO, `eval_lyc.py`); both
use the same per-sample definitions, reproduced here (OpenHOI reports AUC in its Table A2):

- GT is binarised as `gt >= 0.5`. A sample whose binarised GT has no positive point gets NaN
  for AUC and aIoU and is left out of their means (PIAD/LASO `np.nanmean`).
- AUC: ROC AUC of the scores `pred` against the binarised GT (PIAD: sklearn's
  `roc_auc_score`; here the identical Mann–Whitney rank form, ties counted ½). A GT with
  only positives has no ROC curve (sklearn raises), so that AUC is NaN too.
- aIoU: mean over the 20 thresholds `numpy.linspace(0, 1, 20)` (0, 1/19, …, 1) of
  IoU(pred >= thr, GT). PIAD/LASO use these 20 thresholds, not a 0.01 grid; other
  thresholds can be passed.
- SIM: Σ_p min(pred_p / Σ pred, gt_p / Σ gt), each map normalised to sum 1 (with PIAD's
  1e-12 added to each sum, so an all-zero map has SIM 0). Uses the raw GT, not binarised.
- MAE: mean_p |pred_p − gt_p| per sample.

Every metric is computed per sample; the reported value is the mean over samples, ignoring
NaN ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from openhoi.errors import InputError
from openhoi.eval._arrays import as_float_array

__all__ = [
    "AFFORDANCE_GT_THRESHOLD",
    "PIAD_IOU_THRESHOLDS",
    "AffordanceMetrics",
    "affordance_metrics",
    "roc_auc_rows",
]

AFFORDANCE_GT_THRESHOLD = 0.5  # PIAD/LASO binarise GT as gt >= 0.5 for AUC and aIoU
PIAD_IOU_THRESHOLDS = np.linspace(0.0, 1.0, 20)  # PIAD/LASO aIoU thresholds, pred >= thr
PIAD_IOU_THRESHOLDS.flags.writeable = False
_SIM_EPS = 1e-12  # PIAD's guard on each map's sum


@dataclass(frozen=True)
class AffordanceMetrics:
    """Per-sample affordance metrics averaged over samples (NaN samples left out)."""

    auc: float  # ROC AUC in [0, 1] ↑; NaN if no sample has both GT classes
    aiou: float  # mean IoU over thresholds, in [0, 1] ↑; NaN if no sample has a GT positive
    sim: float  # histogram intersection of the sum-normalised maps, in [0, 1] ↑
    mae: float  # mean absolute error per point, in [0, 1] ↓
    num_samples: int  # N
    num_auc_samples: int  # samples whose binarised GT has both classes
    num_aiou_samples: int  # samples whose binarised GT has a positive point


def affordance_metrics(
    pred: object, target: object, iou_thresholds: object | None = None
) -> AffordanceMetrics:
    """AUC, aIoU, SIM and MAE of predicted per-point affordance maps (PIAD/LASO definitions).

    Args:
        pred: `(N, P)` predicted affordance per point, in [0, 1].
        target: `(N, P)` ground-truth affordance per point, in [0, 1].
        iou_thresholds: `(K,)` thresholds for aIoU; default :data:`PIAD_IOU_THRESHOLDS`.

    Returns:
        :class:`AffordanceMetrics`.

    Raises:
        InputError: on shapes other than matching `(N, P)` or values outside [0, 1].
    """
    scores = _unit_interval_maps("pred", pred)
    truth = _unit_interval_maps("target", target)
    if scores.shape != truth.shape:
        raise InputError(
            f"pred and target must have the same shape (N, P), got {scores.shape} and {truth.shape}"
        )
    thresholds = (
        PIAD_IOU_THRESHOLDS
        if iou_thresholds is None
        else as_float_array("iou_thresholds", iou_thresholds, min_ndim=1)
    )
    if thresholds.ndim != 1:
        raise InputError(f"iou_thresholds must have shape (K,), got {thresholds.shape}")

    labels = truth >= AFFORDANCE_GT_THRESHOLD  # (N, P)
    auc = roc_auc_rows(scores, labels)
    aiou = _average_iou(scores, labels, thresholds)
    sim = _similarity(scores, truth)
    mae = np.abs(scores - truth).mean(axis=1)
    return AffordanceMetrics(
        auc=_nan_mean(auc),
        aiou=_nan_mean(aiou),
        sim=float(sim.mean()),
        mae=float(mae.mean()),
        num_samples=scores.shape[0],
        num_auc_samples=int(np.isfinite(auc).sum()),
        num_aiou_samples=int(np.isfinite(aiou).sum()),
    )


def roc_auc_rows(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`(N,)` ROC AUC per sample (Mann–Whitney U / (n⁺ n⁻), average ranks for ties); NaN if
    a sample's labels have a single class."""
    ranks = scipy.stats.rankdata(scores, axis=1)  # average ranks, 1-based
    num_positive = labels.sum(axis=1).astype(np.float64)
    num_negative = labels.shape[1] - num_positive
    rank_sum = np.where(labels, ranks, 0.0).sum(axis=1)
    valid = (num_positive > 0) & (num_negative > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - num_positive * (num_positive + 1) / 2) / (num_positive * num_negative)
    return np.where(valid, auc, np.nan)


def _average_iou(scores: np.ndarray, labels: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """`(N,)` mean over thresholds of IoU(scores >= thr, labels); NaN if no positive label."""
    has_positive = labels.any(axis=1)
    ious = np.zeros(scores.shape[0])
    for threshold in thresholds:
        predicted = scores >= threshold
        intersection = (predicted & labels).sum(axis=1)
        union = (predicted | labels).sum(axis=1)  # >= 1 wherever labels has a positive
        ious += intersection / np.maximum(union, 1)
    return np.where(has_positive, ious / len(thresholds), np.nan)


def _similarity(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """`(N,)` SIM: sum of the elementwise minimum of the two maps normalised to sum 1."""
    scores_normalised = scores / (scores.sum(axis=1, keepdims=True) + _SIM_EPS)
    truth_normalised = truth / (truth.sum(axis=1, keepdims=True) + _SIM_EPS)
    return np.minimum(scores_normalised, truth_normalised).sum(axis=1)


def _nan_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _unit_interval_maps(name: str, value: object) -> np.ndarray:
    array = as_float_array(name, value, min_ndim=2)
    if array.ndim != 2:
        raise InputError(f"{name} must have shape (N, P), got {array.shape}")
    if array.min() < 0.0 or array.max() > 1.0:
        raise InputError(
            f"{name} must lie in [0, 1], got values in [{array.min():.4g}, {array.max():.4g}]; "
            "apply a sigmoid to logits first"
        )
    return array
