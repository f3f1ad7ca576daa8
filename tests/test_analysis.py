"""Tests of hf_reasoning.analysis against independent computations from the definitions.

Reference functions, influences and interpolators are recomputed here by brute force (explicit
enumeration with itertools, explicit coordinate flips, explicit character sums, an independent
lexicographic solver over the unseen values) or by hand; the module is never checked against
itself.
"""

import itertools
import json
import math
from collections import Counter

import numpy as np
import pytest

from hf_reasoning import analysis as an

# --------------------------------------------------------------------------------------------
# Independent brute-force helpers (definitions, not the module's algorithms)
# --------------------------------------------------------------------------------------------


def points_bruteforce(d):
    """Cube points in the documented order, built from the convention itself:
    index i has x_j = -1 exactly when bit j of i is 1."""
    return np.array(
        [[-1 if (i >> j) & 1 else 1 for j in range(d)] for i in range(2**d)], dtype=np.int64
    )


def character_matrix(d):
    """chi[i, S] = prod_{j in S} x_j(i), by explicit products."""
    pts = points_bruteforce(d)
    chi = np.ones((2**d, 2**d))
    for s in range(2**d):
        for j in range(d):
            if (s >> j) & 1:
                chi[:, s] *= pts[:, j]
    return chi


def fourier_bruteforce(values, d):
    return character_matrix(d).T @ np.asarray(values, dtype=float) / 2**d


def influence_bruteforce(table, d, i):
    """E[(D_i f)^2], D_i f = (f(x, x_i=+1) - f(x, x_i=-1)) / 2, by flipping bit i of the index."""
    idx = np.arange(2**d)
    plus = table[idx & ~(1 << i)]  # bit i = 0 <-> x_i = +1
    minus = table[idx | (1 << i)]
    return float(np.mean(((plus - minus) / 2) ** 2))


def table_of(fn, d):
    return np.array([fn(x) for x in points_bruteforce(d)], dtype=float)


def staircase(x):
    return sum(np.prod(x[: k + 1]) for k in range(len(x)))


def f1_chain(x):
    return sum(k * x[k - 1] * x[k] for k in range(1, len(x)))


def pvr_truncated_majority(x, p=3, w=3):
    """Boolean PVR with a truncated window (``abbe2022``), per-point from the definition.

    Convention: the pointer is x_0..x_{p-1} read most significant bit first, with -1 -> 0 and
    +1 -> 1; the value bits are v_k = x_{p+k}, k = 0..2^p - 1; the window is
    v_P, ..., v_{min(P+w, 2^p) - 1} (truncated at the end, no wrap); the aggregation is
    majority = sign of the window sum, 0 on a tie (ties happen for the 2-bit window at P = 6).
    With d = 11 this gives Inf_7 = 3/16 (v_4 is pivotal in windows P = 2, 3, 4 with prob. 1/2)
    and Inf_10 = (1/2 + 1/4 + 1) / 8 = 7/32 (v_7 in windows P = 5, 6 (tie) and 7 (alone)).
    """
    pointer = 0
    for j in range(p):
        pointer = 2 * pointer + (1 if x[j] == 1 else 0)
    values = x[p:]
    window = values[pointer : min(pointer + w, 2**p)]
    return float(np.sign(np.sum(window)))


def lexicographic_min_degree_bruteforce(values, seen, d):
    """Min-degree interpolator by a route independent of the module: interpolators are
    parametrised by their values u on the unseen points; coefficients are affine in u; going
    from degree d down to 0, minimise the level's squared mass over the current affine set
    (np.linalg.lstsq), then restrict to the directions that keep that level fixed (SVD)."""
    n = 2**d
    chi = character_matrix(d)
    degree = np.array([bin(s).count("1") for s in range(n)])
    unseen = np.flatnonzero(~seen)
    c0 = chi.T @ np.where(seen, values, 0.0) / n
    b = chi[unseen, :].T / n  # coefficient change per unit of unseen value
    u0 = np.zeros(unseen.size)
    basis = np.eye(unseen.size)
    for k in range(d, -1, -1):
        if basis.shape[1] == 0:
            break
        rows = degree == k
        bk = b[rows] @ basis
        rk = c0[rows] + b[rows] @ u0
        z = np.linalg.lstsq(bk, -rk, rcond=None)[0]
        u0 = u0 + basis @ z
        _, s, vt = np.linalg.svd(bk)
        rank = int((s > 1e-10).sum())
        basis = basis @ vt[rank:].T
    return c0 + b @ u0


