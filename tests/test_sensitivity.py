"""Tests of assesskit.analysis.sensitivity: designs over mixed factors, Sobol' estimators, bootstrap CIs.

Expected values come from analytic variance decompositions worked out in the comments, and from
SALib 1.6 (``SALib.sample.sobol`` / ``SALib.analyze.sobol``) run on the same matrices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assesskit import sensitivity as sens
from assesskit.errors import DataError, SchemeError

PI = np.pi
ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1


def ishigami(x):
    """Ishigami & Homma (1990): sin x1 + a sin^2 x2 + b x3^4 sin x1, x_i ~ U(-pi, pi)."""
    return (np.sin(x[:, 0]) + ISHIGAMI_A * np.sin(x[:, 1]) ** 2
            + ISHIGAMI_B * x[:, 2] ** 4 * np.sin(x[:, 0]))


def ishigami_indices():
    """Analytic first-order and total indices of the Ishigami function.

    V   = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2
    V1  = (1 + b pi^4/5)^2 / 2,  V2 = a^2/8,  V3 = 0,  V13 = b^2 pi^8 (1/18 - 1/50)
    S_i = V_i / V;  ST1 = (V1 + V13)/V, ST2 = V2/V, ST3 = V13/V
    (a=7, b=0.1: S1 = 0.3139, 0.4424, 0;  ST = 0.5576, 0.4424, 0.2437)
    """
    a, b = ISHIGAMI_A, ISHIGAMI_B
    v = a**2 / 8 + b * PI**4 / 5 + b**2 * PI**8 / 18 + 0.5
    v1 = 0.5 * (1 + b * PI**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * PI**8 * (1 / 18 - 1 / 50)
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def ishigami_factors():
    return [sens.uniform(f"x{i}", -PI, PI) for i in (1, 2, 3)]


def salib_order(arr, n, k):
    """Our block order [A; B; AB_1..AB_k] -> SALib's interleaved rows A_j, AB_1j..AB_kj, B_j."""
    blocks = np.asarray(arr).reshape(k + 2, n, -1)
    blocks = blocks[[0, *range(2, k + 2), 1]]
    return blocks.transpose(1, 0, 2).reshape(n * (k + 2), -1)


# ------------------------------------------------------------------------- analytic references


def test_ishigami_matches_analytic_indices():
    s1, st = ishigami_indices()
    assert s1.round(4).tolist() == [0.3139, 0.4424, 0.0]  # the published values
    assert st.round(4).tolist() == [0.5576, 0.4424, 0.2437]
    design = sens.sample(ishigami_factors(), 2**14, seed=11, sampler="sobol")
    res = sens.analyse(design, ishigami(design.matrix()), n_boot=0, seed=1)
    # Scrambled Sobol' points, n = 16384: over 20 seeds the largest error seen was 0.003.
    np.testing.assert_allclose(res["S1"], s1, atol=0.01)
    np.testing.assert_allclose(res["ST"], st, atol=0.01)
    assert res[["S1_lo", "S1_hi", "ST_lo", "ST_hi"]].isna().all().all()  # n_boot = 0


def test_ishigami_random_design_intervals_cover_analytic_values():
    s1, st = ishigami_indices()
    design = sens.sample(ishigami_factors(), 8192, seed=4)
    res = sens.analyse(design, ishigami(design.matrix()), n_boot=300, conf=0.99, seed=5)
    # Plain Monte Carlo, n = 8192: standard errors are about 0.01-0.02.
    np.testing.assert_allclose(res["S1"], s1, atol=0.05)
    np.testing.assert_allclose(res["ST"], st, atol=0.05)
    assert ((res["S1_lo"] <= s1) & (s1 <= res["S1_hi"])).all()
    assert ((res["ST_lo"] <= st) & (st <= res["ST_hi"])).all()
    assert ((res["S1_hi"] - res["S1_lo"]) < 0.15).all()  # informative, not vacuous


