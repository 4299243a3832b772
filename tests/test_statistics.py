"""Paired and cluster bootstrap: hand-computed cases, determinism, verdict wording."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srpipe import statistics as st


def _dists(scores: dict[str, np.ndarray], counts: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    return {name: {"m": st.bootstrap_means(s, counts)} for name, s in scores.items()}


def _point(scores: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    return {name: {"m": float(np.mean(s))} for name, s in scores.items()}


def test_resample_counts_shape_sum_and_seed() -> None:
    a = st.resample_counts(7, 50, seed=3)
    b = st.resample_counts(7, 50, seed=3)
    c = st.resample_counts(7, 50, seed=4)
    assert a.shape == (50, 7)
    assert (a.sum(axis=1) == 7).all()  # each resample holds n draws
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_cluster_counts_move_groups_together() -> None:
    groups = ["a", "a", "a", "b", "c", "c", None]
    counts = st.resample_counts(len(groups), 200, seed=0, groups=groups)
    assert (counts[:, 0] == counts[:, 1]).all() and (counts[:, 1] == counts[:, 2]).all()
    assert (counts[:, 4] == counts[:, 5]).all()
    # 4 groups drawn 4 times: group sizes differ, so the item total varies between resamples
    group_draws = counts[:, [0, 3, 4, 6]]
    assert (group_draws.sum(axis=1) == 4).all()
    assert len(set(counts.sum(axis=1))) > 1


def test_bootstrap_means_equal_a_loop_over_indices() -> None:
    scores = np.array([1.0, 4.0, 2.0, 8.0, 5.0])
    counts = st.resample_counts(5, 30, seed=1)
    fast = st.bootstrap_means(scores, counts)
    slow = [scores[st.counts_to_indices(row)].mean() for row in counts]
    np.testing.assert_allclose(fast, slow)


def test_bootstrap_means_skip_nan_and_keep_inf() -> None:
    counts = np.array([[1, 1, 1], [2, 1, 0], [0, 0, 3]])
    with_nan = st.bootstrap_means(np.array([1.0, np.nan, 3.0]), counts)
    np.testing.assert_allclose(with_nan, [2.0, 1.0, 3.0])
    with_inf = st.bootstrap_means(np.array([1.0, 2.0, np.inf]), counts)
    assert with_inf[0] == np.inf and with_inf[1] == pytest.approx(4 / 3) and with_inf[2] == np.inf


def test_generic_evaluate_path_matches_vectorised_means() -> None:
    scores = np.array([0.2, 0.9, 0.4, 0.6])
    counts = st.resample_counts(4, 25, seed=2, groups=["x", "x", "y", None])
    looped = st.bootstrap_evaluate(lambda idx: {"m": float(scores[idx].mean())}, ["m"], counts)
    np.testing.assert_allclose(looped["m"], st.bootstrap_means(scores, counts))


def test_hand_computed_point_values_delta_and_gap() -> None:
    # HR 10, bicubic 6, SR 8 on every item: delta +2, gap (8-6)/(10-6) = 50%, zero-width CIs
    n = 4
    scores = {"hr": np.full(n, 10.0), "bicubic": np.full(n, 6.0), "sr": np.full(n, 8.0)}
    counts = st.resample_counts(n, 100, seed=0)
    result = st.compare_variants(_point(scores), _dists(scores, counts), ["m"])
    sr = result["sr"]["m"]
    assert sr.value == st.Estimate(8.0, 8.0, 8.0)
    assert sr.delta == st.Estimate(2.0, 2.0, 2.0)
    assert sr.gap == st.Estimate(0.5, 0.5, 0.5)
    assert result["bicubic"]["m"].delta is None  # the baseline has no delta to itself
    assert result["hr"]["m"].delta.value == 4.0 and result["hr"]["m"].gap is None


def test_identical_variants_no_significant_difference() -> None:
    rng = np.random.default_rng(0)
    bic = rng.normal(0.5, 0.2, 40)
    scores = {"hr": bic + 0.3, "bicubic": bic, "sr": bic.copy()}
    counts = st.resample_counts(40, 500, seed=0)
    result = st.compare_variants(_point(scores), _dists(scores, counts), ["m"])
    delta = result["sr"]["m"].delta
    assert delta.low <= 0.0 <= delta.high and delta.spans_zero
    line = st.verdict(
        "sr",
        "m",
        result["sr"]["m"],
        scale=4,
        baseline="bicubic",
        oracle_delta=result["hr"]["m"].delta,
    )
    assert "no significant difference" in line


def test_clearly_better_variant_excludes_zero_and_recovers_gap() -> None:
    rng = np.random.default_rng(1)
    bic = rng.normal(0.5, 0.3, 60)  # large item spread, paired differences are small
    scores = {"hr": bic + 0.1, "bicubic": bic, "sr": bic + 0.05 + rng.normal(0, 0.005, 60)}
    counts = st.resample_counts(60, 1000, seed=0)
    result = st.compare_variants(_point(scores), _dists(scores, counts), ["m"])
    sr = result["sr"]["m"]
    assert sr.delta.low > 0
    assert 0.4 < sr.gap.value < 0.6 and sr.gap.low > 0.3 and sr.gap.high < 0.7
    # unpaired, the item spread would swamp a 0.05 difference: pairing is what makes it visible
    unpaired_low = sr.value.low - result["bicubic"]["m"].value.high
    assert unpaired_low < 0 < sr.delta.low
    line = st.verdict(
        "edsr", "m", sr, scale=4, baseline="bicubic", oracle_delta=result["hr"]["m"].delta
    )
    assert line.startswith("edsr x4 recovers ") and "of the m lost to x4 downsampling" in line


def test_worse_variant_and_lower_is_better() -> None:
    n = 30
    rng = np.random.default_rng(2)
    base = rng.normal(5.0, 1.0, n)
    # an error metric: HR has less error than bicubic, "worse" SR has more
    scores = {"hr": base - 1.0, "bicubic": base, "good": base - 0.5, "bad": base + 0.5}
    counts = st.resample_counts(n, 300, seed=0)
    result = st.compare_variants(_point(scores), _dists(scores, counts), ["m"])
    oracle = result["hr"]["m"].delta
    good = st.verdict(
        "good",
        "err",
        result["good"]["m"],
        scale=2,
        baseline="bicubic",
        oracle_delta=oracle,
        lower_is_better=True,
    )
    bad = st.verdict(
        "bad",
        "err",
        result["bad"]["m"],
        scale=2,
        baseline="bicubic",
        oracle_delta=oracle,
        lower_is_better=True,
    )
    assert good.startswith("good x2 recovers 50% ")
    assert bad.startswith("bad x2 is worse than bicubic") and "widens the loss" in bad


def test_no_gap_when_hr_is_not_better() -> None:
    rng = np.random.default_rng(3)
    bic = rng.normal(0.5, 0.1, 50)
    scores = {"hr": bic + rng.normal(0, 0.01, 50), "bicubic": bic, "sr": bic + 0.05}
    counts = st.resample_counts(50, 300, seed=0)
    result = st.compare_variants(_point(scores), _dists(scores, counts), ["m"])
    line = st.verdict(
        "sr",
        "m",
        result["sr"]["m"],
        scale=3,
        baseline="bicubic",
        oracle_delta=result["hr"]["m"].delta,
    )
    assert "is better than bicubic" in line and "no gap to recover" in line


def test_cluster_bootstrap_is_wider_for_correlated_items() -> None:
    # 6 groups of 10 near-identical items: really 6 observations, not 60
    rng = np.random.default_rng(4)
    group_effect = rng.normal(0, 1.0, 6)
    scores = np.repeat(group_effect, 10) + rng.normal(0, 0.01, 60)
    groups = [f"g{i}" for i in np.repeat(np.arange(6), 10)]
    item = st.interval(st.bootstrap_means(scores, st.resample_counts(60, 2000, 0)))
    cluster = st.interval(st.bootstrap_means(scores, st.resample_counts(60, 2000, 0, groups)))
    assert (cluster[1] - cluster[0]) > 2 * (item[1] - item[0])


def test_same_seed_same_intervals() -> None:
    rng = np.random.default_rng(5)
    scores = {"hr": rng.random(20) + 1, "bicubic": rng.random(20), "sr": rng.random(20) + 0.3}

    def run(seed: int) -> st.MetricComparison:
        counts = st.resample_counts(20, 200, seed=seed)
        return st.compare_variants(_point(scores), _dists(scores, counts), ["m"])["sr"]["m"]

    assert run(7) == run(7)
    assert run(7).delta != run(8).delta


def test_interval_ignores_undefined_resamples() -> None:
    assert st.interval(np.array([np.nan, 1.0, 2.0, 3.0]), confidence=1.0) == (1.0, 3.0)
    low, high = st.interval(np.array([np.nan, np.nan]))
    assert math.isnan(low) and math.isnan(high)


def test_verdict_without_bootstrap_says_significance_unknown() -> None:
    scores = {"hr": np.ones(3), "bicubic": np.zeros(3), "sr": np.full(3, 0.5)}
    counts = st.resample_counts(3, 0, seed=0)
    result = st.compare_variants(_point(scores), _dists(scores, counts), ["m"])
    line = st.verdict(
        "sr",
        "m",
        result["sr"]["m"],
        scale=4,
        baseline="bicubic",
        oracle_delta=result["hr"]["m"].delta,
    )
    assert "significance is unknown" in line
