import math
import statistics

import pytest

from mesh_worker_analyst import stats
from mesh_worker_analyst.table import Column


def col(name, values, kind="number"):
    return Column(name, kind, [None if v is None else float(v) for v in values])


def test_summary_matches_hand_computed_values():
    s = stats.summarize(col("x", [2, 4, 4, 4, 5, 5, 7, 9, None]))
    assert (s.count, s.missing) == (8, 1)
    assert s.mean == 5.0
    assert s.std == pytest.approx(math.sqrt(32 / 7))  # sample std: sum of squares 32, n - 1 = 7
    assert (s.min, s.q1, s.median, s.q3, s.max) == (2.0, 4.0, 4.5, 5.5, 9.0)


def test_quartiles_agree_with_statistics_inclusive_method():
    values = [3.1, 7.4, 1.2, 9.9, 4.4, 6.0, 2.7]
    s = stats.summarize(col("x", values))
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    assert (s.q1, s.median, s.q3) == pytest.approx((q1, median, q3))


def test_single_value_has_no_std_and_all_missing_has_no_numbers():
    one = stats.summarize(col("x", [7]))
    assert (one.mean, one.std, one.q1, one.q3) == (7.0, None, 7.0, 7.0)
    none = stats.summarize(col("x", [None, None]))
    assert (none.count, none.missing, none.mean) == (0, 2, None)


def test_iqr_rule_flags_the_extreme_row_with_its_index_and_fences():
    c = col("x", [10, 12, 11, 13, 12, 100])
    out = stats.iqr_outliers(c, stats.summarize(c))
    assert out is not None
    # q1 = 11.25, q3 = 12.75, IQR = 1.5 -> fences 9.0 and 15.0
    assert (out.lower_fence, out.upper_fence) == pytest.approx((9.0, 15.0))
    assert (out.count, out.rows, out.values) == (1, [5], [100.0])


def test_iqr_rule_finds_low_outliers_too_and_skips_missing_rows():
    c = col("x", [50, None, 52, 51, 53, 1, 52])
    out = stats.iqr_outliers(c, stats.summarize(c))
    assert out is not None and out.rows == [5] and out.values == [1.0]


def test_fewer_than_four_values_are_not_tested_for_outliers():
    c = col("x", [1, 2, 300])
    assert stats.iqr_outliers(c, stats.summarize(c)) is None


def test_pearson_is_exact_for_linear_data_and_matches_statistics():
    x = col("x", [1, 2, 3, 4, 5])
    assert stats.pearson(x, col("y", [3, 5, 7, 9, 11])).r == pytest.approx(1.0)
    assert stats.pearson(x, col("y", [10, 8, 6, 4, 2])).r == pytest.approx(-1.0)
    ys = [2.0, 1.0, 4.0, 3.0, 7.0]
    got = stats.pearson(x, col("y", ys))
    assert got.r == pytest.approx(statistics.correlation([1, 2, 3, 4, 5], ys))
    assert got.strength == "strong positive"


def test_pearson_uses_only_rows_where_both_are_present():
    got = stats.pearson(col("a", [1, 2, None, 4]), col("b", [2, 4, 100, 8]))
    assert got is not None and got.n == 3 and got.r == pytest.approx(1.0)


def test_pearson_is_undefined_for_a_constant_column():
    assert stats.pearson(col("a", [1, 2, 3]), col("b", [5, 5, 5])) is None


def test_correlations_are_sorted_strongest_first():
    a = col("a", [1, 2, 3, 4, 5, 6])
    b = col("b", [1, 3, 2, 5, 4, 6])  # loosely follows a
    c = col("c", [6, 5, 4, 3, 2, 1])  # exactly opposite a
    pairs = stats.correlations([a, b, c])
    assert (pairs[0].a, pairs[0].b) == ("a", "c")
    assert [abs(p.r) for p in pairs] == sorted((abs(p.r) for p in pairs), reverse=True)