def test_bootstrap_spread_matches_spread_over_independent_designs():
    # The bootstrap standard error should estimate the real sampling spread of the estimates.
    # With conf = 68.27 % the normal interval's half-width is one bootstrap standard deviation.
    conf = 2 * stats.norm.cdf(1) - 1
    estimates, half_widths = [], []
    for seed in range(60):
        design = sens.sample(ishigami_factors(), 256, seed=seed)
        res = sens.analyse(design, ishigami(design.matrix()), n_boot=200, conf=conf,
                           ci="normal", seed=1000 + seed)
        estimates.append(np.r_[res["S1"], res["ST"]])
        half_widths.append(np.r_[res["S1_hi"] - res["S1"], res["ST_hi"] - res["ST"]])
    ratio = np.mean(half_widths, axis=0) / np.std(estimates, axis=0, ddof=1)
    # The spread over 60 designs is itself known to about +-10 %; resampling A, B and AB_i
    # rows independently (a wrong bootstrap) would miss by far more.
    assert ((ratio > 0.6) & (ratio < 1.6)).all(), ratio


def test_discrete_factor_equal_probabilities():
    # f = c + x, c uniform on {0, 1, 2}, x ~ U(0, 1), independent and additive:
    # Var c = (0 + 1 + 4)/3 - 1 = 2/3, Var x = 1/12, Var f = 3/4.
    # S_c = ST_c = (2/3)/(3/4) = 8/9; S_x = ST_x = (1/12)/(3/4) = 1/9.
    design = sens.sample([sens.choice("c", [0, 1, 2]), sens.uniform("x", 0, 1)], 8192, seed=2,
                         sampler="sobol")
    x = design.matrix()
    assert set(np.unique(x[:, 0])) == {0.0, 1.0, 2.0}  # option indices, never rounded values
    res = sens.analyse(design, x[:, 0] + x[:, 1], n_boot=0, seed=1)
    np.testing.assert_allclose(res["S1"], [8 / 9, 1 / 9], atol=0.01)
    np.testing.assert_allclose(res["ST"], [8 / 9, 1 / 9], atol=0.01)


def test_discrete_labels_with_probabilities_and_interaction():
    # f = v(c) * x with c in {minmax, zscore, rank} (probs .5, .3, .2) mapped to v = 0, 1, 3,
    # and x ~ U(0, 1):
    #   E v = .3 + .6 = .9, E v^2 = .3 + 1.8 = 2.1, Var v = 2.1 - .81 = 1.29
    #   E x = 1/2, E x^2 = 1/3, Var x = 1/12
    #   Var f = E v^2 E x^2 - (E v E x)^2 = .7 - .2025 = .4975
    #   V_c = Var(v/2) = 1.29/4 = .3225;  V_x = (E v)^2 Var x = .81/12 = .0675
    #   V_cx = .4975 - .3225 - .0675 = .1075
    value = {"minmax": 0.0, "zscore": 1.0, "rank": 3.0}
    factors = [sens.choice("method", list(value), probs=[0.5, 0.3, 0.2]),
               sens.uniform("x", 0, 1)]
    design = sens.sample(factors, 8192, seed=9, sampler="sobol")
    y = sens.evaluate_model(design, lambda p: value[p["method"]] * p["x"])
    res = sens.analyse(design, y, n_boot=0, seed=1)
    total = 0.4975
    np.testing.assert_allclose(res["S1"], [0.3225 / total, 0.0675 / total], atol=0.01)
    np.testing.assert_allclose(res["ST"], [0.43 / total, 0.175 / total], atol=0.01)
    assert res["output"].tolist() == ["y", "y"]
    np.testing.assert_allclose(res["variance"], total, rtol=0.02)


def test_normal_factor():
    # f = 3 z + x, z ~ N(1, 0.2^2), x ~ U(0, 1): Var f = 9 * 0.04 + 1/12 = 0.36 + 0.0833.
    design = sens.sample([sens.normal("z", 1.0, 0.2), sens.uniform("x", 0, 1)], 8192, seed=3,
                         sampler="sobol")
    x = design.matrix()
    assert abs(design.A[:, 0].mean() - 1.0) < 0.01 and abs(design.A[:, 0].std() - 0.2) < 0.01
    res = sens.analyse(design, 3 * x[:, 0] + x[:, 1], n_boot=0, seed=1)
    expected = np.array([0.36, 1 / 12]) / (0.36 + 1 / 12)
    np.testing.assert_allclose(res["S1"], expected, atol=0.01)
    np.testing.assert_allclose(res["ST"], expected, atol=0.01)


# ------------------------------------------------------------------------------ SALib cross-check