# --------------------------------------------------------------------------------------------
# Cube helpers
# --------------------------------------------------------------------------------------------


def test_cube_points_follow_documented_order():
    pts = an.cube_points(3)
    assert pts.shape == (8, 3)
    assert pts[0].tolist() == [1, 1, 1]
    assert pts[5].tolist() == [-1, 1, -1]  # 5 = 0b101: bits 0 and 2 set
    assert np.array_equal(pts, points_bruteforce(3))
    assert np.array_equal(an.cube_points(7), points_bruteforce(7))
    assert np.array_equal(an.cube_points(7, 10, 20), points_bruteforce(7)[10:20])


def test_cube_index_inverts_points():
    pts = points_bruteforce(9)
    assert np.array_equal(an.cube_index(pts), np.arange(2**9))


@pytest.mark.parametrize("without_bitwise_count", [False, True])
def test_popcount_matches_python(monkeypatch, without_bitwise_count):
    if without_bitwise_count:  # exercise the numpy < 2 fallback
        monkeypatch.delattr(np, "bitwise_count", raising=False)
    masks = np.random.default_rng(0).integers(0, 2**40, size=500)
    assert an.popcount(masks).tolist() == [bin(int(m)).count("1") for m in masks]


def test_masks_up_to_degree_and_subset_conversion():
    d, k = 9, 3
    masks = an.masks_up_to_degree(d, k)
    subsets = [s for r in range(k + 1) for s in itertools.combinations(range(d), r)]
    expected = sorted((len(s), sum(2**j for j in s)) for s in subsets)
    assert masks.tolist() == [m for _, m in expected]
    assert an.subset_to_mask((0, 2, 5)) == 0b100101
    assert an.mask_to_subset(0b100101) == (0, 2, 5)


# --------------------------------------------------------------------------------------------
# Fourier transform
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 3, 5, 7])
def test_fourier_matches_bruteforce(d):
    values = np.random.default_rng(d).normal(size=2**d)
    assert np.allclose(an.fourier_coefficients(values), fourier_bruteforce(values, d), atol=1e-12)


def test_fwht_is_in_place_and_involutive_up_to_scale():
    a = np.random.default_rng(1).normal(size=2**10)
    b = a.copy()
    out = an.fwht(b)
    assert out is b
    assert np.allclose(an.fwht(b), 2**10 * a)


def test_parseval_and_inverse():
    values = np.random.default_rng(2).normal(size=2**12)
    coef = an.fourier_coefficients(values)
    assert math.isclose(np.mean(values**2), np.sum(coef**2), rel_tol=1e-12)
    assert np.allclose(an.values_from_coefficients(coef), values)


def test_weights_and_degree_of_known_polynomial():
    d = 6
    x = points_bruteforce(d)
    f = 2 * x[:, 0] * x[:, 3] - x[:, 1] + 0.5 * x[:, 0] * x[:, 2] * x[:, 4] + 3
    w = an.weights_by_degree(an.fourier_coefficients(f))
    assert np.allclose(w, [9, 1, 4, 0.25, 0, 0, 0])
    assert an.fourier_degree(an.fourier_coefficients(f)) == 3


# --------------------------------------------------------------------------------------------
# Influence, canonical holdout, noise stability
# --------------------------------------------------------------------------------------------


def test_influences_match_derivative_definition_on_random_function():
    d = 7
    table = np.random.default_rng(3).normal(size=2**d)
    inf = an.influences(an.fourier_coefficients(table))
    assert np.allclose(inf, [influence_bruteforce(table, d, i) for i in range(d)])


def test_parity_and_majority_closed_forms():
    d = 8
    x = points_bruteforce(d)
    parity = x[:, 1] * x[:, 4] * x[:, 6]
    inf = an.influences(an.fourier_coefficients(parity))
    assert np.allclose(inf, [0, 1, 0, 0, 1, 0, 1, 0])
    majority3 = np.sign(x[:, 0] + x[:, 1] + x[:, 2])
    inf = an.influences(an.fourier_coefficients(majority3))
    assert np.allclose(inf, [0.5, 0.5, 0.5, 0, 0, 0, 0, 0])  # pivotal iff the other two differ


def test_staircase_influences_reference():
    d = 14
    table = table_of(staircase, d)
    inf = an.influences(an.fourier_coefficients(table))
    assert np.allclose(inf, [14 - i for i in range(d)])
    assert np.allclose(inf, [influence_bruteforce(table, d, i) for i in range(d)])


