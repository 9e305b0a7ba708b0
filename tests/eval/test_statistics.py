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


# Paired differences: the cluster bootstrap of openhoi.eval.statistics.


def test_identical_variants_give_zero_interval_and_no_detectable_difference():
    from openhoi.eval.statistics import cluster_bootstrap_interval

    interval = cluster_bootstrap_interval([0.0] * 12, [e for e in range(4) for _ in range(3)])
    assert (interval.mean, interval.low, interval.high) == (0.0, 0.0, 0.0)
    assert not interval.is_detectable
    assert interval.num_pairs == 12 and interval.num_clusters == 4


def test_a_constant_shift_is_detected_with_an_interval_at_the_shift():
    from openhoi.eval.statistics import cluster_bootstrap_interval

    interval = cluster_bootstrap_interval([-2.5] * 9, ["a", "a", "b", "b", "b", "c", "d", "d", "e"])
    assert interval.mean == pytest.approx(-2.5)
    assert interval.low == pytest.approx(-2.5) and interval.high == pytest.approx(-2.5)
    assert interval.is_detectable


def test_bootstrap_interval_is_seeded_and_resamples_clusters_not_pairs():
    from openhoi.eval.statistics import cluster_bootstrap_interval

    rng = np.random.default_rng(0)
    # 10 clusters whose pairs share a cluster effect: the interval must reflect 10
    # independent values, not 100.
    effects = rng.normal(0.0, 1.0, 10)
    differences = np.repeat(effects, 10) + rng.normal(0.0, 0.01, 100)
    clusters = np.repeat(np.arange(10), 10)
    first = cluster_bootstrap_interval(differences, clusters, seed=3)
    assert first == cluster_bootstrap_interval(differences, clusters, seed=3)
    # Against the known answer: the bootstrap of the 10 cluster means.
    width = first.high - first.low
    expected = 2 * 1.96 * effects.std(ddof=0) / math.sqrt(10)
    assert width == pytest.approx(expected, rel=0.25)
    naive = 2 * 1.96 * differences.std() / math.sqrt(100)
    assert width > 2 * naive
    assert first.low < first.mean < first.high


def test_bootstrap_needs_two_clusters_and_matching_inputs():
    from openhoi.eval.statistics import cluster_bootstrap_interval

    one = cluster_bootstrap_interval([1.0, 2.0], [0, 0])
    assert one.mean == 1.5 and math.isnan(one.low) and not one.is_detectable
    with pytest.raises(InputError, match="clusters has 1 labels"):
        cluster_bootstrap_interval([1.0, 2.0], [0])
    with pytest.raises(InputError, match="empty"):
        cluster_bootstrap_interval([], [])
    with pytest.raises(InputError, match="num_resamples"):
        cluster_bootstrap_interval([1.0, 2.0], [0, 1], num_resamples=0)