def test_estimates_and_normal_intervals_equal_salib_on_our_design():
    from SALib.analyze import sobol as salib_sobol

    # A mixed design (SALib's analyser only sees outputs, so a discrete factor is fine).
    factors = [*ishigami_factors(), sens.choice("offset", [0.0, 0.5, 2.0], probs=[.2, .5, .3])]
    n, k = 512, 4
    design = sens.sample(factors, n, seed=1)
    x = design.matrix()
    offsets = np.array([0.0, 0.5, 2.0])[x[:, 3].astype(int)]
    y = ishigami(x) + offsets * np.sin(x[:, 1])
    problem = {"num_vars": k, "names": design.names, "bounds": [[-PI, PI]] * 3 + [[0, 3]]}
    ref = salib_sobol.analyze(problem, salib_order(y, n, k).ravel(), calc_second_order=False,
                              num_resamples=300, conf_level=0.9, seed=7)
    res = sens.analyse(design, y, n_boot=300, conf=0.9, ci="normal", seed=7)
    np.testing.assert_allclose(res["S1"], ref["S1"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res["ST"], ref["ST"], rtol=0, atol=1e-10)
    # SALib's S1_conf / ST_conf is z * (bootstrap sd): our normal half-width, same resamples.
    np.testing.assert_allclose((res["S1_hi"] - res["S1_lo"]) / 2, ref["S1_conf"], atol=1e-10)
    np.testing.assert_allclose((res["ST_hi"] - res["ST_lo"]) / 2, ref["ST_conf"], atol=1e-10)


def test_design_from_salib_sampler_reproduces_its_matrix_and_indices():
    from SALib.analyze import sobol as salib_sobol
    from SALib.sample import sobol as salib_sample

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-PI, PI]] * 3}
    n, k = 256, 3
    x_salib = salib_sample.sample(problem, n, calc_second_order=False, seed=3)
    design = sens.SampleDesign(ishigami_factors(), A=x_salib[0::k + 2], B=x_salib[k + 1::k + 2])
    # Our AB_i (A with column i from B) are exactly SALib's cross-sampled rows.
    np.testing.assert_array_equal(salib_order(design.matrix(), n, k), x_salib)
    ref = salib_sobol.analyze(problem, ishigami(x_salib), calc_second_order=False,
                              num_resamples=100, seed=5)
    res = sens.analyse(design, ishigami(design.matrix()), n_boot=100, ci="normal", seed=5)
    np.testing.assert_allclose(res["S1"], ref["S1"], atol=1e-10)
    np.testing.assert_allclose(res["ST"], ref["ST"], atol=1e-10)
    assert res.attrs["design"]["sampler"] == "given" and res.attrs["bootstrap_seed"] == 5


def test_percentile_intervals_equal_a_direct_bootstrap():
    # Reference: resample base rows explicitly (same rows for A, B, AB_i), re-estimate with the
    # textbook formulas, take quantiles. The module does this as one matrix product.
    n, k, n_boot, seed = 64, 3, 50, 21
    design = sens.sample(ishigami_factors(), n, seed=8)
    y = ishigami(design.matrix())
    res = sens.analyse(design, y, n_boot=n_boot, conf=0.8, seed=seed)
    yc = y - y.mean()
    y_a, y_b, y_ab = yc[:n], yc[n:2 * n], yc[2 * n:].reshape(k, n)
    rows = np.random.default_rng(seed).integers(n, size=(n, n_boot))
    s1, st = np.empty((n_boot, k)), np.empty((n_boot, k))
    for b in range(n_boot):
        r = rows[:, b]
        var = np.var(np.r_[y_a[r], y_b[r]])
        s1[b] = np.mean(y_b[r] * (y_ab[:, r] - y_a[r]), axis=1) / var
        st[b] = 0.5 * np.mean((y_a[r] - y_ab[:, r]) ** 2, axis=1) / var
    np.testing.assert_allclose(res["S1_lo"], np.quantile(s1, 0.1, axis=0), atol=1e-12)
    np.testing.assert_allclose(res["S1_hi"], np.quantile(s1, 0.9, axis=0), atol=1e-12)
    np.testing.assert_allclose(res["ST_lo"], np.quantile(st, 0.1, axis=0), atol=1e-12)
    np.testing.assert_allclose(res["ST_hi"], np.quantile(st, 0.9, axis=0), atol=1e-12)


# ----------------------------------------------------------------------------- special outputs