def test_f1_chain_influences():
    """f1 = sum_k k x_{k-1} x_k: Inf_i = i^2 + (i+1)^2 for i <= 9, and Inf_10 = 10^2 (the last
    coordinate only sits in the k = 10 term)."""
    d = 11
    table = table_of(f1_chain, d)
    inf = an.influences(an.fourier_coefficients(table))
    expected = [i**2 + (i + 1) ** 2 for i in range(10)] + [100]
    assert np.allclose(inf, expected)
    assert np.allclose(inf, [influence_bruteforce(table, d, i) for i in range(d)])


def test_pvr_truncated_majority_reference():
    d = 11
    table = table_of(pvr_truncated_majority, d)
    inf = an.influences(an.fourier_coefficients(table))
    assert math.isclose(inf[7], 0.1875, abs_tol=1e-12)
    assert math.isclose(inf[10], 7 / 32, abs_tol=1e-12)
    assert np.allclose(inf, [influence_bruteforce(table, d, i) for i in range(d)])
    assert (table == 0).any()  # ties do occur (the window of 2 at P = 6)


@pytest.mark.parametrize("fn, d", [(pvr_truncated_majority, 11), (staircase, 12), (f1_chain, 11)])
def test_canonical_holdout_error_is_half_mse_of_frozen_restriction(fn, d):
    table = table_of(fn, d)
    coef = an.fourier_coefficients(table)
    idx = np.arange(2**d)
    for i in range(d):
        learned = table[idx & ~(1 << i)]  # f with x_i forced to +1
        assert math.isclose(
            an.canonical_holdout_error(coef, i), 0.5 * np.mean((table - learned) ** 2), abs_tol=1e-9
        )


def test_frozen_restriction_is_the_min_degree_interpolator_of_the_holdout():
    d = 11
    table = table_of(f1_chain, d)
    x = points_bruteforce(d)
    for i in (0, 5, 10):
        interp = an.min_degree_interpolator(table, x[:, i] == 1)
        learned = table[np.arange(2**d) & ~(1 << i)]
        assert np.allclose(interp.values(), learned)


def test_noise_stability_of_parity_is_rho_to_the_k():
    d = 7
    x = points_bruteforce(d)
    for k in range(d + 1):
        parity = np.prod(x[:, :k], axis=1) if k else np.ones(2**d)
        for rho in (-0.7, 0.3, 0.9):
            assert math.isclose(an.noise_stability(an.fourier_coefficients(parity), rho), rho**k)


def test_noise_stability_matches_correlated_pair_expectation():
    d = 5
    table = np.random.default_rng(4).normal(size=2**d)
    x = points_bruteforce(d)
    rho = 0.4
    agree = (x[:, None, :] == x[None, :, :]).sum(axis=2)
    # P(y | x) = prod_j (1 + rho x_j y_j) / 2
    p = ((1 + rho) / 2) ** agree * ((1 - rho) / 2) ** (d - agree) / 2**d
    expected = float(table @ p @ table)
    assert math.isclose(an.noise_stability(an.fourier_coefficients(table), rho), expected)


# --------------------------------------------------------------------------------------------
# Min-degree interpolator
# --------------------------------------------------------------------------------------------


def _abbe2023(d=15):
    return points_bruteforce(d).astype(float)


def test_gotu_x0x1_reference():
    x = _abbe2023()
    f = x[:, 0] * x[:, 1]
    seen = (x[:, 0] == 1) | (x[:, 1] == 1)
    interp = an.min_degree_interpolator(f, seen)
    assert interp.degree == 1
    coef = interp.coefficient_dict()
    assert coef.keys() == {(), (0,), (1,)}
    assert np.allclose([coef[()], coef[(0,)], coef[(1,)]], [-1, 1, 1])
    # x0 + x1 - 1 is -3 where x0 = x1 = -1, against the true 1.
    errors = an.prediction_errors(interp.values(), f, seen)
    assert math.isclose(errors["mse_whole"], 4) and math.isclose(errors["mse_unseen"], 16)
    assert np.allclose(interp.values(), x[:, 0] + x[:, 1] - 1)


