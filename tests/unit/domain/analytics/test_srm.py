from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from domain.analytics.srm import SRM_P_VALUE_THRESHOLD, sample_ratio_mismatch
from domain.analytics.statistics import StatisticsError


@pytest.mark.parametrize(
    ("observed", "weights"),
    [
        ((5_000, 5_000), None),
        ((5_030, 4_970), None),
        ((5_200, 4_800), None),
        ((1, 0), None),
        ((3, 5, 9), None),
        ((7_020, 2_980), (0.7, 0.3)),
        ((101_000, 99_000, 50_500), (2.0, 2.0, 1.0)),
        ((10, 90), (1.0, 1.0)),
    ],
)
def test_matches_scipys_chi_square_goodness_of_fit(
    observed: tuple[int, ...], weights: tuple[float, ...] | None
) -> None:
    shares = np.ones(len(observed)) if weights is None else np.array(weights)
    expected = sum(observed) * shares / shares.sum()
    scipy_result = stats.chisquare(observed, expected)

    result = sample_ratio_mismatch(observed, weights=weights)

    assert result.srm_p_value == pytest.approx(float(scipy_result.pvalue), rel=1e-12)
    assert result.statistic == pytest.approx(float(scipy_result.statistic), rel=1e-12)
    assert result.expected == pytest.approx(tuple(expected), rel=1e-12)
    assert result.df == len(observed) - 1


def test_flags_a_52_48_split_of_ten_thousand_users() -> None:
    result = sample_ratio_mismatch([5_200, 4_800])

    assert result.srm
    assert result.srm_p_value < SRM_P_VALUE_THRESHOLD


@pytest.mark.parametrize("observed", [[5_000, 5_000], [5_030, 4_970]])
def test_does_not_flag_a_healthy_split(observed: list[int]) -> None:
    assert not sample_ratio_mismatch(observed).srm


def test_weights_set_the_intended_split() -> None:
    assert not sample_ratio_mismatch([7_000, 3_000], weights=[0.7, 0.3]).srm
    assert sample_ratio_mismatch([7_000, 3_000]).srm


def test_the_threshold_can_be_chosen() -> None:
    observed = [5_100, 4_900]  # p ~ 0.046

    assert not sample_ratio_mismatch(observed).srm
    assert sample_ratio_mismatch(observed, threshold=0.05).srm


def test_accepts_numpy_integers() -> None:
    counts = np.array([5_200, 4_800])

    assert sample_ratio_mismatch(list(counts)).observed == (5_200, 4_800)


@pytest.mark.parametrize(
    ("observed", "weights", "message"),
    [
        ([10], None, "at least 2 groups"),
        ([0, 0], None, "no users"),
        ([10, -1], None, "integers >= 0"),
        ([10.5, 3], None, "integers >= 0"),
        ([True, 3], None, "integers >= 0"),
        ([10, 10], [1.0], "2 groups"),
        ([10, 10], [1.0, 0.0], "weights"),
        ([10, 10], [1.0, float("nan")], "weights"),
    ],
)
def test_rejects_impossible_splits(
    observed: list[int], weights: list[float] | None, message: str
) -> None:
    with pytest.raises(StatisticsError, match=message):
        sample_ratio_mismatch(observed, weights=weights)


def test_results_serialise_to_json() -> None:
    document = json.loads(json.dumps(sample_ratio_mismatch([5_200, 4_800]).to_dict()))

    assert document["observed"] == [5_200, 4_800]
    assert document["expected"] == [5_000.0, 5_000.0]
    assert document["srm"] is True