def test_factor_that_changes_nothing_gets_exactly_zero():
    factors = [*ishigami_factors(), sens.uniform("dummy", 0, 1),
               sens.choice("dummy_choice", ["a", "b", "c"])]
    design = sens.sample(factors, 1024, seed=6)
    res = sens.analyse(design, ishigami(design.matrix()), n_boot=100, seed=2)
    dummies = res[res["factor"].str.startswith("dummy")]
    assert len(dummies) == 2
    cols = ["S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"]
    assert (dummies[cols].to_numpy() == 0.0).all()
    assert not np.signbit(dummies[cols].to_numpy()).any()  # 0.0, not -0.0
    assert (res.loc[res["factor"] == "x2", "S1"] > 0.3).all()  # the others are not zeroed


def test_zero_variance_output_gets_zero_not_nan():
    design = sens.sample(ishigami_factors(), 256, seed=1)
    x = design.matrix()
    y = np.column_stack([
        np.full(len(x), 4.2),  # a unit whose outcome never changes
        (x[:, 0] + 0.1) - x[:, 0],  # 0.1 up to rounding noise
        ishigami(x),
    ])
    assert np.ptp(y[:, 1]) > 0  # the noise is really there
    res = sens.analyse(design, y, output_names=["flat", "noisy_flat", "ishigami"], n_boot=50,
                       seed=3)
    flat = res[res["output"].isin(["flat", "noisy_flat"])]
    cols = ["S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi", "variance"]
    assert (flat[cols].to_numpy() == 0.0).all()
    assert (res.loc[res["output"] == "ishigami", "variance"] > 10).all()


