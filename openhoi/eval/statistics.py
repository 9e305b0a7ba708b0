"""Summaries of a metric over repeated runs: mean ± half-width of its confidence interval.

The OpenHOI tables (like Guo et al. 2022 and Text2HOI) report each metric as mean ± the
half-width of a 95% confidence interval over repeated evaluations with different seeds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.stats

from openhoi.errors import InputError
from openhoi.eval._arrays import as_float_array

__all__ = ["ConfidenceInterval", "mean_confidence_interval"]


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