def test_gotu_cyclic_triples_reference():
    d = 15
    x = _abbe2023(d)
    f = sum(x[:, i] * x[:, (i + 1) % d] * x[:, (i + 2) % d] for i in range(d))
    seen = ~((x[:, 0] == -1) & (x[:, 1] == -1) & (x[:, 2] == -1))
    interp = an.min_degree_interpolator(f, seen)
    errors = an.prediction_errors(interp.values(), f, seen)
    assert interp.degree == 3
    assert math.isclose(errors["mse_whole"], 8, rel_tol=1e-9)
    assert math.isclose(errors["mse_unseen"], 64, rel_tol=1e-9)
    # By hand: adding 8 * 1[x0=x1=x2=-1] removes the x0x1x2 term and nothing else of degree 3.
    unseen_indicator = (1 - x[:, 0]) * (1 - x[:, 1]) * (1 - x[:, 2]) / 8
    assert np.allclose(interp.values(), f + 8 * unseen_indicator)


def test_gotu_majority_reference():
    x = _abbe2023()
    f = np.sign(x[:, 0] + x[:, 1] + x[:, 2])
    seen = (x[:, 0] == 1) | (x[:, 1] == 1)
    interp = an.min_degree_interpolator(f, seen)
    errors = an.prediction_errors(interp.values(), f, seen)
    assert interp.degree == 2
    assert math.isclose(errors["mse_whole"], 1) and math.isclose(errors["mse_unseen"], 4)
    # By hand: the degree-<=2 interpolators are h + c * 1[x0=x1=-1]; c = 0 minimises W^2.
    hand = (x[:, 0] + x[:, 1]) / 2 + x[:, 2] - x[:, 0] * x[:, 2] / 2 - x[:, 1] * x[:, 2] / 2
    assert np.allclose(interp.values(), hand)


def test_gotu_three_products_seen_on_half():
    x = _abbe2023()
    f = x[:, 0] * x[:, 1] - 1.25 * x[:, 1] * x[:, 2] + 1.5 * x[:, 0] * x[:, 2]
    seen = x[:, 0] * x[:, 1] * x[:, 2] == 1
    interp = an.min_degree_interpolator(f, seen)
    errors = an.prediction_errors(interp.values(), f, seen)
    # On the seen set x0x1 = x2 etc., so the interpolator is x2 - 1.25 x0 + 1.5 x1 and the
    # unseen error is 4 * (1 + 1.25^2 + 1.5^2) = 19.25.
    assert interp.degree == 1
    assert np.allclose(interp.values(), x[:, 2] - 1.25 * x[:, 0] + 1.5 * x[:, 1])
    assert math.isclose(errors["mse_unseen"], 19.25) and math.isclose(errors["mse_whole"], 9.625)


@pytest.mark.parametrize("d, seed", [(3, 0), (4, 1), (4, 2), (4, 3), (5, 4), (5, 5)])
def test_min_degree_interpolator_matches_bruteforce(d, seed):
    rng = np.random.default_rng(seed)
    seen = rng.random(2**d) < 0.6
    seen[rng.integers(2**d)] = True
    values = rng.integers(-3, 4, size=2**d).astype(float)
    values[~seen] = np.nan  # unseen values must be ignored
    interp = an.min_degree_interpolator(values, seen)
    expected = lexicographic_min_degree_bruteforce(np.nan_to_num(values), seen, d)
    assert np.allclose(interp.dense_coefficients(), expected, atol=1e-8)
    nonzero = np.flatnonzero(np.abs(expected) > 1e-8)
    assert interp.degree == max((bin(s).count("1") for s in nonzero), default=0)
    assert np.allclose(interp.values()[seen], values[seen])
    assert np.allclose(interp.evaluate(points_bruteforce(d)), interp.values())


@pytest.mark.parametrize("use_symmetry", [True, False])
def test_min_degree_interpolator_structured_bruteforce(use_symmetry):
    """A Hamming-ball seen set (length generalisation) and a parity, d = 5: both the symmetric
    (Krawtchouk) solve and the general solve against the brute force."""
    d = 5
    x = points_bruteforce(d)
    seen = (x == -1).sum(axis=1) <= 2
    parity = np.prod(x, axis=1).astype(float)
    interp = an.min_degree_interpolator(parity, seen, use_symmetry=use_symmetry)
    expected = lexicographic_min_degree_bruteforce(parity, seen, d)
    assert interp.degree == 2
    assert np.allclose(interp.dense_coefficients(), expected, atol=1e-8)


