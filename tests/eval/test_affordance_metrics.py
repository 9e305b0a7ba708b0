"""Known answers for the PIAD/LASO affordance metrics AUC, aIoU, SIM and MAE."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.stats
import torch

from openhoi.errors import InputError
from openhoi.eval.affordance_metrics import (
    PIAD_IOU_THRESHOLDS,
    AffordanceMetrics,
    affordance_metrics,
)


def test_perfect_binary_prediction_scores_perfectly():
    target = np.zeros((3, 50))
    target[:, :10] = 1.0
    result = affordance_metrics(target.copy(), target, iou_thresholds=np.linspace(0.01, 1, 100))
    expected = AffordanceMetrics(
        auc=1.0, aiou=1.0, sim=1.0, mae=0.0, num_samples=3, num_auc_samples=3, num_aiou_samples=3
    )
    assert dataclasses.asdict(result) == pytest.approx(dataclasses.asdict(expected))
    # PIAD/LASO's grid starts at 0 and `pred >= 0` selects every point (IoU 10/50 there).
    assert affordance_metrics(target.copy(), target).aiou == pytest.approx((0.2 + 19) / 20)


def test_perfect_ranking_gives_auc_one_and_reversed_gives_zero():
    target = np.zeros((1, 20))
    target[0, 15:] = 0.8
    scores = np.linspace(0.0, 0.6, 20)[None]  # positives have the highest scores
    assert affordance_metrics(scores, target).auc == 1.0
    assert affordance_metrics(scores[:, ::-1].copy(), target).auc == 0.0


def test_random_scores_give_auc_near_one_half():
    rng = np.random.default_rng(0)
    target = (rng.random((200, 500)) < 0.3).astype(float)
    result = affordance_metrics(rng.random((200, 500)), target)
    assert result.auc == pytest.approx(0.5, abs=0.01)


def test_auc_matches_mann_whitney_with_ties():
    rng = np.random.default_rng(1)
    scores = np.round(rng.random((1, 300)), 1)  # many ties
    labels = rng.random(300) < 0.4
    u_statistic = scipy.stats.mannwhitneyu(scores[0, labels], scores[0, ~labels]).statistic
    expected = u_statistic / (labels.sum() * (~labels).sum())
    assert affordance_metrics(scores, labels[None].astype(float)).auc == pytest.approx(expected)


def test_single_class_ground_truth_is_skipped_nan_safely():
    target = np.zeros((3, 10))
    target[0, :4] = 1.0  # sample 0: both classes
    target[2] = 1.0  # sample 2: all positive (AUC undefined, aIoU defined); sample 1: none
    pred = target.copy()
    result = affordance_metrics(pred, target, iou_thresholds=[0.5])
    assert result.auc == 1.0 and result.num_auc_samples == 1
    assert result.aiou == 1.0 and result.num_aiou_samples == 2
    empty = affordance_metrics(np.full((2, 10), 0.3), np.zeros((2, 10)))
    assert np.isnan(empty.auc) and np.isnan(empty.aiou)
    assert empty.num_auc_samples == 0


def test_aiou_averages_piad_thresholds():
    assert PIAD_IOU_THRESHOLDS.shape == (20,)
    target = np.zeros((1, 4))
    target[0, :2] = 1.0
    pred = np.array([[0.5, 0.5, 0.0, 0.0]])
    # thr = 0 selects all 4 points (IoU 1/2); thr in (0, 0.5] selects the 2 positives (IoU 1);
    # thr > 0.5 selects nothing (IoU 0). linspace(0, 1, 20): 1 zero, 9 in (0, 0.5], 10 above.
    assert affordance_metrics(pred, target).aiou == pytest.approx((0.5 + 9 * 1.0) / 20)
    assert affordance_metrics(pred, target, iou_thresholds=[0.25]).aiou == 1.0


def test_sim_and_mae_known_values():
    target = np.array([[1.0, 1.0, 0.0, 0.0]])
    pred = np.array([[1.0, 0.0, 1.0, 0.0]])
    result = affordance_metrics(pred, target)
    assert result.sim == pytest.approx(0.5)  # overlap of (½, ½, 0, 0) and (½, 0, ½, 0)
    assert result.mae == pytest.approx(0.5)
    scaled = affordance_metrics(0.5 * target, target)  # SIM ignores scale, MAE does not
    assert scaled.sim == pytest.approx(1.0)
    assert scaled.mae == pytest.approx(0.25)


def test_accepts_tensors_and_rejects_bad_inputs():
    target = torch.zeros(2, 8)
    target[:, :3] = 1.0
    assert affordance_metrics(target.clone(), target).auc == 1.0
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        affordance_metrics(np.full((2, 8), 2.0), target)
    with pytest.raises(InputError, match="same shape"):
        affordance_metrics(np.zeros((2, 7)), target)
    with pytest.raises(InputError, match=r"\(N, P\)"):
        affordance_metrics(np.zeros((2, 8, 1)), np.zeros((2, 8, 1)))
