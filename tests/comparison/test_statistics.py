"""Paired intervals: bootstrap and small-k jackknife t, by hand, coverage, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srpipe.comparison import statistics as st


def _dists(scores: dict[str, np.ndarray], counts: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    return {name: {"m": st.bootstrap_means(s, counts)} for name, s in scores.items()}


def _point(scores: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    return {name: {"m": float(np.mean(s))} for name, s in scores.items()}


def _compare(
    scores: dict[str, np.ndarray],
    resamples: int,
    seed: int = 0,
    groups: list[str | None] | None = None,
    **plan_options: int,
) -> dict[str, dict[str, st.MetricComparison]]:
    """What the harness does for an item-mean metric: plan, replicate, compare."""
    n = len(next(iter(scores.values())))
    plan = st.plan_intervals(groups or [None] * n, resamples, seed, **plan_options)
    return st.compare_variants(_point(scores), _dists(scores, plan.counts), ["m"], plan=plan)


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
    result = _compare(scores, 100)
    sr = result["sr"]["m"]
    jack = {"method": st.JACKKNIFE, "k": 4}  # 4 clusters < SMALL_K
    assert sr.value == st.Estimate(8.0, 8.0, 8.0, **jack)
    assert sr.delta == st.Estimate(2.0, 2.0, 2.0, **jack)
    assert sr.gap == st.Estimate(0.5, 0.5, 0.5, **jack)
    assert result["bicubic"]["m"].delta is None  # the baseline has no delta to itself
    assert result["hr"]["m"].delta.value == 4.0 and result["hr"]["m"].gap is None


def test_identical_variants_no_significant_difference() -> None:
    rng = np.random.default_rng(0)
    bic = rng.normal(0.5, 0.2, 40)
    scores = {"hr": bic + 0.3, "bicubic": bic, "sr": bic.copy()}
    delta = _compare(scores, 500)["sr"]["m"].delta
    assert delta.method == st.BOOTSTRAP and delta.k == 40
    assert delta.low <= 0.0 <= delta.high and delta.spans_zero


def test_clearly_better_variant_excludes_zero_and_recovers_gap() -> None:
    rng = np.random.default_rng(1)
    bic = rng.normal(0.5, 0.3, 60)  # large item spread, paired differences are small
    scores = {"hr": bic + 0.1, "bicubic": bic, "sr": bic + 0.05 + rng.normal(0, 0.005, 60)}
    result = _compare(scores, 1000)
    sr = result["sr"]["m"]
    assert sr.delta.low > 0
    assert 0.4 < sr.gap.value < 0.6 and sr.gap.low > 0.3 and sr.gap.high < 0.7
    # unpaired, the item spread would swamp a 0.05 difference: pairing is what makes it visible
    unpaired_low = sr.value.low - result["bicubic"]["m"].value.high
    assert unpaired_low < 0 < sr.delta.low


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
    n = 30  # >= SMALL_K: the seeded bootstrap
    scores = {"hr": rng.random(n) + 1, "bicubic": rng.random(n), "sr": rng.random(n) + 0.3}

    def run(seed: int) -> st.MetricComparison:
        return _compare(scores, 200, seed=seed)["sr"]["m"]

    assert run(7) == run(7)
    assert run(7).delta != run(8).delta


def test_interval_counts_undefined_resamples() -> None:
    low, high, undefined = st.interval(np.array([np.nan, 1.0, 2.0, 3.0]), confidence=1.0)
    assert (low, high) == (1.0, 3.0) and undefined == 0.25
    low, high, undefined = st.interval(np.array([np.nan, np.nan]))
    assert math.isnan(low) and math.isnan(high) and undefined == 1.0


def test_bootstrap_estimate_reports_the_share_dropped() -> None:
    plan = st.plan_intervals([None] * 25, 4, seed=0)
    assert plan.method == st.BOOTSTRAP
    est = plan.estimate(0.5, np.array([0.4, np.nan, 0.6, np.inf]))
    assert est.undefined == 0.5 and "50.0% of the bootstrap resamples" in est.note
    assert est.to_dict()["undefined_share"] == 0.5
    assert est.to_dict()["method"] == st.BOOTSTRAP and est.to_dict()["k"] == 25


# -- choosing the method by k ----------------------------------------------------------------


def test_plan_picks_the_method_by_the_number_of_clusters() -> None:
    def plan(groups: list[str | None], resamples: int = 100) -> st.IntervalPlan:
        return st.plan_intervals(groups, resamples, seed=0)

    many = plan([None] * st.SMALL_K)
    assert many.method == st.BOOTSTRAP and many.k == st.SMALL_K and many.counts.shape[0] == 100
    # 40 items but 19 clusters: k counts clusters, not items
    few = plan([f"g{i % (st.SMALL_K - 1)}" for i in range(40)])
    assert few.method == st.JACKKNIFE and few.k == st.SMALL_K - 1 and few.df == st.SMALL_K - 2
    # each jackknife replicate is the whole set minus one cluster
    assert few.counts.shape == (st.SMALL_K - 1, 40)
    assert all(row.sum() == 40 - 3 or row.sum() == 40 - 2 for row in few.counts)
    floor = plan(["a", "a", "b", "c"])
    assert floor.method == st.JACKKNIFE and floor.k == st.MIN_K
    too_few = plan(["a", "a", "b", "b"])
    assert too_few.method == st.NO_INTERVAL and "only 2 independent clusters" in too_few.reason
    est = too_few.estimate(1.0, np.array([]))
    assert math.isnan(est.low) and est.note == f"no CI: {too_few.reason}"
    assert plan([None] * 50, resamples=0).method == st.NO_INTERVAL
    described = few.describe()
    assert described["method"] == "jackknife-t" and described["k"] == 19 and described["df"] == 18


def test_small_k_interval_is_the_textbook_paired_t() -> None:
    # Student's sleep data (Cushny & Peebles 1905; R's `sleep`): extra hours of sleep of 10
    # patients under two drugs. Paired t by hand: differences d, mean 1.58, sd 1.2300,
    # t(0.975, 9) = 2.2622 -> 1.58 +- 2.2622 * 1.2300 / sqrt(10) = [0.7001, 2.4599]
    # (R: t.test(extra ~ group, data = sleep, paired = TRUE) prints -2.4598858 -0.7001142).
    drug1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])
    drug2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])
    d = drug2 - drug1
    mean, sd = d.mean(), d.std(ddof=1)
    assert mean == pytest.approx(1.58) and sd == pytest.approx(1.2300, abs=5e-5)
    assert st.t_quantile(0.95, 9) == pytest.approx(2.2622, abs=5e-5)
    half = 2.262157 * sd / math.sqrt(10)
    # compare_variants' default baseline is "bicubic": compare drug2 against drug1 explicitly
    plan = st.plan_intervals([None] * 10, 1000, seed=0)
    scores = {"drug1": drug1, "drug2": drug2}
    delta = st.compare_variants(
        _point(scores), _dists(scores, plan.counts), ["m"], plan=plan, baseline="drug1"
    )["drug2"]["m"].delta
    assert delta.method == st.JACKKNIFE and delta.k == 10
    assert delta.value == pytest.approx(1.58)
    assert (delta.low, delta.high) == (pytest.approx(mean - half), pytest.approx(mean + half))
    assert (delta.low, delta.high) == (
        pytest.approx(0.7001142, abs=1e-6),
        pytest.approx(2.4598858, abs=1e-6),
    )


def _coverage(method_options: dict[str, int], n_sets: int = 200, resamples: int = 400) -> float:
    """Share of simulated sets (k = 4 clusters, true effect 0) whose 95% delta CI holds 0."""
    rng = np.random.default_rng(2024)
    k, per = 4, 5
    groups = [f"c{c}" for c in range(k) for _ in range(per)]
    covered = 0
    for i in range(n_sets):
        # clusters differ a lot in level, and SR's effect varies by cluster around 0
        level = np.repeat(rng.normal(0.6, 0.2, k), per)
        effect = np.repeat(rng.normal(0.0, 0.05, k), per)
        base = level + rng.normal(0, 0.02, k * per)
        sr = base + effect + rng.normal(0, 0.02, k * per)
        scores = {"hr": base + 0.3, "bicubic": base, "sr": sr}
        delta = _compare(scores, resamples, seed=i, groups=groups, **method_options)["sr"]["m"]
        covered += delta.delta.low <= 0.0 <= delta.delta.high
    return covered / n_sets


def test_small_k_intervals_cover_a_null_effect() -> None:
    # what the report uses at k = 4: the jackknife t interval (3 df)
    assert st.plan_intervals(["a", "b", "c", "d"], 400, 0).method == st.JACKKNIFE
    assert _coverage({}) >= 0.90
    # the percentile cluster bootstrap (forced by lowering the threshold) fails the same sets:
    # with 4 clusters its "95%" interval is little more than the range of the cluster means
    assert _coverage({"small_k": 2}, n_sets=200, resamples=200) < 0.90