def test_many_outputs_at_once_equal_one_at_a_time(monkeypatch):
    factors = [*ishigami_factors(), sens.choice("c", [1, 2, 3])]
    n, k = 300, 4
    design = sens.sample(factors, n, seed=12)
    x = design.matrix()
    base = ishigami(x)
    y = pd.DataFrame({
        "ishigami": base,
        "rescaled": 2.0 * base + 5.0,  # indices are invariant to a positive affine map
        "c_times_x1": x[:, 3] * x[:, 0],
        "flat": 1.0,
    })
    together = sens.analyse(design, y, n_boot=80, seed=4)
    assert together["output"].tolist() == [c for c in y.columns for _ in range(k)]
    assert together["factor"].tolist() == design.names * 4
    cols = ["S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi", "variance"]
    for name in y.columns:
        alone = sens.analyse(design, y[name], n_boot=80, seed=4)
        mine = together[together["output"] == name]
        np.testing.assert_allclose(mine[cols].to_numpy(), alone[cols].to_numpy(),
                                   rtol=1e-12, atol=1e-14)
    a = together[together["output"] == "ishigami"]
    b = together[together["output"] == "rescaled"]
    np.testing.assert_allclose(a[cols[:-1]].to_numpy(), b[cols[:-1]].to_numpy(), atol=1e-12)
    # Processing outputs in chunks (as for thousands of units) gives the same answer.
    monkeypatch.setattr(sens, "_CHUNK_FLOATS", 1)
    chunked = sens.analyse(design, y, n_boot=80, seed=4)
    np.testing.assert_allclose(chunked[cols].to_numpy(), together[cols].to_numpy(),
                               rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------- determinism and records


def test_same_seed_identical_results_and_different_seed_different():
    factors = [*ishigami_factors(), sens.choice("c", ["a", "b"])]
    d1 = sens.sample(factors, 128, seed=5)
    d2 = sens.sample(factors, 128, seed=5)
    np.testing.assert_array_equal(d1.matrix(), d2.matrix())
    y = ishigami(d1.matrix())
    r1 = sens.analyse(d1, y, n_boot=50)
    r2 = sens.analyse(d2, y, n_boot=50)
    pd.testing.assert_frame_equal(r1, r2, check_exact=True)
    assert r1.attrs == r2.attrs
    assert not np.array_equal(sens.sample(factors, 128, seed=6).A, d1.A)
    other_boot = sens.analyse(d1, y, n_boot=50, seed=99)
    pd.testing.assert_series_equal(other_boot["S1"], r1["S1"])
    assert not np.array_equal(other_boot["S1_lo"], r1["S1_lo"])


def test_result_records_seed_factors_and_can_rebuild_the_design():
    factors = [sens.uniform("w", 0.2, 0.4), sens.choice("quota", [1, 2, 3], probs=[.2, .5, .3])]
    design = sens.sample(factors, 64, seed=17, sampler="sobol")
    res = sens.analyse(design, design.matrix()[:, 0], n_boot=10)
    rec = res.attrs["design"]
    assert rec["factors"] == [
        {"name": "w", "kind": "uniform", "lo": 0.2, "hi": 0.4},
        {"name": "quota", "kind": "choice", "options": [1, 2, 3], "probs": [0.2, 0.5, 0.3]},
    ]
    assert (rec["n"], rec["seed"], rec["sampler"]) == (64, 17, "sobol")
    assert res.attrs["bootstrap_seed"] == [17, 1]  # default: a stream derived from the design
    assert (res.attrs["n_boot"], res.attrs["conf"], res.attrs["ci"]) == (10, 0.95, "percentile")
    rebuilt = sens.sample(rec["factors"], rec["n"], seed=rec["seed"], sampler=rec["sampler"])
    np.testing.assert_array_equal(rebuilt.matrix(), design.matrix())


# ------------------------------------------------------------------------------ design mechanics


def test_choice_inverse_cdf_and_frequencies():
    f = sens.choice("method", ["minmax", "zscore", "rank"], probs=[0.5, 0.3, 0.2])
    # Cumulative edges 0.5, 0.8, 1: [0, .5) -> 0, [.5, .8) -> 1, [.8, 1) -> 2.
    u = [0.0, 0.4999, 0.5, 0.7999, 0.8, 0.9999]
    assert f.from_unit(u).tolist() == [0, 0, 1, 1, 2, 2]
    never = sens.choice("q", [1, 2, 3], probs=[0.5, 0.0, 0.5])
    assert never.from_unit([0.49, 0.5, 0.99]).tolist() == [0, 2, 2]  # probability 0: never
    design = sens.sample([f], 20000, seed=8)
    shares = np.bincount(design.A[:, 0].astype(int), minlength=3) / 20000
    # Binomial sd <= sqrt(.25/20000) = 0.0035; allow 4 sd.
    np.testing.assert_allclose(shares, [0.5, 0.3, 0.2], atol=0.014)
    assert f.decode([2, 0]).tolist() == ["rank", "minmax"]


def test_runs_table_decoded_by_hand():
    factors = [sens.choice("method", ["minmax", "zscore", "rank"]), sens.uniform("w", 0, 1)]
    design = sens.SampleDesign(factors, A=[[2, 0.25], [0, 0.5]], B=[[1, 0.75], [2, 0.125]])
    runs = design.runs()
    expected = pd.DataFrame({
        "block": ["A", "A", "B", "B", "AB", "AB", "AB", "AB"],
        "switched": ["", "", "", "", "method", "method", "w", "w"],
        "base_row": [0, 1, 0, 1, 0, 1, 0, 1],
        # AB_method: method from B, w from A; AB_w: method from A, w from B.
        "method": ["rank", "minmax", "zscore", "rank", "zscore", "rank", "rank", "minmax"],
        "w": [0.25, 0.5, 0.75, 0.125, 0.25, 0.5, 0.75, 0.125],
    }, index=pd.RangeIndex(8, name="run"))
    pd.testing.assert_frame_equal(runs, expected)
    assert design.n_runs == 8 and design.matrix().shape == (8, 2)
    with pytest.raises(ValueError, match="read-only"):
        design.A[0, 0] = 1.0


def test_evaluate_runs_each_distinct_combination_once():
    factors = [sens.choice("method", ["minmax", "rank"]), sens.choice("quota", [1, 2])]
    design = sens.sample(factors, 50, seed=1)
    calls = []

    def model(p):
        calls.append(p)
        scale = 10.0 if p["method"] == "rank" else 1.0
        return pd.Series({"510100": scale * p["quota"], "510300": -p["quota"]})

    y = sens.evaluate_model(design, model)
    assert len(calls) <= 4 and len(y) == design.n_runs
    assert y.columns.tolist() == ["510100", "510300"]
    runs = design.runs()
    np.testing.assert_array_equal(
        y["510100"], np.where(runs["method"] == "rank", 10.0, 1.0) * runs["quota"])
    full = sens.evaluate_model(design, model, unique=False)
    pd.testing.assert_frame_equal(full, y)
    res = sens.analyse(design, y, n_boot=0)
    # Output 510300 = -quota depends on quota only: S1 = ST = 1 for quota and 0 for method.
    only = res[res["output"] == "510300"].set_index("factor")
    assert only.loc["method", "S1"] == 0.0 and only.loc["method", "ST"] == 0.0
    np.testing.assert_allclose(only.loc["quota", ["S1", "ST"]].to_numpy(float), 1.0, atol=0.15)


def test_evaluate_reports_inconsistent_outputs_and_model_errors():
    design = sens.sample([sens.choice("m", ["a", "b"])], 10, seed=1)
    with pytest.raises(DataError, match="every run must return the same outputs"):
        sens.evaluate_model(design, lambda p: {"u1": 1.0} if p["m"] == "a" else {"u2": 1.0})

    def broken(p):
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError) as info:
        sens.evaluate_model(design, broken)
    assert any("while evaluating the model at run" in note for note in info.value.__notes__)


