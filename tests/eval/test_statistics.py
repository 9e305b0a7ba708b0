"""mean ± confidence half-width over repeats, against scipy.stats.t."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from openhoi.errors import InputError
from openhoi.eval.statistics import mean_confidence_interval


def test_identical_values_have_zero_width():
    mean, half_width = mean_confidence_interval([3.5] * 20)
    assert mean == 3.5 and half_width == 0.0


def test_matches_scipy_t_interval():
    values = np.array([47.1, 48.3, 46.2, 49.0, 47.7, 48.8])
    low, high = scipy.stats.t.interval(
        0.95, df=len(values) - 1, loc=values.mean(), scale=scipy.stats.sem(values)
    )
    result = mean_confidence_interval(values)
    assert result.mean == pytest.approx(values.mean())
    assert result.half_width == pytest.approx((high - low) / 2)
    wider = mean_confidence_interval(values, confidence=0.99)
    assert wider.half_width > result.half_width


def test_single_value_has_undefined_width():
    mean, half_width = mean_confidence_interval([2.0])
    assert mean == 2.0 and math.isnan(half_width)


def test_rejects_bad_input():
    with pytest.raises(InputError, match="empty"):
        mean_confidence_interval([])
    with pytest.raises(InputError, match="NaN"):
        mean_confidence_interval([1.0, float("nan")])
    with pytest.raises(InputError, match="confidence"):
        mean_confidence_interval([1.0, 2.0], confidence=95)
    with pytest.raises(InputError, match=r"\(n,\)"):
        mean_confidence_interval(np.ones((2, 2)))