def test_length_generalisation_preset_matches_newton_series():
    """Parity of 15 bits seen on inputs with at most k = 6 entries -1. The interpolator is a
    function of the weight w, a polynomial of degree <= k in w through (-1)^w at w = 0..k, so by
    Newton's forward differences (Delta^t (-1)^w = (-2)^t at 0) it is sum_{t<=k} C(w, t) (-2)^t."""
    d, k = 15, 6
    x = points_bruteforce(d)
    w = (x == -1).sum(axis=1)
    parity = np.prod(x, axis=1).astype(float)
    interp = an.min_degree_interpolator(parity, w <= k)
    newton = np.array([sum(math.comb(int(v), t) * (-2) ** t for t in range(k + 1)) for v in w])
    assert interp.degree == k
    assert np.allclose(interp.values(), newton, rtol=1e-9, atol=1e-6)


def test_symmetric_and_general_solves_agree():
    d = 9
    x = points_bruteforce(d)
    w = (x == -1).sum(axis=1)
    seen = np.isin(w, [0, 1, 2, 4])
    values = np.cos(w).astype(float)
    fast = an.min_degree_interpolator(values, seen)
    general = an.min_degree_interpolator(values, seen, use_symmetry=False)
    assert fast.degree == general.degree
    assert np.allclose(fast.dense_coefficients(), general.dense_coefficients(), atol=1e-8)


def test_min_degree_interpolator_monomial_cap():
    d = 15
    x = _abbe2023(d)
    parity = np.prod(x, axis=1)
    seen = x[:, 0] == 1  # needs the degree-14 parity of x1..x14: far beyond 1000 monomials
    with pytest.raises(an.AnalysisError, match="max_monomials"):
        an.min_degree_interpolator(parity, seen, max_monomials=1000)


# --------------------------------------------------------------------------------------------
# Globality degree
# --------------------------------------------------------------------------------------------


def mutual_information_bits_counter(a, b):
    pairs = list(zip(a, b))
    n = len(pairs)
    joint, pa, pb = Counter(pairs), Counter(a), Counter(b)
    return sum(c / n * math.log2(c * n / (pa[u] * pb[v])) for (u, v), c in joint.items())


def test_plug_in_mutual_information_matches_counter_formula():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 4, 300)
    b = (a + rng.integers(0, 3, 300)) % 5
    assert math.isclose(an.plug_in_mutual_information(a, b), mutual_information_bits_counter(a, b))
    two = rng.integers(0, 3, (300, 2))
    keys = [tuple(r) for r in two]
    assert math.isclose(
        an.plug_in_mutual_information(two, b), mutual_information_bits_counter(keys, b)
    )


@pytest.fixture(scope="module")
def bits6():
    return np.random.default_rng(6).integers(0, 2, (3000, 6))


@pytest.mark.parametrize(
    "label, expected",
    [
        (lambda x, r: x[:, 1] ^ x[:, 4], 2),  # parity of 2 specific bits
        (lambda x, r: x[:, 3].copy(), 1),  # a single bit
        (lambda x, r: r.integers(0, 2, x.shape[0]), None),  # label independent of the input
    ],
)
def test_globality_without_histogram(bits6, label, expected):
    y = label(bits6, np.random.default_rng(8))
    result = an.globality_degree(bits6, y, max_k=3, include_histogram=False, seed=0)
    assert result["globality_degree"] == expected
    if expected is not None:
        level = result["per_k"][expected]
        assert level["best_mi_bits"] > 0.99 and level["clears"]
        assert level["best_subset"] == ([1, 4] if expected == 2 else [3])
    json.dumps(result)


def test_globality_with_histogram(bits6):
    # Full parity is a function of the histogram (the number of ones): degree 0.
    full = an.globality_degree(bits6, bits6.sum(axis=1) % 2, max_k=1, seed=0)
    assert full["globality_degree"] == 0 and full["per_k"][0]["best_mi_bits"] > 0.99
    # Parity of 5 of 6 bits = full parity times the sixth bit: one token plus H is enough (n - k).
    par5 = an.globality_degree(bits6, bits6[:, :5].sum(axis=1) % 2, max_k=1, seed=0)
    assert par5["per_k"][1]["best_subset"] == [5] and par5["per_k"][1]["best_mi_bits"] > 0.99
    # A label independent of the input clears nothing.
    noise = np.random.default_rng(8).integers(0, 2, bits6.shape[0])
    assert an.globality_degree(bits6, noise, max_k=2, seed=0)["globality_degree"] is None