# ---------------------------------------------------------------------------------- bad input


def test_bad_factor_definitions_are_all_reported():
    spec = [
        {"name": "w", "kind": "uniform", "lo": 1, "hi": 0},
        {"name": "m", "kind": "choice", "options": ["a", "a"]},
        {"name": "w", "kind": "uniform", "lo": 0, "hi": 1},
        {"name": "q", "kind": "choice", "options": [1, 2], "probs": [0.5, 0.6]},
        {"kind": "beta"},
        {"name": "block", "kind": "uniform", "lo": 0, "hi": 1},
        {"name": "u", "kind": "uniform", "lo": 0, "hi": 1, "options": [1]},
    ]
    with pytest.raises(SchemeError) as info:
        sens.factors_from_spec(spec)
    msg = str(info.value)
    assert "7 problem(s)" in msg
    for text in ["lo (1) must be smaller than hi (0)", "repeated: ['a']",
                 "probs must sum to 1", "missing key(s) ['name']",
                 "factors.w: the name is used by 2 factors",
                 "'block' is reserved", "field 'options' does not apply to a uniform factor"]:
        assert text in msg
    with pytest.raises(SchemeError, match="kind 'beta' is unknown"):
        sens.Factor("x", "beta")
    with pytest.raises(SchemeError, match="sd must be a finite number > 0"):
        sens.normal("z", 0, 0)


def test_bad_sampling_arguments():
    factors = ishigami_factors()
    with pytest.raises(ValueError, match="power of 2.*use n=128"):
        sens.sample(factors, 100, seed=1, sampler="sobol")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        sens.sample(factors, 100, seed=None)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        sens.sample(factors, 1, seed=1)


def test_impossible_design_matrix_values_are_all_listed():
    factors = [sens.choice("method", ["minmax", "zscore", "rank"]), sens.uniform("w", 0, 1)]
    with pytest.raises(DataError) as info:
        sens.SampleDesign(factors, A=[[3, 0.5], [0.5, 0.5]], B=[[0, 1.5], [1, 0.5]])
    problems = info.value.problems
    assert [(p.file, p.column, p.value) for p in problems] == [
        ("design matrix A", "method", 3.0), ("design matrix A", "method", 0.5),
        ("design matrix B", "w", 1.5)]


def test_bad_outputs_are_reported_with_run_and_output():
    design = sens.sample(ishigami_factors(), 10, seed=1)  # 50 runs: A, B, AB_x1, AB_x2, AB_x3
    y = pd.DataFrame({"u1": np.ones(50), "u2": np.ones(50)})
    with pytest.raises(DataError, match=r"has 49 rows but the design has .* = 50 runs"):
        sens.analyse(design, y.iloc[:49])
    bad = y.copy()
    bad.loc[27, "u2"] = np.nan
    with pytest.raises(DataError) as info:
        sens.analyse(design, bad)
    (problem,) = info.value.problems
    assert problem.column == "u2"
    assert "run 27 (block AB (x1 from B), base row 7)" in problem.message
    with pytest.raises(DataError, match="index must be the run numbers"):
        sens.analyse(design, y.iloc[::-1])
    with pytest.raises(DataError, match="not numeric"):
        sens.analyse(design, y.assign(u3="x"))
    with pytest.raises(ValueError, match="ci 'bca' is unknown"):
        sens.analyse(design, y, ci="bca")
