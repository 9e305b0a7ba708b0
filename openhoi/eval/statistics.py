"""Summaries of a metric: mean ± confidence half-width over repeats, and paired differences.

The OpenHOI tables (like Guo et al. 2022 and Text2HOI) report each metric as mean ± the
half-width of a 95% confidence interval over repeated evaluations with different seeds
(`mean_confidence_interval`).

Comparing two variants that way wastes most of the data: both are measured on the same
prompts with the same seeds, and most of the spread is between prompts, not between
variants. `cluster_bootstrap_interval` takes the paired differences instead (variant −
reference on the same prompt and seed) and gives a percentile-bootstrap interval of their
mean that resamples whole clusters: the benchmark's cluster is an episode, whose prompts
are composed into one sequence and measured together, carrying all its prompts and seeds
along, so correlated pairs are never treated as independent.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.stats

from openhoi.errors import InputError
from openhoi.eval._arrays import as_float_array

__all__ = [
    "ConfidenceInterval",
    "PairedInterval",
    "cluster_bootstrap_interval",
    "mean_confidence_interval",
]

DEFAULT_RESAMPLES = 2000


class ConfidenceInterval(NamedTuple):
    """A mean and the half-width of its confidence interval, in the metric's units."""

    mean: float
    half_width: float  # the interval is mean ± half_width; NaN for a single value


def mean_confidence_interval(values: object, confidence: float = 0.95) -> ConfidenceInterval:
    """Mean and Student-t confidence half-width of repeated measurements.

    half_width = t_{(1+c)/2, n−1} · s / √n with s the sample standard deviation (ddof=1)
    and n the number of repeats. A single value has no spread estimate: its half-width is
    NaN (not 0, which would claim certainty). Identical values give 0.

    Args:
        values: `(n,)` one metric value per repeat.
        confidence: c in (0, 1), e.g. 0.95.

    Returns:
        :class:`ConfidenceInterval`, which unpacks as `(mean, half_width)`.

    Raises:
        InputError: if `values` is empty, not 1-D, holds NaN/inf, or `confidence` is not
            in (0, 1).
    """
    if not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")
    array = as_float_array("values", values, min_ndim=1)
    if array.ndim != 1:
        raise InputError(f"values must have shape (n,), got {array.shape}")
    mean = float(array.mean())
    if array.size == 1:
        return ConfidenceInterval(mean, float("nan"))
    standard_error = array.std(ddof=1) / np.sqrt(array.size)
    if standard_error == 0.0:
        return ConfidenceInterval(mean, 0.0)
    t_quantile = scipy.stats.t.ppf((1.0 + confidence) / 2.0, df=array.size - 1)
    return ConfidenceInterval(mean, float(t_quantile * standard_error))


class PairedInterval(NamedTuple):
    """The mean paired difference and its bootstrap interval, in the metric's units."""

    mean: float
    low: float  # NaN when it cannot be estimated (fewer than 2 clusters)
    high: float
    num_pairs: int
    num_clusters: int

    @property
    def is_detectable(self) -> bool:
        """True when the interval excludes 0 (False for a NaN interval)."""
        return bool(self.low > 0.0 or self.high < 0.0)


def cluster_bootstrap_interval(
    differences: object,
    clusters: object,
    *,
    confidence: float = 0.95,
    num_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> PairedInterval:
    """Percentile-bootstrap interval of the mean paired difference, resampling clusters.

    With C clusters, each resample draws C cluster labels with replacement
    (`numpy.random.default_rng(seed)`), takes every pair of each drawn cluster, and computes
    the mean over those pairs: mean_b = Σ_c∈b S_c / Σ_c∈b n_c, with S_c the sum and n_c
    the number of the pairs of cluster c. The interval is the (1 − c)/2 and (1 + c)/2
    quantiles of the B = `num_resamples` means (numpy's linear interpolation). The same
    inputs and seed give the same interval.

    Identical pairs give [0, 0]; a constant shift d gives [d, d]. With one cluster there is
    nothing to resample and the interval is NaN.

    Args:
        differences: `(n,)` paired differences, variant − reference, one per (prompt, seed).
        clusters: `(n,)` the cluster (e.g. episode) of each pair; any hashable labels.
        confidence: c in (0, 1).
        num_resamples: B >= 1.
        seed: seed of the resampling.

    Returns:
        :class:`PairedInterval`.

    Raises:
        InputError: on empty, non-finite or mismatched inputs, or bad `confidence` or
            `num_resamples`.
    """
    if not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(num_resamples, bool) or not isinstance(num_resamples, int) or num_resamples < 1:
        raise InputError(f"num_resamples must be an integer >= 1, got {num_resamples!r}")
    values = as_float_array("differences", differences, min_ndim=1)
    if values.ndim != 1:
        raise InputError(f"differences must have shape (n,), got {values.shape}")
    labels = list(clusters)  # type: ignore[call-overload]
    if len(labels) != values.size:
        raise InputError(
            f"clusters has {len(labels)} labels but differences has {values.size} values"
        )
    if not labels:
        raise InputError("differences is empty: no pairs to compare")
    position = {label: k for k, label in enumerate(dict.fromkeys(labels))}
    names = list(position)
    index = np.array([position[label] for label in labels])
    sums = np.bincount(index, weights=values, minlength=len(names))
    counts = np.bincount(index, minlength=len(names)).astype(np.float64)
    mean = float(values.mean())
    if len(names) < 2:
        return PairedInterval(mean, math.nan, math.nan, int(values.size), len(names))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(num_resamples, len(names)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return PairedInterval(mean, float(low), float(high), int(values.size), len(names))
