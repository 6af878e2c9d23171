"""Tests of assesskit.analysis.weights against hand derivations, independent algorithms and published
worked examples (provenance of every external number: tests/reference/weights/README.md)."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assesskit import weights as W
from assesskit.errors import DataError

REF = Path(__file__).parent / "reference" / "weights"


@pytest.fixture
def tai():
    """OECD (2008) Handbook TAI data, 23 countries × 8 indicators (see the README)."""
    return pd.read_csv(REF / "tai_oecd2008.csv", index_col="country")


@pytest.fixture
def panel():
    rng = np.random.default_rng(20240601)
    return pd.DataFrame(
        rng.gamma(2.0, 10.0, size=(30, 5)),
        index=[f"u{i:02d}" for i in range(30)],
        columns=["gdp", "tax", "jobs", "air", "health"],
    )


# ---------------------------------------------------------------------------------------------
# contract shared by the data-driven methods
# ---------------------------------------------------------------------------------------------

DATA_METHODS = [W.equal, W.entropy, W.critic, W.std, W.pca]


@pytest.mark.parametrize("method", DATA_METHODS, ids=lambda f: f.__name__)
def test_returns_weight_series_summing_to_one(method, panel):
    w = method(panel)
    assert isinstance(w, pd.Series)
    assert w.name == "weight"
    assert list(w.index) == list(panel.columns)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert (w >= 0).all()
    assert w.attrs["method"] == method.__name__


@pytest.mark.parametrize("method", DATA_METHODS, ids=lambda f: f.__name__)
def test_missing_values_are_each_named(method, panel):
    bad = panel.copy()
    bad.loc["u03", "tax"] = np.nan
    bad.loc["u17", "air"] = np.inf
    with pytest.raises(DataError) as err:
        method(bad)
    problems = err.value.problems
    assert len(problems) == 2  # every bad cell collected, not just the first
    assert {(p.column, p.message.split(":")[0]) for p in problems} == {
        ("tax", "unit 'u03'"),
        ("air", "unit 'u17'"),
    }
    assert "missing" in str(err.value) and "infinite" in str(err.value)


@pytest.mark.parametrize("method", DATA_METHODS, ids=lambda f: f.__name__)
def test_one_unit_is_refused(method, panel):
    with pytest.raises(DataError, match="at least 2 units"):
        method(panel.iloc[:1])


def test_non_numeric_column_and_non_frame_are_refused(panel):
    bad = panel.assign(region=["east"] * 30)
    with pytest.raises(DataError) as err:
        W.entropy(bad)
    assert [p.column for p in err.value.problems] == ["region"]
    with pytest.raises(TypeError, match="DataFrame"):
        W.critic(panel.to_numpy())


@pytest.mark.parametrize("method", [W.entropy, W.critic, W.std], ids=lambda f: f.__name__)
def test_constant_indicator_gets_zero_weight_and_changes_nothing_else(method, panel):
    # COINr's "dummy factor" idea: an indicator that does not vary cannot inform the weights.
    with_dummy = panel.assign(flat=7.0)
    with pytest.warns(W.ConstantIndicatorWarning, match="'flat'"):
        w = method(with_dummy)
    assert w["flat"] == 0.0
    if method is W.entropy:  # a constant indicator is the uniform distribution: e = 1, d = 0
        assert (w.attrs["entropy"]["flat"], w.attrs["divergence"]["flat"]) == (1.0, 0.0)
    pd.testing.assert_series_equal(w.drop("flat"), method(panel), check_exact=False, rtol=1e-12)


def test_pca_refuses_constant_indicator(panel):
    with pytest.raises(DataError) as err:
        W.pca(panel.assign(flat=1.0))
    assert [p.column for p in err.value.problems] == ["flat"]


def test_weight_series_with_diagnostics_still_concatenate(panel):
    # pandas compares attrs on concat; pandas objects inside attrs would raise here.
    both = pd.concat([W.entropy(panel), W.critic(panel), W.pca(panel)], axis=1)
    assert both.shape == (5, 3)


def test_equal_is_one_over_m(panel):
    assert W.equal(panel).tolist() == [0.2] * 5


def test_normalise_weights():
    out = W.normalise_weights(pd.Series({"a": 3.0, "b": 1.0}))
    assert out.tolist() == [0.75, 0.25]
    with pytest.raises(DataError) as err:
        W.normalise_weights(pd.Series({"a": -1.0, "b": np.nan, "c": 1.0}))
    assert [p.column for p in err.value.problems] == ["a", "b"]
    with pytest.raises(DataError, match="all weights are zero"):
        W.normalise_weights({"a": 0.0})


# ---------------------------------------------------------------------------------------------
# entropy
# ---------------------------------------------------------------------------------------------

# 4 units × 3 indicators chosen so that min-max shares are simple fractions.
HAND = pd.DataFrame(
    {"a": [10.0, 20.0, 30.0, 40.0], "b": [5.0, 5.0, 5.0, 9.0], "c": [1.0, 3.0, 3.0, 1.0]},
    index=["u1", "u2", "u3", "u4"],
)


def test_entropy_hand_worked_minmax_convention():
    ln4 = math.log(4)  # k = 1 / ln n with n = 4 units
    # a: min-max -> 0, 1/3, 2/3, 1; sum 2 -> p = 0, 1/6, 1/3, 1/2; 0·ln0 = 0
    e_a = -(1 / 6 * math.log(1 / 6) + 1 / 3 * math.log(1 / 3) + 1 / 2 * math.log(1 / 2)) / ln4
    # b: min-max -> 0, 0, 0, 1 -> p = (0, 0, 0, 1) -> entropy 0
    e_b = 0.0
    # c: min-max -> 0, 1, 1, 0 -> p = (0, 1/2, 1/2, 0) -> ln 2 / ln 4 = 1/2
    e_c = 0.5
    d = [1 - e_a, 1 - e_b, 1 - e_c]  # 0.27042, 1, 0.5
    expected = [x / sum(d) for x in d]  # 0.15250, 0.56393, 0.28197
    w = W.entropy(HAND)
    assert w.tolist() == pytest.approx(expected, abs=1e-12)
    assert w.attrs["entropy"] == pytest.approx({"a": e_a, "b": e_b, "c": e_c}, abs=1e-12)
    assert w.attrs["divergence"]["c"] == pytest.approx(0.5, abs=1e-12)


def test_entropy_hand_worked_shift():
    s = 0.01
    ln4 = math.log(4)

    def e(col):  # shares of (min-max value + s), then Shannon entropy / ln n
        total = sum(col) + 4 * s
        return -sum((x + s) / total * math.log((x + s) / total) for x in col) / ln4

    d = [1 - e([0, 1 / 3, 2 / 3, 1]), 1 - e([0, 0, 0, 1]), 1 - e([0, 1, 1, 0])]
    w = W.entropy(HAND, zero="shift", shift=s)
    assert w.tolist() == pytest.approx([x / sum(d) for x in d], abs=1e-12)
    # and the shift result tends to the 0·ln0 = 0 convention as the shift vanishes
    tiny = W.entropy(HAND, zero="shift", shift=1e-12)
    assert tiny.tolist() == pytest.approx(W.entropy(HAND).tolist(), abs=1e-6)
    assert not np.allclose(w, W.entropy(HAND), atol=1e-3)  # the choice does matter at 0.01


def test_entropy_xu_2004():
    # Xu (2004), EJOR 156(2): shares of raw values; published weights 0.4630 0.3992 0.1378 0.0000
    X = pd.DataFrame(
        [[30, 30, 38, 29], [19, 54, 86, 29], [19, 15, 85, 28.9], [68, 70, 60, 29]],
        columns=["c1", "c2", "c3", "c4"],
    )
    w = W.entropy(X, normalise="sum")
    assert w.round(4).tolist() == [0.4630, 0.3992, 0.1378, 0.0000]


def test_entropy_published_sum_normalised():
    # Zavadskas & Podvezko (2016) IJITDM 15(2)
    X = pd.DataFrame([[3.0, 100, 10, 7], [2.5, 80, 8, 5], [1.8, 50, 20, 11], [2.2, 70, 12, 9]])
    assert W.entropy(X, normalise="sum").round(4).tolist() == [0.1146, 0.1981, 0.4185, 0.2689]
    # Lee & Chang (2018) RSER 92
    X = pd.DataFrame(
        [
            [4550, 30, 6.74, 20, 15, 5, 85, 150, 0.87, 4.76],
            [3005, 60.86, 2.4, 35, 27, 4, 26, 200, 0.17, 4.51],
            [2040, 14.85, 1.7, 90, 25, 5, 26, 500, 0.27, 4.19],
            [3370, 99.4, 3.25, 25.3, 54, 3, 45, 222, 0.21, 3.78],
            [3920, 112.6, 4.93, 11.4, 71.7, 2, 50, 100, 0.25, 4.11],
        ]
    )
    assert W.entropy(X, normalise="sum").round(3).tolist() == [
        0.026,
        0.154,
        0.089,
        0.199,
        0.115,
        0.04,
        0.08,
        0.123,
        0.172,
        0.002,
    ]


def test_entropy_minmax_ignores_units_of_measure(panel):
    rescaled = panel * [1.0, 1000.0, 0.01, 3.0, 1.0] + [0.0, 5.0, -2.0, 0.0, 100.0]
    pd.testing.assert_series_equal(W.entropy(rescaled), W.entropy(panel), rtol=1e-10)


def test_entropy_options_are_checked():
    with pytest.raises(DataError) as err:
        W.entropy(HAND - 20, normalise="sum")
    assert {p.column for p in err.value.problems} == {"a", "b", "c"}
    with pytest.raises(ValueError, match="zero must be"):
        W.entropy(HAND, zero="epsilon")
    with pytest.raises(ValueError, match="shift must be a positive"):
        W.entropy(HAND, zero="shift", shift=0)
    with pytest.raises(DataError, match="every indicator is constant"):
        with pytest.warns(W.ConstantIndicatorWarning):
            W.entropy(pd.DataFrame({"a": [1.0, 1.0], "b": [2.0, 2.0]}))


# ---------------------------------------------------------------------------------------------
# CRITIC and standard deviation
# ---------------------------------------------------------------------------------------------


def test_critic_hand_computation():
    X = pd.DataFrame(
        {
            "a": [2.0, 4.0, 6.0, 8.0, 5.0],
            "b": [1.0, 3.0, 2.0, 5.0, 4.0],
            "c": [9.0, 7.0, 8.0, 3.0, 6.0],
        }
    )
    cols = {}
    for name in X:  # min-max by hand
        x = X[name].tolist()
        cols[name] = [(v - min(x)) / (max(x) - min(x)) for v in x]

    def mean(x):
        return sum(x) / len(x)

    def sd(x):  # sample standard deviation, written out
        return math.sqrt(sum((v - mean(x)) ** 2 for v in x) / (len(x) - 1))

    def corr(x, y):  # Pearson correlation, written out
        dx = [v - mean(x) for v in x]
        dy = [v - mean(y) for v in y]
        return sum(p * q for p, q in zip(dx, dy, strict=True)) / math.sqrt(
            sum(p * p for p in dx) * sum(q * q for q in dy)
        )

    C = {j: sd(cols[j]) * sum(1 - corr(cols[j], cols[k]) for k in cols) for j in cols}
    expected = [C[j] / sum(C.values()) for j in cols]
    w = W.critic(X)
    assert w.tolist() == pytest.approx(expected, abs=1e-12)
    assert w.attrs["sd"]["a"] == pytest.approx(sd(cols["a"]), abs=1e-12)
    assert w.attrs["correlation"]["a"]["c"] == pytest.approx(corr(cols["a"], cols["c"]), abs=1e-12)


def test_critic_tus_adali_2019():
    # Tuş & Aytaç Adalı (2019) OPSEARCH 56(2): published 0.157 0.249 0.168 0.121 0.154 0.151
    X = pd.DataFrame(
        [
            [5000, 3, 3, 4, 3, 2],
            [680, 5, 3, 2, 2, 1],
            [2000, 3, 2, 3, 4, 3],
            [600, 4, 3, 1, 2, 2],
            [800, 2, 4, 3, 3, 4],
        ]
    )
    assert W.critic(X).round(3).tolist() == [0.157, 0.249, 0.168, 0.121, 0.154, 0.151]


def test_critic_rewards_conflict():
    # b duplicates a (r = 1); c is uncorrelated with both and has the same spread: c must weigh more
    X = pd.DataFrame({"a": [0.0, 1, 2, 3], "b": [0.0, 1, 2, 3], "c": [1.0, 0, 3, 2]})
    # σ equal for all (min-max values {0,1/3,2/3,1}); r_ab = 1; r_ac = r_bc = 0.6 (by hand:
    # deviations a = (-1.5,-.5,.5,1.5), c = (-.5,-1.5,1.5,.5): Σ = .75+.75+.75+.75 = 3, Σa² = 5)
    # conflict a = b = 0 + 0 + 0.4 = 0.4; c = 0.4 + 0.4 = 0.8 -> weights 0.25, 0.25, 0.5
    assert W.critic(X).tolist() == pytest.approx([0.25, 0.25, 0.5], abs=1e-12)


def test_std_salabun_2020():
    # Sałabun et al. (2020) Symmetry 12(9): σ of raw values; published 0.217 0.294 0.488
    X = pd.DataFrame(
        [
            [0.619, 0.449, 0.447],
            [0.862, 0.466, 0.006],
            [0.458, 0.698, 0.771],
            [0.777, 0.631, 0.491],
            [0.567, 0.992, 0.968],
        ]
    )
    assert W.std(X, normalise="none").round(3).tolist() == [0.217, 0.294, 0.488]


def test_std_minmax_hand():
    # a: min-max 0, .5, 1 -> σ = 0.5; b: 0, 0, 1 -> mean 1/3, Σdev² = 2/9+... = 2/3, σ = √(1/3)
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 10.0, 40.0]})
    s_a, s_b = 0.5, math.sqrt(1 / 3)
    assert W.std(X).tolist() == pytest.approx([s_a / (s_a + s_b), s_b / (s_a + s_b)], abs=1e-12)


# ---------------------------------------------------------------------------------------------
# PCA / factor-loading weights
# ---------------------------------------------------------------------------------------------


def test_pca_tai_eigenvalues_match_handbook_table_16(tai):
    w = W.pca(tai, n_components=4)
    eig = list(w.attrs["eigenvalues"].values())
    share = [100 * r for r in w.attrs["explained_variance_ratio"].values()]
    # OECD (2008) Table 16, printed to one decimal. The eigenvalue column looks truncated rather
    # than rounded (41.9% of 8 = 3.35, printed 3.3), so allow 0.06 there. The variance shares
    # are the sharper check, but they carry rounding of their own (the table's cumulative 87.2
    # is not 76.0 + 11.1) and the printed data are rounded (log telephones to 2 decimals), so
    # allow 0.15 point (= 0.012 in eigenvalue); numpy's eigvalsh
    # of this file's correlation matrix gives 41.93 21.83 12.31 11.17 5.89 3.74 2.18 0.95.
    assert eig == pytest.approx([3.3, 1.7, 1.0, 0.9, 0.5, 0.3, 0.2, 0.1], abs=0.06)
    assert share == pytest.approx([41.9, 21.8, 12.3, 11.1, 6.0, 3.7, 2.2, 0.9], abs=0.15)


def test_pca_tai_rotated_loadings_match_handbook_table_17(tai):
    w = W.pca(tai, n_components=4, rotation="varimax")
    patents = list(w.attrs["loadings"]["patents"].values())
    # OECD (2008) Table 17, Patents row: loadings 0.07 0.97 0.06 0.06
    assert patents == pytest.approx([0.07, 0.97, 0.06, 0.06], abs=0.015)
    # ... and squared loading scaled to unity sum 0.67 on factor 2 (0.00 elsewhere)
    var = w.attrs["factor_variance"]
    scaled = [patents[k] ** 2 / var[f"F{k + 1}"] for k in range(4)]
    assert scaled == pytest.approx([0.0, 0.67, 0.0, 0.0], abs=0.006)
    assert w.attrs["factor"]["patents"] == "F2"
    # Handbook assembly, written out from the loadings checked above and in the eigh / brute-force
    # varimax tests: scaled squared loading s_ik = L_ik² / V_k, indicator to its largest s_ik,
    # times the factor's share V_k / ΣV, normalised.
    total = sum(var.values())
    raw = {}
    for ind, row in w.attrs["loadings"].items():
        s = {f: load**2 / var[f] for f, load in row.items()}
        best = max(s, key=s.get)
        raw[ind] = s[best] * var[best] / total
    assert w.to_dict() == pytest.approx({k: v / sum(raw.values()) for k, v in raw.items()})


def test_pca_unrotated_loadings_match_numpy_eigh(tai):
    R = np.corrcoef(tai.to_numpy(), rowvar=False)
    vals, vecs = np.linalg.eigh(R)  # ascending
    order = np.argsort(vals)[::-1][:4]
    expected = vecs[:, order] * np.sqrt(vals[order])
    w = W.pca(tai, n_components=4, rotation=None)
    got = pd.DataFrame(w.attrs["loadings"]).T.to_numpy()
    for k in range(4):  # a component's sign is arbitrary
        sign = np.sign(got[:, k] @ expected[:, k])
        np.testing.assert_allclose(got[:, k], sign * expected[:, k], atol=1e-10)
    # Kaiser's rule by default: eigenvalues > 1 counted independently
    assert W.pca(tai).attrs["n_components"] == int((vals > 1).sum()) == 2
    assert W.pca(tai).attrs["rule"].startswith("kaiser")


def test_pca_weights_on_known_correlation_structure():
    # Data whose sample correlation matrix is exactly block-diagonal:
    # R = [[1, .8], [.8, 1]] ⊕ [[1, .6], [.6, 1]]  -> eigenvalues 1.8, 1.6, 0.4, 0.2.
    # Kaiser keeps 2; loadings: a, b load √0.9 on F1, c, d load √0.8 on F2 (already simple, so
    # varimax leaves them); V1 = 1.8, V2 = 1.6; scaled squared loadings 0.5 each;
    # w ∝ 0.5 · V/ΣV -> a, b: 0.9/3.4; c, d: 0.8/3.4.
    rng = np.random.default_rng(7)
    Z = rng.normal(size=(40, 4))
    Z -= Z.mean(axis=0)
    Q, _ = np.linalg.qr(Z)  # orthonormal, mean-zero columns
    R = np.array([[1, 0.8, 0, 0], [0.8, 1, 0, 0], [0, 0, 1, 0.6], [0, 0, 0.6, 1]])
    X = pd.DataFrame(Q @ np.linalg.cholesky(R).T * 5 + 50, columns=list("abcd"))
    w = W.pca(X)
    assert w.attrs["n_components"] == 2
    assert list(w.attrs["explained_variance_ratio"].values()) == pytest.approx(
        [0.45, 0.40, 0.10, 0.05], abs=1e-10
    )
    assert w.tolist() == pytest.approx([0.9 / 3.4, 0.9 / 3.4, 0.8 / 3.4, 0.8 / 3.4], abs=1e-10)
    assert w.attrs["factor"] == {"a": "F1", "b": "F1", "c": "F2", "d": "F2"}


def test_varimax_matches_brute_force_angle_search(tai):
    R = np.corrcoef(tai.to_numpy(), rowvar=False)
    vals, vecs = np.linalg.eigh(R)
    L = vecs[:, [-1, -2]] * np.sqrt(vals[[-1, -2]])
    rotated, T = W.varimax(L)
    # independent: every rotation angle, Kaiser-normalised varimax criterion, pick the best
    h = np.sqrt((L**2).sum(axis=1))
    A = L / h[:, None]
    theta = np.linspace(0, np.pi / 2, 200_001)
    c, s = np.cos(theta), np.sin(theta)
    B1 = A[:, [0]] * c - A[:, [1]] * s  # p × angles
    B2 = A[:, [0]] * s + A[:, [1]] * c
    crit = sum(((B**4).mean(axis=0) - ((B**2).mean(axis=0)) ** 2) for B in (B1, B2))
    t = int(np.argmax(crit))
    best = np.column_stack([B1[:, t], B2[:, t]]) * h[:, None]
    # equal up to the order and sign of the two factors
    matches = [
        np.abs(rotated[:, perm] * sign - best).max()
        for perm in ([0, 1], [1, 0])
        for sign in ([1, 1], [1, -1], [-1, 1], [-1, -1])
    ]
    assert min(matches) < 1e-4
    np.testing.assert_allclose(T @ T.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose((rotated**2).sum(axis=1), (L**2).sum(axis=1), atol=1e-12)


def test_pca_arguments_are_checked(tai):
    with pytest.raises(ValueError, match="n_components"):
        W.pca(tai, n_components=9)
    with pytest.raises(ValueError, match="rotation"):
        W.pca(tai, rotation="promax")


def test_pca_is_deterministic(tai):
    a, b = W.pca(tai, n_components=3), W.pca(tai, n_components=3)
    assert a.to_numpy().tobytes() == b.to_numpy().tobytes()
    assert a.attrs == b.attrs


# ---------------------------------------------------------------------------------------------
# AHP
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("w", [[0.5, 0.3, 0.2], [0.4, 0.25, 0.15, 0.12, 0.08]])
def test_ahp_consistent_matrix_returns_its_weights(w):
    w = np.array(w)
    labels = [f"k{i}" for i in range(len(w))]
    A = pd.DataFrame(np.outer(w, 1 / w), index=labels, columns=labels)  # a_ij = w_i / w_j
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = W.ahp(A)
    assert out.tolist() == pytest.approx(w.tolist(), abs=1e-12)
    assert out.attrs["lambda_max"] == pytest.approx(len(w), abs=1e-10)
    assert out.attrs["cr"] == pytest.approx(0.0, abs=1e-10)
    assert out.attrs["consistent"] is True


def test_ahp_three_by_three_closed_form():
    # Textbook example [[1,3,5],[1/3,1,3],[1/5,1/3,1]], often printed as w ≈ (.637, .258, .105),
    # CR ≈ 0.033. Closed forms for n = 3: λ = 1 + δ^(1/3) + δ^(-1/3), δ = a13/(a12·a23) = 5/9;
    # eigenvector = normalised row geometric means (Crawford & Williams 1985).
    A = ahp_labels([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]])
    delta = 5 / 9
    lam = 1 + delta ** (1 / 3) + delta ** (-1 / 3)  # 3.03851
    g = [15 ** (1 / 3), 1.0, (1 / 15) ** (1 / 3)]
    out = W.ahp(A)
    assert out.tolist() == pytest.approx([x / sum(g) for x in g], abs=1e-12)
    assert out.round(3).tolist() == [0.637, 0.258, 0.105]
    assert out.attrs["lambda_max"] == pytest.approx(lam, abs=1e-12)
    assert out.attrs["ri"] == 0.58  # Saaty (1980) RI(3)
    assert out.attrs["cr"] == pytest.approx((lam - 3) / 2 / 0.58, abs=1e-12)
    assert round(out.attrs["cr"], 3) == 0.033


def ahp_labels(rows):
    labels = ["x", "y", "z", "v"][: len(rows)]
    return pd.DataFrame(np.array(rows, dtype=float), index=labels, columns=labels)


def test_ahp_inconsistent_matrix_warns_with_cr():
    A = ahp_labels([[1, 2, 1 / 2, 3], [1 / 2, 1, 4, 2], [2, 1 / 4, 1, 1 / 2], [1 / 3, 1 / 2, 2, 1]])
    # independent: power iteration (A^k 1 converges to the Perron vector)
    v = np.linalg.matrix_power(A.to_numpy(), 64) @ np.ones(4)
    v /= v.sum()
    lam = float((A.to_numpy() @ v / v).mean())
    cr = (lam - 4) / 3 / 0.90  # RI(4) = 0.90
    with pytest.warns(W.InconsistentJudgementsWarning) as rec:
        out = W.ahp(A)
    msg = str(rec[0].message)
    assert float(re.search(r"CR = ([0-9.]+)", msg).group(1)) == pytest.approx(cr, abs=1e-4)
    assert out.tolist() == pytest.approx(v.tolist(), abs=1e-10)
    assert out.attrs["cr"] == pytest.approx(cr, abs=1e-10) and cr > 0.1
    assert out.attrs["consistent"] is False


def test_ahp_two_elements_always_consistent():
    out = W.ahp(ahp_labels([[1, 4], [1 / 4, 1]]))
    assert out.tolist() == pytest.approx([0.8, 0.2], abs=1e-12)
    assert out.attrs["cr"] == 0.0
    assert out.attrs["lambda_max"] == pytest.approx(2.0, abs=1e-12)  # any 2×2 reciprocal matrix


def test_ahp_rejects_bad_cells_by_label():
    A = ahp_labels([[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 3, 1]])  # y-z: 2 vs 1/3
    with pytest.raises(DataError) as err:
        W.ahp(A)
    assert len(err.value.problems) == 1
    assert "row 'y', column 'z'" in str(err.value) and "not reciprocal" in str(err.value)
    A = ahp_labels([[1, -3, 5], [1 / 3, 2, 3], [1 / 5, 1 / 3, 1]])
    with pytest.raises(DataError) as err:
        W.ahp(A)
    text = str(err.value)
    assert "row 'x', column 'y'" in text and "positive" in text
    assert "row 'y', column 'y'" in text and "diagonal" in text
    with pytest.raises(DataError, match="square"):
        W.ahp(np.ones((2, 3)))
    wrong = ahp_labels([[1, 2], [0.5, 1]]).rename(columns={"y": "q"})
    with pytest.raises(DataError, match="labels"):
        W.ahp(wrong)


def test_ahp_random_index_limits():
    n = 16
    A = np.ones((n, n))
    with pytest.raises(ValueError, match="n <= 15"):
        W.ahp(A)
    out = W.ahp(A, random_index=1.6)
    assert out.tolist() == pytest.approx([1 / n] * n) and out.attrs["ri"] == 1.6


def test_ahp_matrix_builds_reciprocal_and_checks_pairs():
    A = W.ahp_matrix(["a", "b", "c"], {("a", "b"): 3, ("c", "a"): 1 / 5, ("b", "c"): 3})
    assert A.loc["b", "a"] == pytest.approx(1 / 3) and A.loc["a", "c"] == pytest.approx(5)
    assert W.ahp(A).round(3).tolist() == [0.637, 0.258, 0.105]  # the 3×3 example above
    with pytest.raises(DataError) as err:
        W.ahp_matrix(["a", "b", "c"], {("a", "b"): 3, ("b", "a"): 2, ("a", "d"): 1})
    text = str(err.value)
    assert "already judged" in text and "unknown label" in text
    assert "('a', 'c') has no judgement" in text and "('b', 'c') has no judgement" in text


# ---------------------------------------------------------------------------------------------
# benefit of the doubt
# ---------------------------------------------------------------------------------------------

# Two indicators, solvable on paper. Frontier: A(1,4), B(3,3), C(4,1). The weight polytope
# {w >= 0 : w·y_k <= 1 ∀k} has vertices (1/4, 0), (2/9, 1/9) [facet B–C], (1/9, 2/9) [facet A–B],
# (0, 1/4); a unit's score is the best vertex:
#   D(2,1): 1/2, 5/9, 4/9, 1/4 -> 5/9 at w = (2/9, 1/9);   E(1,1): max 1/3.
BOD = pd.DataFrame(
    {"a": [1.0, 3.0, 4.0, 2.0, 1.0], "b": [4.0, 3.0, 1.0, 1.0, 1.0]},
    index=list("ABCDE"),
)


def test_bod_two_indicator_example_by_hand():
    res = W.bod(BOD)
    assert res.scores.tolist() == pytest.approx([1, 1, 1, 5 / 9, 1 / 3], abs=1e-9)
    assert res.weights.loc["D"].tolist() == pytest.approx([2 / 9, 1 / 9], abs=1e-9)
    assert res.shares.loc["D"].tolist() == pytest.approx([0.8, 0.2], abs=1e-9)  # (4/9, 1/9)/(5/9)
    assert res.bound_type == "none"
    assert (BOD.to_numpy() @ res.weights.T.to_numpy()).max() <= 1 + 1e-9  # no unit above 1


def test_bod_share_bounds_by_hand():
    # D with 0.4 <= share <= 0.6: 2w1 >= .4(2w1 + w2) -> w2 <= 3 w1; 2w1 <= .6(2w1 + w2) ->
    # w2 >= 4/3 w1. Along w2 = s·w1, score(s) = (2 + s)/max_k(y_k1 + s·y_k2), decreasing on
    # [4/3, 3], so s = 4/3: B binds (3 + 4 = 7) -> w1 = 1/7, score = (10/3)/7 = 10/21,
    # shares 0.6 / 0.4.
    res = W.bod(BOD, bounds=(0.4, 0.6))
    assert res.scores["D"] == pytest.approx(10 / 21, abs=1e-9)
    assert res.shares.loc["D"].tolist() == pytest.approx([0.6, 0.4], abs=1e-9)
    assert res.shares.min().min() >= 0.4 - 1e-9 and res.shares.max().max() <= 0.6 + 1e-9


def test_bod_equal_weight_bounds_give_rescaled_equal_weight_score():
    # w_j / Σw fixed at 1/2: score_i = (y_i1 + y_i2) / max_k (y_k1 + y_k2); sums 5, 6, 5, 3, 2
    res = W.bod(BOD, bounds=(0.5, 0.5), bound_type="weight")
    assert res.scores.tolist() == pytest.approx([5 / 6, 1, 5 / 6, 3 / 6, 2 / 6], abs=1e-9)


def test_bod_equal_share_bounds_closed_form(panel):
    # shares fixed at 1/m: w_j y_ij = t for all j -> score_i = m / max_k Σ_j y_kj / y_ij
    Y = panel.to_numpy()
    m = Y.shape[1]
    expected = m / (Y[None, :, :] / Y[:, None, :]).sum(axis=2).max(axis=1)
    res = W.bod(panel, bounds=(1 / m, 1 / m))
    assert res.scores.to_numpy() == pytest.approx(expected, abs=1e-8)


def test_bod_absolute_bounds_by_hand():
    # D with w_b >= 0.2: unrestricted optimum has w_b = 1/9 < 0.2, so w_b = 0.2 binds; then
    # B: 3w1 + 0.6 <= 1 -> w1 = 2/15; score = 4/15 + 1/5 = 7/15 (A: 2/15 + .8 <= 1 holds).
    res = W.bod(BOD, bounds={"b": (0.2, None)}, bound_type="absolute")
    assert res.scores["D"] == pytest.approx(7 / 15, abs=1e-9)
    assert res.weights.loc["D"].tolist() == pytest.approx([2 / 15, 0.2], abs=1e-9)


def test_bod_dominating_unit_is_the_only_one_scoring_one(panel):
    best = panel.max() + 1.0  # strictly better than every unit on every indicator
    X = pd.concat([panel, best.to_frame("champion").T])
    res = W.bod(X)
    assert res.scores["champion"] == pytest.approx(1.0, abs=1e-9)
    assert res.scores.drop("champion").max() < 1 - 1e-6


def test_bod_scores_ignore_units_of_measure(panel):
    rescaled = panel * [1.0, 1000.0, 0.01, 3.0, 1.0]
    for bounds in (None, (0.05, 0.5)):
        a = W.bod(panel, bounds=bounds).scores
        b = W.bod(rescaled, bounds=bounds).scores
        np.testing.assert_allclose(a, b, atol=1e-8)


def test_bod_zero_value_with_positive_lower_share_scores_zero():
    X = BOD.assign(b=[4.0, 3.0, 1.0, 0.0, 1.0])
    res = W.bod(X, bounds={"b": (0.2, 1.0)})
    assert res.scores["D"] == pytest.approx(0.0, abs=1e-12)
    assert res.shares.loc["D"].isna().all()


def test_bod_input_checks():
    with pytest.raises(DataError) as err:
        W.bod(BOD.assign(a=[1.0, -3.0, 4.0, 2.0, 1.0]))
    assert err.value.problems[0].column == "a" and "unit 'B'" in str(err.value)
    with pytest.raises(DataError, match="cannot be met"):
        W.bod(BOD, bounds=(0.6, 1.0))
    with pytest.raises(DataError, match="unknown indicator 'zz'"):
        W.bod(BOD, bounds={"zz": (0.1, 0.9)})
    with pytest.raises(DataError, match="0 for every unit"):
        W.bod(BOD.assign(c=0.0))
    with pytest.raises(DataError, match="no weights are feasible"):
        W.bod(BOD, bounds={"a": (0.3, None)}, bound_type="absolute")  # C: 4 · 0.3 > 1
    with pytest.raises(ValueError, match="bound_type"):
        W.bod(BOD, bounds=(0.1, 0.9), bound_type="pie")


def test_bod_result_frame():
    frame = W.bod(BOD).to_frame()
    assert list(frame.columns) == ["score", "share_a", "share_b"]
    assert frame[["share_a", "share_b"]].sum(axis=1).to_numpy() == pytest.approx([1.0] * 5)
