"""Verdict wording, and no verdict when the set cannot tell HR from the baseline."""

from __future__ import annotations

import numpy as np

from srpipe.comparison import statistics as st
from srpipe.comparison import verdicts as vd
from tests.comparison.test_statistics import _compare


def _lines(result: dict, names: list[str], **kwargs) -> tuple[list[str], vd.Power]:
    stats = {name: {"m": per["m"]} for name, per in result.items()}
    options = {"metric": "m", "scale": 4, "baseline": "bicubic", **kwargs}
    return vd.sr_verdicts(stats, names, **options)


def test_recovered_share_and_worse_with_lower_is_better() -> None:
    n = 30
    rng = np.random.default_rng(2)
    base = rng.normal(5.0, 1.0, n)
    # an error metric: HR has less error than bicubic, "worse" SR has more
    scores = {"hr": base - 1.0, "bicubic": base, "good": base - 0.5, "bad": base + 0.5}
    lines, power = _lines(_compare(scores, 300), ["good", "bad"], lower_is_better=True, scale=2)
    assert power.answerable and power.to_dict("m")["reason"] is None
    good, bad = lines
    assert good.startswith("good x2 recovers 50% ")
    assert "percentile bootstrap, k = 30 clusters" in good
    assert bad.startswith("bad x2 is worse than bicubic") and "widens the loss" in bad


def test_no_sr_verdict_when_hr_is_not_significantly_better() -> None:
    rng = np.random.default_rng(3)
    bic = rng.normal(0.5, 0.1, 50)
    # SR is clearly above bicubic, but HR is not: there is no loss to speak of
    scores = {"hr": bic + rng.normal(0, 0.01, 50), "bicubic": bic, "sr": bic + 0.05}
    result = _compare(scores, 300)
    assert result["hr"]["m"].delta.spans_zero and not result["sr"]["m"].delta.spans_zero
    lines, power = _lines(result, ["sr"], more_data="more clips")
    assert not power.answerable
    (line,) = lines
    assert line.startswith("no verdict on sr x4: HR vs bicubic on m is ")
    assert "not significant" in line and "no power to say whether SR helps" in line
    assert line.endswith("What would give it power: more clips")
    assert "is better than" not in line


def test_no_sr_verdict_when_hr_has_no_interval() -> None:
    scores = {"hr": np.ones(4), "bicubic": np.zeros(4), "sr": np.full(4, 0.5)}
    result = _compare(scores, 100, groups=["a", "a", "b", "b"])  # 2 clusters: below MIN_K
    lines, power = _lines(result, ["sr"])
    assert not power.answerable
    assert "only 2 independent clusters" in lines[0] and lines[0].startswith("no verdict on sr")


def test_infinite_oracle_still_allows_a_verdict() -> None:
    # PSNR: HR against itself is infinite, better by definition; SR is judged on its own delta
    rng = np.random.default_rng(6)
    bic = rng.normal(30.0, 2.0, 25)
    scores = {"hr": np.full(25, np.inf), "bicubic": bic, "sr": bic + 1.0}
    lines, power = _lines(_compare(scores, 200), ["sr"])
    assert power.answerable
    assert lines[0].startswith("sr x4 is better than bicubic (+1.000 [+1.000, +1.000] m")


def test_not_measurable_headline_gives_no_verdict() -> None:
    scores = {"hr": np.ones(6), "bicubic": np.zeros(6), "sr": np.full(6, 0.5)}
    plan = st.plan_intervals([None] * 6, 100, seed=0)
    dists = {name: {"m": st.bootstrap_means(v, plan.counts)} for name, v in scores.items()}
    point = {name: {"m": float(v.mean())} for name, v in scores.items()}
    why = "TAR at FAR 0.001 needs at least 1000 impostor pairs"
    result = st.compare_variants(point, dists, ["m"], plan=plan, not_measurable={"m": why})
    sr = result["sr"]["m"]
    assert sr.not_measurable == why and sr.delta is None and sr.gap is None
    assert sr.to_dict()["value"]["value"] is None and sr.to_dict()["not_measurable"] == why
    lines, power = _lines(result, ["sr"])
    assert not power.answerable
    assert lines == [f"no verdict on sr x4: m cannot be measured on this set ({why})"]


def test_sr_delta_without_interval_says_significance_unknown() -> None:
    oracle = st.Estimate(1.0, 0.5, 1.5, st.JACKKNIFE, 5)
    delta = st.Estimate(0.2, float("nan"), float("nan"), st.JACKKNIFE, 5, note="no CI: why")
    line = vd.verdict(
        "sr",
        "m",
        st.MetricComparison("m", delta, delta),
        scale=4,
        baseline="bicubic",
        oracle_delta=oracle,
    )
    assert line.endswith("(no CI: why; significance unknown)")
