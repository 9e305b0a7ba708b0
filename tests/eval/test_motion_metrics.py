"""Known answers for MPJPE, FOL, FID, Diversity, MModality, SmoothRate and boundary jerk."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from openhoi.errors import InputError
from openhoi.eval.motion_metrics import (
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


def _keypoints(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=0.1, size=(*shape, 21, 3))


# MPJPE ------------------------------------------------------------------------------------


def test_mpjpe_of_constant_offset_is_its_norm_in_mm():
    target = _keypoints((2, 8, 2))
    offset = np.array([0.003, -0.004, 0.012])  # 13 mm
    assert mpjpe_mm(target + offset, target) == pytest.approx(13.0)
    assert mpjpe_mm(target[0, :, 0] + offset, target[0, :, 0]) == pytest.approx(13.0)


def test_mpjpe_accepts_tensors_and_is_zero_for_identical_input():
    target = torch.from_numpy(_keypoints((5,)))
    assert mpjpe_mm(target, target.clone()) == 0.0


def test_mpjpe_mask_drops_a_hand_that_does_not_act():
    target = _keypoints((1, 6, 2))
    pred = target.copy()
    pred[:, :, 0] += np.array([0.0, 0.0, 0.01])  # left hand 10 mm off
    pred[:, :, 1] += np.array([0.0, 0.05, 0.0])  # right hand 50 mm off
    assert mpjpe_mm(pred, target) == pytest.approx(30.0)
    left_only = np.array([[True, False]])[:, None, :]  # (N, 1, 2) per-hand mask
    assert mpjpe_mm(pred, target, left_only) == pytest.approx(10.0)
    frame_mask = np.zeros((1, 6, 2), dtype=bool)
    frame_mask[0, :2, 1] = True
    assert mpjpe_mm(pred, target, frame_mask) == pytest.approx(50.0)


def test_mpjpe_rejects_bad_inputs():
    target = _keypoints((4,))
    with pytest.raises(InputError, match="same shape"):
        mpjpe_mm(target[:3], target)
    with pytest.raises(InputError, match="selects no"):
        mpjpe_mm(target, target, np.zeros(4, dtype=bool))
    with pytest.raises(InputError, match="broadcast"):
        mpjpe_mm(target, target, np.ones(5, dtype=bool))
    with pytest.raises(InputError, match="boolean"):
        mpjpe_mm(target, target, np.ones(4))
    with pytest.raises(InputError, match="NaN"):
        mpjpe_mm(np.full_like(target, np.nan), target)


def test_root_aligned_mpjpe_ignores_translation_but_sees_articulation():
    target = _keypoints((3, 7, 2))
    translation = np.random.default_rng(1).normal(size=(3, 7, 2, 1, 3))
    assert root_aligned_mpjpe_mm(target + translation, target) == pytest.approx(0.0, abs=1e-9)
    assert mpjpe_mm(target + translation, target) > 100.0
    bent = target.copy()
    bent[..., 5:, :] += np.array([0.0, 0.0, 0.021])  # 16 of 21 joints move 21 mm
    assert root_aligned_mpjpe_mm(bent, target) == pytest.approx(21.0 * 16 / 21)


# FOL --------------------------------------------------------------------------------------


def test_fol_is_the_last_frame_distance():
    target = np.zeros((2, 10, 3))
    pred = target.copy()
    pred[:, -1] = [0.3, 0.4, 0.0]  # 0.5 m at the last frame
    pred[:, :-1] = 7.0  # earlier frames do not count
    assert final_object_location_error(pred, target) == pytest.approx(0.5)
    assert final_object_location_error(pred[0], target[0]) == pytest.approx(0.5)


def test_fol_uses_valid_lengths_of_padded_sequences():
    target = np.zeros((2, 10, 3))
    pred = target.copy()
    pred[0, 5] = [0.0, 0.0, 0.2]  # sample 0 ends at frame 5
    pred[1, 9] = [0.0, 0.6, 0.0]  # sample 1 ends at frame 9
    assert final_object_location_error(pred, target, np.array([6, 10])) == pytest.approx(0.4)
    with pytest.raises(InputError, match="num_frames"):
        final_object_location_error(pred, target, np.array([0, 10]))


# FID --------------------------------------------------------------------------------------


def test_fid_of_identical_sets_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 8))
    assert fid(features, features.copy()) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_closed_form():
    # Commuting (diagonal) covariances: tr((Σ1Σ2)^½) = Σ sqrt(a_i b_i).
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = 1.0 + 4.0 + np.sum(a + b - 2.0 * np.sqrt(a * b))
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)
    # One dimension: (μ1−μ2)² + (σ1−σ2)².
    assert frechet_distance([0.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(9.0 + 1.0)


def test_frechet_distance_matches_eigenvalue_form_for_general_covariances():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    sigma1, sigma2 = a @ a.T, b @ b.T
    root1 = scipy.linalg.sqrtm(sigma1).real
    trace_term = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ sigma2 @ root1), 0, None)).sum()
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_term
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-8)


def test_fid_of_sampled_gaussians_approaches_analytic_value():
    rng = np.random.default_rng(0)
    mu1, mu2 = np.zeros(3), np.array([1.0, -0.5, 0.0])
    sigma1 = np.diag([1.0, 2.0, 0.5])
    sigma2 = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.0], [0.0, 0.0, 0.5]])
    x = rng.multivariate_normal(mu1, sigma1, size=200_000)
    y = rng.multivariate_normal(mu2, sigma2, size=200_000)
    analytic = frechet_distance(mu1, sigma1, mu2, sigma2)
    assert analytic > 1.0
    assert fid(x, y) == pytest.approx(analytic, abs=0.03)


def test_fid_of_rank_deficient_features_matches_sqrtm_form():
    # D > N uses the exact nuclear-norm form; it must agree with sqrtm on the covariances.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 40)), rng.normal(size=(12, 40)) + 0.2
    expected = frechet_distance(*feature_statistics(x), *feature_statistics(y))
    assert fid(x, y) == pytest.approx(expected, rel=1e-6)
    assert fid(x, x + 0.1) == pytest.approx(0.01 * 40, rel=1e-9)


def test_feature_statistics_and_fid_reject_bad_shapes():
    with pytest.raises(InputError, match="N >= 2"):
        feature_statistics(np.zeros((1, 3)))
    with pytest.raises(InputError, match="D=3"):
        fid(np.random.default_rng(0).normal(size=(5, 3)), np.ones((5, 4)))


def test_raw_parameter_fid_flattens_frames():
    rng = np.random.default_rng(0)
    sequences = rng.normal(size=(6, 4, 208))
    features = raw_parameter_features(sequences)
    assert features.shape == (6, 4 * 208)
    np.testing.assert_array_equal(features[2, 208:416], sequences[2, 1])
    assert raw_parameter_fid(sequences, sequences.copy()) == pytest.approx(0.0, abs=1e-6)
    shifted = sequences + 0.1
    assert raw_parameter_fid(sequences, shifted) == pytest.approx(0.01 * 4 * 208, rel=1e-6)
    with pytest.raises(InputError, match="208"):
        raw_parameter_features(rng.normal(size=(6, 4, 99)))
    with pytest.raises(InputError, match="same T"):
        raw_parameter_fid(sequences, rng.normal(size=(6, 5, 208)))


# Diversity and MModality ------------------------------------------------------------------


def test_diversity_of_two_clusters_is_half_their_distance():
    # Half the points at 0, half at 10 (4-D): a random pair is split with probability ~1/2.
    points = np.zeros((2000, 4))
    points[1000:, 0] = 10.0
    assert diversity(points, num_pairs=300, seed=0) == pytest.approx(5.0, abs=0.8)
    assert diversity(points, num_pairs=2000, seed=1) == pytest.approx(5.0, abs=0.4)


def test_diversity_is_seeded_and_exact_on_a_constant_distance_configuration():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 5))
    assert diversity(features, seed=7) == diversity(features, seed=7)
    assert diversity(features, seed=7) != diversity(features, seed=8)
    # Two points at distance 2: pairs are 0 (self) or 2; with both indices a permutation
    # of {0, 1}, the mean is 0 or 2.
    assert diversity(np.array([[0.0], [2.0]]), num_pairs=2, seed=0) in (0.0, 2.0)
    with pytest.raises(InputError, match="num_pairs=300"):
        diversity(features[:100])


def test_multimodality_is_zero_for_identical_generations_and_sees_spread():
    per_prompt = np.random.default_rng(0).normal(size=(5, 1, 16))
    identical = np.repeat(per_prompt, 20, axis=1)  # (C, G, D), all generations equal
    assert multimodality(identical) == 0.0
    spread = identical.copy()
    spread[:, 10:, 0] += 3.0  # two modes per prompt, 3 apart
    assert 0.0 < multimodality(spread, num_pairs=20, seed=0) <= 3.0
    with pytest.raises(InputError, match="generations per prompt"):
        multimodality(identical, num_pairs=30)


# SmoothRate and jerk ----------------------------------------------------------------------


_VELOCITY = np.array([0.01, -0.02, 0.0, 0.005, 0.01, 0.0])  # per frame, shared by all samples


def _linear_sequences(num: int, frames: int, jump: float = 0.0, boundary: int = 20):
    rng = np.random.default_rng(0)
    sequences = []
    for _ in range(num):
        x = rng.normal(size=6) + np.arange(frames)[:, None] * _VELOCITY
        x[boundary:] += jump
        sequences.append(x)
    return sequences


def test_smooth_rate_small_for_smooth_motion_large_for_a_jump():
    smooth = smooth_rate(_linear_sequences(30, 40), [[20]] * 30, fps=30.0)
    jumpy = smooth_rate(_linear_sequences(30, 40, jump=0.5), [[20]] * 30, fps=30.0)
    assert smooth.num_transitions == 30
    assert smooth.rate_per_step.shape == (10,)
    assert smooth.smooth_rate < 0.1
    assert jumpy.smooth_rate > 100 * smooth.smooth_rate
    # The jump sits in step k = −1 (frame b−1 → b): index W − 1 of rate_per_step.
    assert np.argmax(jumpy.rate_per_step) == 4
    # Same covariance at every frame, so d_k = ‖mean shift‖²: ‖v‖² away from the joint,
    # ‖v + 0.5‖² across it; SmoothRate multiplies by fps.
    assert smooth.rate_per_step == pytest.approx(np.sum(_VELOCITY**2) * 30.0, rel=1e-6)
    assert jumpy.rate_per_step[4] == pytest.approx(np.sum((_VELOCITY + 0.5) ** 2) * 30.0)


def test_smooth_rate_of_a_static_sequence_is_zero_and_edges_are_skipped():
    static = [np.ones((30, 4))]
    result = smooth_rate(static, [[3, 15]], fps=30.0, window_frames=5)
    assert result.num_transitions == 1  # boundary 3 is too close to the start
    assert result.smooth_rate == 0.0
    with pytest.raises(InputError, match="no boundary"):
        smooth_rate(static, [[2]], fps=30.0)
    with pytest.raises(InputError, match="frame indices"):
        smooth_rate(static, [[30]], fps=30.0)


def test_constant_velocity_has_zero_jerk_and_a_step_a_large_one():
    frames = np.arange(40)[:, None, None]
    positions = np.zeros((40, 21, 3)) + frames * np.array([0.01, 0.0, -0.005])
    smooth = boundary_jerk(positions, [20], fps=30.0)
    assert smooth.max_jerk_m_s3 == pytest.approx(0.0, abs=1e-6)
    stepped = positions.copy()
    stepped[20:] += np.array([0.0, 0.02, 0.0])
    result = boundary_jerk(stepped, [20], fps=30.0)
    # Third differences of a step s are s, −2s, s (stencils t = b−3..b−1): peak 2s, × fps³.
    assert result.max_jerk_m_s3 == pytest.approx(0.04 * 30.0**3)
    assert result.num_boundaries == 1
    assert 0.0 < result.mean_jerk_m_s3 < result.max_jerk_m_s3


def test_constant_acceleration_has_zero_jerk():
    t = np.arange(30, dtype=float)[:, None, None, None]
    positions = np.broadcast_to(0.5 * 0.001 * t**2, (30, 2, 21, 3))
    assert boundary_jerk(positions, [10, 20], fps=60.0).max_jerk_m_s3 == pytest.approx(
        0.0, abs=1e-6
    )


def test_frame_motion_statistics_of_constant_velocity():
    positions = np.arange(10)[:, None, None] * np.array([0.0, 0.003, 0.004])  # 5 mm/frame
    positions = np.repeat(positions, 21, axis=1)
    stats = frame_motion_statistics(positions, fps=30.0)
    assert stats.mean_step_m == pytest.approx(0.005)
    assert stats.p95_step_m == pytest.approx(0.005)
    assert stats.mean_speed_m_s == pytest.approx(0.15)
    assert stats.mean_jerk_m_s3 == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(InputError, match="4 frames"):
        frame_motion_statistics(positions[:3], fps=30.0)
    with pytest.raises(InputError, match="fps"):
        frame_motion_statistics(positions, fps=0.0)
