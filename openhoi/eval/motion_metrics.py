"""Motion metrics of generated hand–object sequences: accuracy, realism, diversity, smoothness.

Paper: OpenHOI, Sec. 4.2 ("Evaluation metric") and App. C.5 (SmoothRate, Eq. 28). The paper
names its metrics but gives no formulas; each function below states the definition it
implements and where that definition comes from.

==================  ==========================================================================
Paper name          Function here
==================  ==========================================================================
MPJPE ↓             :func:`mpjpe_mm` (and :func:`root_aligned_mpjpe_mm`), millimetres
FOL ↓               :func:`final_object_location_error`, metres
FID ↓               :func:`fid` on evaluator features; :func:`raw_parameter_fid` on raw frames
Diversity →         :func:`diversity` (Guo et al. 2022, random pairs across all samples)
MModality ↑         :func:`multimodality` (Guo et al. 2022, random pairs within each prompt)
SmoothRate ↓        :func:`smooth_rate` (Eq. 28, dFID/dt; our reading is documented there)
--                  :func:`boundary_jerk` and :func:`frame_motion_statistics` (not in the paper)
==================  ==========================================================================

Shape letters: N samples, T frames, J joints (21 hand keypoints: the 16 MANO joints, wrist
first, then 5 fingertips, as `HOISequence.hand_joints` returns them), D feature dimensions.
Every function accepts numpy arrays or torch tensors and computes in float64 numpy.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from openhoi.data.layout import FRAME_DIM
from openhoi.errors import InputError
from openhoi.eval._arrays import as_float_array

__all__ = [
    "DEFAULT_BOUNDARY_WINDOW_FRAMES",
    "DEFAULT_DIVERSITY_PAIRS",
    "DEFAULT_MULTIMODALITY_PAIRS",
    "BoundaryJerkOutput",
    "FrameMotionOutput",
    "SmoothRateOutput",
    "boundary_jerk",
    "diversity",
    "feature_statistics",
    "fid",
    "final_object_location_error",
    "frame_motion_statistics",
    "frechet_distance",
    "mpjpe_mm",
    "multimodality",
    "raw_parameter_features",
    "raw_parameter_fid",
    "root_aligned_mpjpe_mm",
    "smooth_rate",
]

# Guo et al. 2022 (text-to-motion evaluation), also used by Text2HOI: 300 pairs for Diversity
# and 10 pairs per prompt for MModality.
DEFAULT_DIVERSITY_PAIRS = 300
DEFAULT_MULTIMODALITY_PAIRS = 10
# Half-width of the window around a segment boundary, in frames: 5 frames is 1/6 s at 30 fps,
# long enough to hold a short blend, short enough to stay in the transition.
DEFAULT_BOUNDARY_WINDOW_FRAMES = 5

_MM_PER_M = 1000.0
_WRIST_INDEX = 0  # MANO joint 0 is the wrist in the 21-keypoint order
# Regularisation added to both covariances when sqrtm of their product is not finite (the same
# fallback as Guo et al.'s and the Inception FID code).
_FID_EPS = 1e-6
# An imaginary part of sqrtm(Σ1 Σ2) larger than this (relative to its real part) means the
# covariances are not positive semi-definite, not round-off.
_FID_IMAGINARY_TOLERANCE = 1e-3
_JERK_STENCIL = np.array([-1.0, 3.0, -3.0, 1.0])  # x[t+3] - 3x[t+2] + 3x[t+1] - x[t]


# --------------------------------------------------------------------------------------------
# Motion accuracy: MPJPE, FOL
# --------------------------------------------------------------------------------------------


def mpjpe_mm(pred: object, target: object, mask: object | None = None) -> float:
    """Mean per-joint position error in millimetres, pooled over all valid hand-frames.

    MPJPE = mean over valid (sample, frame, hand) and all J joints of ‖p̂_j − p_j‖₂, × 1000.

    Args:
        pred: `(..., J, 3)` generated keypoints in metres, e.g. `(N, T, 2, 21, 3)` for both
            hands or `(T, 21, 3)` for one hand of one sequence.
        target: ground-truth keypoints, same shape as `pred`, metres.
        mask: optional boolean array broadcastable to `pred.shape[:-2]` (e.g. `(N, T, 2)`);
            False drops that hand-frame (padding frames, a hand that does not act). For a
            per-hand mask of shape `(N, 2)` pass `mask[:, None, :]`.

    Returns:
        The error in millimetres.

    Raises:
        InputError: on mismatched shapes, a mask that does not broadcast, or a mask that
            selects nothing.
    """
    pred_m, target_m = _paired_points("pred", pred, "target", target)
    errors_m = np.linalg.norm(pred_m - target_m, axis=-1)  # (..., J)
    per_hand_m = errors_m.mean(axis=-1)  # (...,) every hand-frame has J joints
    return _masked_mean(per_hand_m, mask) * _MM_PER_M


def root_aligned_mpjpe_mm(pred: object, target: object, mask: object | None = None) -> float:
    """MPJPE in millimetres after subtracting each hand's wrist (keypoint 0) per frame.

    Measures articulation only: a global translation of a hand does not change it.
    Arguments and errors as in :func:`mpjpe_mm`.
    """
    pred_m, target_m = _paired_points("pred", pred, "target", target)
    pred_local = pred_m - pred_m[..., _WRIST_INDEX : _WRIST_INDEX + 1, :]
    target_local = target_m - target_m[..., _WRIST_INDEX : _WRIST_INDEX + 1, :]
    return mpjpe_mm(pred_local, target_local, mask)


def final_object_location_error(
    pred_transl: object, target_transl: object, num_frames: object | None = None
) -> float:
    """FOL: mean Euclidean distance in metres between object positions at the last frame.

    FOL = mean_n ‖ô_n(T_n − 1) − o_n(T_n − 1)‖₂ with o the object translation (the 208-D
    layout's `OBJECT_TRANSL`: the object frame origin in world coordinates). The paper only
    names it ("Final Object Location Error (FOL) for object placement", Sec. 4.2) and
    defines no orientation or full-pose variant, so none is implemented.

    Args:
        pred_transl: `(N, T, 3)` or `(T, 3)` generated object translations, metres.
        target_transl: ground truth, same shape, metres.
        num_frames: optional `(N,)` valid lengths of padded sequences; the last frame of
            sample n is then `num_frames[n] - 1`. Default: the last frame, `T - 1`.

    Returns:
        The mean final-frame distance in metres.
    """
    pred = as_float_array("pred_transl", pred_transl, min_ndim=2)
    target = as_float_array("target_transl", target_transl, min_ndim=2)
    if pred.shape != target.shape or pred.shape[-1] != 3 or pred.ndim > 3:
        raise InputError(
            "pred_transl and target_transl must both have shape (N, T, 3) or (T, 3), got "
            f"{pred.shape} and {target.shape}"
        )
    if pred.ndim == 2:
        pred, target = pred[None], target[None]
    num_samples, total_frames = pred.shape[:2]
    if num_frames is None:
        last = np.full(num_samples, total_frames - 1)
    else:
        lengths = np.asarray(num_frames)
        if (
            lengths.shape != (num_samples,)
            or not np.issubdtype(lengths.dtype, np.integer)
            or lengths.min() < 1
            or lengths.max() > total_frames
        ):
            raise InputError(
                f"num_frames must be {num_samples} integers in 1..{total_frames}, got "
                f"shape {lengths.shape} with values {lengths.tolist()[:5]}..."
            )
        last = lengths - 1
    rows = np.arange(num_samples)
    return float(np.linalg.norm(pred[rows, last] - target[rows, last], axis=-1).mean())


# --------------------------------------------------------------------------------------------
# Realism and diversity: FID, Diversity, MModality
# --------------------------------------------------------------------------------------------


def feature_statistics(features: object) -> tuple[np.ndarray, np.ndarray]:
    """Mean `(D,)` and unbiased covariance `(D, D)` of `(N, D)` features, N ≥ 2."""
    array = _feature_matrix("features", features)
    return array.mean(axis=0), np.atleast_2d(np.cov(array, rowvar=False))


def frechet_distance(mu1: object, sigma1: object, mu2: object, sigma2: object) -> float:
    """Fréchet distance between the Gaussians N(μ1, Σ1) and N(μ2, Σ2).

    d² = ‖μ1 − μ2‖² + tr(Σ1) + tr(Σ2) − 2 tr((Σ1 Σ2)^½)  (Heusel et al. 2017, "FID").

    The matrix square root is `scipy.linalg.sqrtm`, as in Guo et al.'s and the Inception FID
    code. If it is not finite (near-singular covariances), 1e-6·I is added to both covariances
    and it is retried. Imaginary round-off is discarded; a large imaginary part raises. The
    result is clipped at 0, as round-off can make identical inputs give −1e-12.

    Args:
        mu1, mu2: `(D,)` means.
        sigma1, sigma2: `(D, D)` symmetric positive semi-definite covariances.

    Returns:
        The squared Fréchet distance, in squared feature units.
    """
    mean1 = np.atleast_1d(as_float_array("mu1", mu1))
    mean2 = np.atleast_1d(as_float_array("mu2", mu2))
    cov1 = np.atleast_2d(as_float_array("sigma1", sigma1))
    cov2 = np.atleast_2d(as_float_array("sigma2", sigma2))
    dim = mean1.shape[0]
    if mean1.shape != (dim,) or mean2.shape != (dim,) or cov1.shape != (dim, dim):
        raise InputError(
            f"mu1 {mean1.shape}, mu2 {mean2.shape} and sigma1 {cov1.shape} must be (D,), (D,) "
            "and (D, D) with the same D"
        )
    if cov2.shape != (dim, dim):
        raise InputError(f"sigma2 must have shape ({dim}, {dim}), got {cov2.shape}")

    covmean = _sqrtm(cov1 @ cov2)
    if not np.all(np.isfinite(covmean)):
        offset = np.eye(dim) * _FID_EPS
        covmean = _sqrtm((cov1 + offset) @ (cov2 + offset))
    if np.iscomplexobj(covmean):
        scale = max(1.0, float(np.abs(covmean.real).max()))
        if np.abs(covmean.imag).max() > _FID_IMAGINARY_TOLERANCE * scale:
            raise InputError(
                "sqrtm(sigma1 @ sigma2) has a large imaginary part: the covariances are not "
                "positive semi-definite; check they come from feature_statistics"
            )
        covmean = covmean.real
    diff = mean1 - mean2
    distance = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean)
    return max(float(distance), 0.0)


def fid(real_features: object, generated_features: object) -> float:
    """FID: Fréchet distance between Gaussians fitted to two `(N, D)` feature sets.

    Uses :func:`frechet_distance` on the sample means and covariances. When D exceeds both
    set sizes (e.g. raw-parameter features) the covariances are rank-deficient, `sqrtm` of
    a D×D product is slow and inexact, and the same quantity is computed exactly from the
    centred data instead: with A = (X − μ1)/√(N−1) and B = (Y − μ2)/√(M−1), Σ1 = AᵀA,
    Σ2 = BᵀB and tr((Σ1 Σ2)^½) = ‖A Bᵀ‖_* (sum of singular values of the N×M matrix A Bᵀ,
    whose squares are the nonzero eigenvalues of Σ1 Σ2).

    Args:
        real_features: `(N, D)` features of ground-truth motions (from a motion evaluator).
        generated_features: `(M, D)` features of generated motions, same D.

    Returns:
        The squared Fréchet distance, in squared feature units.
    """
    real = _feature_matrix("real_features", real_features)
    generated = _feature_matrix("generated_features", generated_features)
    if real.shape[1] != generated.shape[1]:
        raise InputError(
            f"real_features has D={real.shape[1]} but generated_features has D={generated.shape[1]}"
        )
    if real.shape[1] <= max(real.shape[0], generated.shape[0]):
        return frechet_distance(*feature_statistics(real), *feature_statistics(generated))
    mean_real, mean_generated = real.mean(axis=0), generated.mean(axis=0)
    a = (real - mean_real) / np.sqrt(real.shape[0] - 1)
    b = (generated - mean_generated) / np.sqrt(generated.shape[0] - 1)
    trace_covmean = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    diff = mean_real - mean_generated
    distance = diff @ diff + np.sum(a * a) + np.sum(b * b) - 2.0 * trace_covmean
    return max(float(distance), 0.0)


def raw_parameter_features(sequences: object) -> np.ndarray:
    """Raw-parameter features: each `(T, 208)` sequence flattened to one `(T·208,)` vector.

    These are NOT learned evaluator features. The OpenHOI code computes its FID on the
    flattened hand/object parameters, so this exists only to compare with its published
    numbers. All sequences must have the same T (crop or resample before calling).

    Args:
        sequences: `(N, T, 208)` frames in the 208-D layout of `openhoi.data.layout`.

    Returns:
        `(N, T·208)` float64 features.
    """
    array = as_float_array("sequences", sequences, min_ndim=3)
    if array.ndim != 3 or array.shape[-1] != FRAME_DIM:
        raise InputError(
            f"sequences must have shape (N, T, {FRAME_DIM}) with one fixed T, got {array.shape}"
        )
    return array.reshape(array.shape[0], -1)


def raw_parameter_fid(real_sequences: object, generated_sequences: object) -> float:
    """Raw-parameter FID (as the OpenHOI code computes it), not an evaluator-feature FID.

    FID between :func:`raw_parameter_features` of two sets of `(N, T, 208)` sequences of the
    same T. With N < T·208 the covariances are rank-deficient; the value is still defined
    but noisy, and it mixes metres with 6D rotation entries. Label it "raw-parameter FID".
    """
    real = raw_parameter_features(real_sequences)
    generated = raw_parameter_features(generated_sequences)
    if real.shape[1] != generated.shape[1]:
        raise InputError(
            f"real_sequences and generated_sequences need the same T; got features of "
            f"{real.shape[1]} and {generated.shape[1]} values"
        )
    return fid(real, generated)


def diversity(features: object, num_pairs: int = DEFAULT_DIVERSITY_PAIRS, seed: int = 0) -> float:
    """Diversity: mean distance between `num_pairs` random pairs of samples (Guo et al. 2022).

    Two index lists of length S = `num_pairs` are drawn from 0..N−1, each without
    replacement and independently of the other, with `numpy.random.default_rng(seed)`;
    Diversity = (1/S) Σ_i ‖v_{a_i} − v_{b_i}‖₂. As in Guo et al., a pair may join a sample
    with itself. The paper's tables mark it "→": closer to the ground truth's value is better.

    Args:
        features: `(N, D)` evaluator features of generated (or real) motions, N ≥ `num_pairs`.
        num_pairs: S, the number of pairs (300 in Guo et al. and Text2HOI).
        seed: seed of the pair draw, so the value is reproducible.

    Returns:
        The mean pair distance, in feature units.
    """
    array = as_float_array("features", features, min_ndim=2)
    if array.ndim != 2:
        raise InputError(f"features must have shape (N, D), got {array.shape}")
    _check_pair_count("num_pairs", num_pairs, array.shape[0], "samples")
    rng = np.random.default_rng(seed)
    first = rng.choice(array.shape[0], num_pairs, replace=False)
    second = rng.choice(array.shape[0], num_pairs, replace=False)
    return float(np.linalg.norm(array[first] - array[second], axis=-1).mean())


def multimodality(
    features: object, num_pairs: int = DEFAULT_MULTIMODALITY_PAIRS, seed: int = 0
) -> float:
    """MModality: mean distance between random pairs of generations of the same prompt.

    Guo et al. 2022: two index lists of length S = `num_pairs` are drawn from 0..G−1 (each
    without replacement, independently, seeded), the same lists for every prompt;
    MModality = (1/(C·S)) Σ_c Σ_i ‖v_{c,a_i} − v_{c,b_i}‖₂, averaged over the C prompts.

    Args:
        features: `(C, G, D)` evaluator features of G generations for each of C prompts,
            G ≥ `num_pairs`.
        num_pairs: S, pairs per prompt (10 in Guo et al.).
        seed: seed of the pair draw.

    Returns:
        The mean within-prompt pair distance, in feature units.
    """
    array = as_float_array("features", features, min_ndim=3)
    if array.ndim != 3:
        raise InputError(
            f"features must have shape (num_prompts, num_generations, D), got {array.shape}"
        )
    _check_pair_count("num_pairs", num_pairs, array.shape[1], "generations per prompt")
    rng = np.random.default_rng(seed)
    first = rng.choice(array.shape[1], num_pairs, replace=False)
    second = rng.choice(array.shape[1], num_pairs, replace=False)
    return float(np.linalg.norm(array[:, first] - array[:, second], axis=-1).mean())


# --------------------------------------------------------------------------------------------
# Transitions: SmoothRate, jerk at segment boundaries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmoothRateOutput:
    """SmoothRate around segment boundaries (see :func:`smooth_rate`)."""

    smooth_rate: float  # mean of `rate_per_step`: squared feature units per second
    rate_per_step: np.ndarray  # (2W,) d_k / Δt for steps k = −W..W−1; k = −1 crosses the joint
    num_transitions: int  # boundaries whose window fitted in their sequence


def smooth_rate(
    features: Sequence[object],
    boundaries: Sequence[Sequence[int]],
    fps: float,
    window_frames: int = DEFAULT_BOUNDARY_WINDOW_FRAMES,
) -> SmoothRateOutput:
    """SmoothRate (OpenHOI App. C.5, Eq. 28): the rate of change of FID across transitions.

    The paper: "SmoothRate = dFID/dt, where dt is the derivative of time", introduced "to
    quantify the temporal continuity of interpolated motion segments"; lower is better. It
    does not say between which distributions the FID is taken. Our reading: dFID is the
    Fréchet distance between the distribution of frames at one instant of a transition and
    at the next instant, and dt is the frame interval 1/fps. Concretely, with boundary b the
    first frame of a later segment and k = −W..W−1 the step from frame b+k to b+k+1:

        G_k     = Gaussian fitted to {f_n(b + k)} over all transitions (n, b)
        d_k     = FrechetDistance(G_k, G_{k+1})           (:func:`frechet_distance`)
        SmoothRate = mean_k d_k / Δt,  Δt = 1 / fps.

    Why this reading: a per-frame FID against real data cannot see a jump whose two sides
    are each realistic, whereas d_k is exactly the distribution change per unit time. For
    smooth motion d_k ≈ ‖v Δt‖² so d_k/Δt → 0 as Δt → 0, while a jump of size s gives
    s²·fps. The value depends on the features, fps and W: compare only runs that share them.
    With fewer than 2 transitions the covariances are taken as 0, so d_k is the squared
    distance between mean frames.

    Args:
        features: one `(T_n, D)` array per sequence of per-frame features (e.g. the 2×21
            keypoints flattened to 126 values in metres, or the 208-D frames).
        boundaries: per sequence, the frame indices where a new segment starts
            (`[start for start, _ in seq.segment_ranges()[1:]]`).
        fps: frames per second of the features.
        window_frames: W, frames on each side of a boundary.

    Returns:
        :class:`SmoothRateOutput`; boundaries closer than W frames to a sequence end are
        skipped and not counted.

    Raises:
        InputError: on bad shapes or arguments, or if no boundary's window fits.
    """
    if len(features) != len(boundaries):
        raise InputError(
            f"features has {len(features)} sequences but boundaries has {len(boundaries)}"
        )
    _check_positive("fps", fps)
    _check_positive_int("window_frames", window_frames)
    windows = []  # each (2W + 1, D): frames b−W .. b+W of one transition
    for index, (sequence, starts) in enumerate(zip(features, boundaries, strict=True)):
        frames = as_float_array(f"features[{index}]", sequence, min_ndim=2)
        if frames.ndim != 2:
            raise InputError(f"features[{index}] must have shape (T, D), got {frames.shape}")
        if windows and frames.shape[1] != windows[0].shape[1]:
            raise InputError(
                f"features[{index}] has D={frames.shape[1]}, earlier sequences "
                f"D={windows[0].shape[1]}"
            )
        for boundary in _checked_boundaries(f"boundaries[{index}]", starts, frames.shape[0]):
            if boundary - window_frames >= 0 and boundary + window_frames < frames.shape[0]:
                windows.append(frames[boundary - window_frames : boundary + window_frames + 1])
    if not windows:
        raise InputError(
            f"no boundary has {window_frames} frames on both sides; lower window_frames or "
            "check boundaries"
        )
    stacked = np.stack(windows)  # (num_transitions, 2W + 1, D)
    stats = [_frame_statistics(stacked[:, k]) for k in range(stacked.shape[1])]
    distances = np.array(
        [frechet_distance(*stats[k], *stats[k + 1]) for k in range(len(stats) - 1)]
    )
    rate_per_step = distances * fps
    return SmoothRateOutput(
        smooth_rate=float(rate_per_step.mean()),
        rate_per_step=rate_per_step,
        num_transitions=stacked.shape[0],
    )


@dataclass(frozen=True)
class BoundaryJerkOutput:
    """Jerk magnitudes near segment boundaries (see :func:`boundary_jerk`)."""

    max_jerk_m_s3: float  # largest per-joint jerk magnitude in any window, m/s³
    mean_jerk_m_s3: float  # mean per-joint jerk magnitude over the windows, m/s³
    num_boundaries: int  # boundaries that had at least one full stencil in range


def boundary_jerk(
    positions: object,
    boundaries: Sequence[int],
    fps: float,
    window_frames: int = DEFAULT_BOUNDARY_WINDOW_FRAMES,
) -> BoundaryJerkOutput:
    """Jerk (third time derivative of position) of joints near segment boundaries.

    jerk_t = ‖x[t+3] − 3x[t+2] + 3x[t+1] − x[t]‖₂ · fps³ per joint (third forward
    difference). For a boundary b (first frame of the later segment) the stencils that span
    the step b−1 → b start at t = b−3 .. b−1; the window adds `window_frames` stencils on
    each side: t ∈ [b−3−W, b−1+W] ∩ [0, T−4]. Overlapping windows count each stencil once.
    Constant-velocity (and constant-acceleration) motion has zero jerk; a step of s metres
    gives up to s·fps³. Compare with :func:`frame_motion_statistics` of the same data.

    Args:
        positions: `(T, ..., 3)` joint positions in metres, e.g. `(T, 2, 21, 3)`.
        boundaries: frame indices where a new segment starts.
        fps: frames per second.
        window_frames: W, extra stencils on each side of the boundary.

    Returns:
        :class:`BoundaryJerkOutput`.
    """
    _check_positive("fps", fps)
    if isinstance(window_frames, bool) or not isinstance(window_frames, int) or window_frames < 0:
        raise InputError(f"window_frames must be an integer >= 0, got {window_frames!r}")
    jerk = _jerk_magnitudes(positions, fps)  # (T − 3, M)
    num_stencils = jerk.shape[0]
    selected = np.zeros(num_stencils, dtype=bool)
    num_used = 0
    for boundary in _checked_boundaries("boundaries", boundaries, num_stencils + 3):
        first = max(boundary - 3 - window_frames, 0)
        last = min(boundary - 1 + window_frames, num_stencils - 1)
        if first <= last:
            selected[first : last + 1] = True
            num_used += 1
    if num_used == 0:
        raise InputError("no boundary has a full jerk stencil in range; need T >= 4")
    in_window = jerk[selected]
    return BoundaryJerkOutput(
        max_jerk_m_s3=float(in_window.max()),
        mean_jerk_m_s3=float(in_window.mean()),
        num_boundaries=num_used,
    )


@dataclass(frozen=True)
class FrameMotionOutput:
    """The data's own typical motion, a scale for boundary jerk and smoothness numbers."""

    mean_step_m: float  # mean per-joint frame-to-frame displacement ‖x[t+1] − x[t]‖, m
    p95_step_m: float  # 95th percentile of the same
    mean_speed_m_s: float  # mean_step_m · fps
    mean_jerk_m_s3: float  # mean per-joint jerk magnitude over the whole sequence, m/s³
    p95_jerk_m_s3: float  # 95th percentile of the same


def frame_motion_statistics(positions: object, fps: float) -> FrameMotionOutput:
    """Typical frame-to-frame motion and jerk of a `(T, ..., 3)` sequence in metres (T ≥ 4)."""
    _check_positive("fps", fps)
    jerk = _jerk_magnitudes(positions, fps)
    points = _points_over_time("positions", positions)
    steps = np.linalg.norm(np.diff(points, axis=0), axis=-1)  # (T − 1, M)
    return FrameMotionOutput(
        mean_step_m=float(steps.mean()),
        p95_step_m=float(np.percentile(steps, 95)),
        mean_speed_m_s=float(steps.mean() * fps),
        mean_jerk_m_s3=float(jerk.mean()),
        p95_jerk_m_s3=float(np.percentile(jerk, 95)),
    )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _paired_points(name_a: str, a: object, name_b: str, b: object) -> tuple[np.ndarray, np.ndarray]:
    first = as_float_array(name_a, a, min_ndim=2)
    second = as_float_array(name_b, b, min_ndim=2)
    if first.shape[-1] != 3:
        raise InputError(f"{name_a} must have shape (..., J, 3), got {first.shape}")
    if first.shape != second.shape:
        raise InputError(
            f"{name_a} and {name_b} must have the same shape, got {first.shape} and {second.shape}"
        )
    return first, second


def _feature_matrix(name: str, features: object) -> np.ndarray:
    array = as_float_array(name, features, min_ndim=2)
    if array.ndim != 2 or array.shape[0] < 2:
        raise InputError(f"{name} must have shape (N, D) with N >= 2, got {array.shape}")
    return array


def _masked_mean(values: np.ndarray, mask: object | None) -> float:
    if mask is None:
        return float(values.mean())
    mask_array = np.asarray(mask.detach().cpu().numpy() if hasattr(mask, "detach") else mask)
    if mask_array.dtype != bool:
        raise InputError(f"mask must be boolean, got dtype {mask_array.dtype}")
    try:
        full = np.broadcast_to(mask_array, values.shape)
    except ValueError as error:
        raise InputError(
            f"mask of shape {mask_array.shape} does not broadcast to {values.shape} "
            "(the keypoint shape without its last two axes)"
        ) from error
    if not full.any():
        raise InputError("mask selects no hand-frames; nothing to average")
    return float(values[full].mean())


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # A singular product (rank-deficient covariances) is expected; finiteness is checked.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return scipy.linalg.sqrtm(matrix)


def _frame_statistics(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of `(M, D)` frames; zero covariance when M < 2."""
    if frames.shape[0] < 2:
        return frames.mean(axis=0), np.zeros((frames.shape[1], frames.shape[1]))
    return feature_statistics(frames)


def _points_over_time(name: str, positions: object) -> np.ndarray:
    """`(T, ..., 3)` → `(T, M, 3)`."""
    array = as_float_array(name, positions, min_ndim=2)
    if array.shape[-1] != 3:
        raise InputError(f"{name} must have shape (T, ..., 3), got {array.shape}")
    return array.reshape(array.shape[0], -1, 3)


def _jerk_magnitudes(positions: object, fps: float) -> np.ndarray:
    """`(T − 3, M)` per-joint jerk magnitudes in m/s³ of `(T, ..., 3)` positions."""
    points = _points_over_time("positions", positions)
    if points.shape[0] < len(_JERK_STENCIL):
        raise InputError(f"positions needs at least 4 frames for jerk, got {points.shape[0]}")
    third_difference = sum(
        weight * points[offset : points.shape[0] - 3 + offset]
        for offset, weight in enumerate(_JERK_STENCIL)
    )
    return np.linalg.norm(third_difference, axis=-1) * fps**3


def _checked_boundaries(name: str, boundaries: Sequence[int], num_frames: int) -> list[int]:
    values = list(boundaries)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InputError(f"{name} must hold integer frame indices, got {value!r}")
        if not 0 < value < num_frames:
            raise InputError(
                f"{name} must be frame indices in 1..{num_frames - 1} (the first frame of a "
                f"later segment), got {value}"
            )
    return [int(value) for value in values]


def _check_pair_count(name: str, value: int, available: int, what: str) -> None:
    _check_positive_int(name, value)
    if value > available:
        raise InputError(
            f"{name}={value} needs at least {value} {what}, got {available}; lower {name} "
            "or generate more"
        )


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")


def _check_positive(name: str, value: float) -> None:
    is_number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if not is_number or not np.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a positive number, got {value!r}")