def test_histogram_leaks_parity_of_two_bits_at_small_n(bits6):
    """With n = 6 the count of ones already tells a lot about x1 xor x4: I(H; Y) is about
    0.057 bit on the uniform cube (exact, by enumeration), so k = 0 clears."""
    y = bits6[:, 1] ^ bits6[:, 4]
    cube = np.array(list(itertools.product([0, 1], repeat=6)))
    exact = mutual_information_bits_counter(
        cube.sum(axis=1).tolist(), (cube[:, 1] ^ cube[:, 4]).tolist()
    )
    result = an.globality_degree(bits6, y, max_k=0, seed=0)
    assert abs(result["per_k"][0]["best_mi_bits"] - exact) < 0.01
    assert result["globality_degree"] == 0


def test_globality_is_deterministic_and_ignores_padding_column(bits6):
    y = bits6[:, 0] ^ bits6[:, 2]
    first = an.globality_degree(bits6, y, max_k=2, seed=3)
    assert first == an.globality_degree(bits6, y, max_k=2, seed=3)
    padded = np.hstack([bits6, -np.ones((bits6.shape[0], 1), dtype=bits6.dtype)])
    again = an.globality_degree(padded, y, max_k=0, seed=3)
    assert math.isclose(again["per_k"][0]["best_mi_bits"], first["per_k"][0]["best_mi_bits"])


def test_globality_random_subsets_when_too_many():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 3, (1500, 12))
    y = (x[:, 2] + x[:, 9]) % 3
    result = an.globality_degree(x, y, max_k=2, include_histogram=False, max_subsets=40, seed=1)
    level2 = result["per_k"][2]
    assert not level2["exhaustive"] and level2["n_subsets"] == 40
    assert result["per_k"][1]["clears"] is False


# --------------------------------------------------------------------------------------------
# analyze_boolean and errors
# --------------------------------------------------------------------------------------------


def test_analyze_boolean_summary_is_json_and_consistent():
    d = 6
    x = points_bruteforce(d)
    table = (x[:, 0] * x[:, 1]).astype(float)
    seen = (x[:, 0] == 1) | (x[:, 1] == 1)
    from_table = an.analyze_boolean(table, d, seen_mask=seen, frozen=[0, 3])
    from_function = an.analyze_boolean(
        lambda p: p[:, 0] * p[:, 1],
        d,
        seen_mask=lambda p: (p[:, 0] == 1) | (p[:, 1] == 1),
        frozen=[0, 3],
    )
    assert json.loads(json.dumps(from_table)) == from_function
    assert from_table["influences"] == [1, 1, 0, 0, 0, 0]
    holdout = {
        h["frozen"]: h["predicted_generalisation_error"] for h in from_table["canonical_holdout"]
    }
    assert holdout == {0: 1.0, 3: 0.0}
    mdi = from_table["min_degree_interpolator"]
    assert mdi["degree"] == 1
    assert math.isclose(mdi["predicted_mse_whole"], 4)
    assert math.isclose(mdi["predicted_mse_unseen"], 16)
    assert from_table["coefficients"] == [{"subset": [0, 1], "coefficient": 1.0}]
    # sign(x0 + x1 - 1) = -1 on the unseen x0 = x1 = -1 where x0x1 = 1: always wrong there.
    assert mdi["predicted_sign_accuracy_unseen"] == 0.0
    assert mdi["predicted_sign_accuracy_whole"] == 0.75


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: an.analyze_boolean(np.zeros(8), 25), "d = 25"),
        (lambda: an.analyze_boolean(np.zeros(1000), 10), "length 2**d = 1024"),
        (
            lambda: an.analyze_boolean(np.zeros(2048), 11, frozen=11),
            "frozen coordinate 11 is outside 0..10",
        ),
        (lambda: an.analyze_boolean(np.zeros(8), 3, seen_mask=np.zeros(8, bool)), "no point"),
        (lambda: an.fourier_coefficients(np.zeros(12)), "power of two"),
        (lambda: an.noise_stability(np.zeros(8), 1.5), "rho = 1.5"),
        (lambda: an.globality_degree(np.zeros((5, 3), int), np.zeros(4, int)), "labels"),
        (
            lambda: an.globality_degree(np.zeros((5, 3), int), np.zeros(5, int), max_k=4),
            "max_k = 4",
        ),
    ],
)
def test_bad_input_raises_one_line_analysis_error(call, fragment):
    with pytest.raises(an.AnalysisError) as info:
        call()
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert isinstance(info.value, ValueError)
