"""Exact analysis of functions on the Boolean cube, and an empirical globality-degree estimator.

Pure numpy; nothing here imports the rest of ``hf_reasoning``. The predictions it computes are the
ones the sources reason with: Boolean influence and the canonical holdout (``abbe2022``), the
min-degree interpolator of a seen set (``abbe2023``), and the globality degree (``abbe2024``).

Conventions (used by every function below)
------------------------------------------
* **Cube order.** A point of {-1, +1}^d is stored at index ``i`` in ``range(2**d)``: bit ``j`` of
  ``i`` (value ``2**j``) gives coordinate ``x_j``, with bit 0 -> ``x_j = +1`` and bit 1 ->
  ``x_j = -1``, i.e. ``x_j = (-1) ** ((i >> j) & 1)``. Index 0 is the all-``+1`` point.
* **Subsets as masks.** A subset S of {0, ..., d-1} is the integer ``sum(2**j for j in S)``;
  its degree is ``popcount(mask)``. The character chi_S(x) = prod_{j in S} x_j then equals
  ``(-1) ** popcount(i & mask)``, so the character table is the Sylvester Hadamard matrix.
* **Fourier coefficients** are those of the uniform measure: f^(S) = E_x[f(x) chi_S(x)] =
  2**-d * sum_i f(i) chi_S(i), stored in an array indexed by mask. Parseval:
  E[f^2] = sum_S f^(S)^2. The "mass" or "weight" of a degree k is W^k = sum_{|S|=k} f^(S)^2.
* **Errors** are plain mean squared errors over the uniform measure of the named part of the
  cube (whole cube, unseen part, seen part). The canonical-holdout generalisation error of
  ``abbe2022`` is half of the whole-cube MSE.
* **Mutual information** is in bits.

Bad input raises :class:`AnalysisError` (a ``ValueError``) with a one-line message naming the
bad value and what is allowed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import HFReasoningError

__all__ = [
    "MAX_CUBE_DIM",
    "MAX_INTERPOLATOR_MONOMIALS",
    "AnalysisError",
    "cube_points",
    "cube_index",
    "popcount",
    "subset_to_mask",
    "mask_to_subset",
    "masks_up_to_degree",
    "fwht",
    "fourier_coefficients",
    "values_from_coefficients",
    "weights_by_degree",
    "fourier_degree",
    "influences",
    "canonical_holdout_error",
    "noise_stability",
    "MinDegreeInterpolator",
    "min_degree_interpolator",
    "prediction_errors",
    "plug_in_mutual_information",
    "globality_degree",
    "boolean_table",
    "analyze_boolean",
]

#: Largest dimension whose cube is enumerated (2**24 float64 values = 128 MiB per table).
MAX_CUBE_DIM = 24
#: Default cap on the number of monomials (degree <= k) in a min-degree-interpolator solve; the
#: solve eigendecomposes Gram matrices of that size (4096 takes tens of seconds on 2 cores).
MAX_INTERPOLATOR_MONOMIALS = 4096
# Rows of the cube handed to a user function at once, so a callable never sees a 2**24 x 24 array.
_EVAL_BLOCK_ROWS = 1 << 20


class AnalysisError(HFReasoningError):
    """Invalid input to the analysis functions; the message is one line."""


# --------------------------------------------------------------------------------------------
# Cube helpers
# --------------------------------------------------------------------------------------------


def _check_dim(d: Any) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise AnalysisError(f"d = {d!r} is not an integer; allowed: 1 <= d <= {MAX_CUBE_DIM}")
    d = int(d)
    if not 1 <= d <= MAX_CUBE_DIM:
        raise AnalysisError(
            f"d = {d} cannot be enumerated on the cube; allowed: 1 <= d <= {MAX_CUBE_DIM}"
        )
    return d


def _dim_of_length(n: int, what: str) -> int:
    if n < 2 or n & (n - 1):
        raise AnalysisError(f"{what} has length {n}; allowed: a power of two 2**d with d >= 1")
    d = n.bit_length() - 1
    if d > MAX_CUBE_DIM:
        raise AnalysisError(f"{what} has length 2**{d}; allowed: d <= {MAX_CUBE_DIM}")
    return d


def cube_points(d: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Points of {-1,+1}^d with indices ``start..stop-1`` as an int8 array of shape (rows, d).

    Row r is the point of index ``start + r`` in the module's cube order (bit j = 1 <-> x_j = -1).
    """
    d = _check_dim(d)
    stop = (1 << d) if stop is None else stop
    idx = np.arange(start, stop, dtype=np.int64)
    bits = (idx[:, None] >> np.arange(d, dtype=np.int64)[None, :]) & 1
    return (1 - 2 * bits).astype(np.int8)


def cube_index(points: np.ndarray) -> np.ndarray:
    """Cube-order index of each row of ``points`` (entries +1 / -1); inverse of cube_points."""
    pts = np.asarray(points)
    if pts.ndim != 2 or not np.isin(pts, (-1, 1)).all():
        raise AnalysisError(f"points must be a 2-D array of +1/-1 entries, got shape {pts.shape}")
    bits = (pts == -1).astype(np.int64)
    return bits @ (np.int64(1) << np.arange(pts.shape[1], dtype=np.int64))


def popcount(masks: np.ndarray | int) -> np.ndarray:
    """Number of set bits of each (non-negative) mask: the degree |S| of the subset it encodes."""
    m = np.asarray(masks, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(m).astype(np.int64)
    # SWAR popcount for numpy < 2 (the package supports numpy >= 1.26).
    m = m - ((m >> np.uint64(1)) & np.uint64(0x5555555555555555))
    m = (m & np.uint64(0x3333333333333333)) + ((m >> np.uint64(2)) & np.uint64(0x3333333333333333))
    m = (m + (m >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return ((m * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.int64)


def subset_to_mask(subset) -> int:
    """Mask of a subset of coordinates, e.g. (0, 2) -> 0b101 = 5."""
    mask = 0
    for j in subset:
        mask |= 1 << int(j)
    return mask


def mask_to_subset(mask: int) -> tuple[int, ...]:
    """Coordinates of a mask in increasing order, e.g. 5 -> (0, 2)."""
    mask = int(mask)
    return tuple(j for j in range(mask.bit_length()) if mask >> j & 1)


def masks_up_to_degree(d: int, k: int) -> np.ndarray:
    """Masks of all subsets of {0..d-1} with at most k elements, sorted by (degree, mask)."""
    d = _check_dim(d)
    k = max(0, min(int(k), d))
    all_masks = np.arange(1 << d, dtype=np.int64)
    degree = popcount(all_masks)
    keep = all_masks[degree <= k]
    return keep[np.lexsort((keep, degree[keep]))]


# --------------------------------------------------------------------------------------------
# Fourier-Walsh transform
# --------------------------------------------------------------------------------------------


def fwht(a: np.ndarray) -> np.ndarray:
    """Unnormalised fast Walsh-Hadamard transform of a 1-D float array, in place; returns ``a``.

    ``a[S] <- sum_i a[i] * (-1)**popcount(i & S)``. Applying it twice multiplies by ``len(a)``.
    Each of the d butterfly passes is one vectorised operation over the array viewed as
    (blocks, 2, half); one half-size scratch buffer is reused across passes.
    """
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.floating):
        raise AnalysisError(f"fwht needs a 1-D float array, got shape {a.shape} dtype {a.dtype}")
    if not a.flags.c_contiguous or not a.flags.writeable:
        raise AnalysisError("fwht transforms in place; allowed: a writeable C-contiguous array")
    n = a.shape[0]
    _dim_of_length(n, "fwht input")
    scratch = np.empty(n // 2, dtype=a.dtype)
    h = 1
    while h < n:
        view = a.reshape(-1, 2, h)
        lo, hi = view[:, 0, :], view[:, 1, :]
        diff = scratch.reshape(-1, h)
        np.subtract(lo, hi, out=diff)
        lo += hi
        hi[...] = diff
        h *= 2
    return a


def fourier_coefficients(values) -> np.ndarray:
    """Fourier-Walsh coefficients f^(S) (indexed by mask S) of a value table in cube order."""
    table = np.array(values, dtype=np.float64)  # copy: fwht works in place
    if table.ndim != 1:
        raise AnalysisError(f"values must be a 1-D table of length 2**d, got shape {table.shape}")
    d = _dim_of_length(table.shape[0], "values")
    fwht(table)
    table *= 2.0**-d
    return table


def values_from_coefficients(coefficients) -> np.ndarray:
    """Value table f(i) = sum_S f^(S) chi_S(i) (cube order) from coefficients indexed by mask."""
    table = np.array(coefficients, dtype=np.float64)
    if table.ndim != 1:
        raise AnalysisError(
            f"coefficients must be a 1-D array of length 2**d, got shape {table.shape}"
        )
    _dim_of_length(table.shape[0], "coefficients")
    return fwht(table)


def weights_by_degree(coefficients) -> np.ndarray:
    """W^k = sum_{|S|=k} f^(S)^2 for k = 0..d (index = degree)."""
    coef = np.asarray(coefficients, dtype=np.float64)
    d = _dim_of_length(coef.shape[0], "coefficients")
    degree = popcount(np.arange(coef.shape[0], dtype=np.int64))
    return np.bincount(degree, weights=coef * coef, minlength=d + 1)


def fourier_degree(coefficients, tol: float = 1e-9) -> int:
    """Largest |S| with |f^(S)| > tol (0 for a constant or zero function)."""
    coef = np.asarray(coefficients, dtype=np.float64)
    _dim_of_length(coef.shape[0], "coefficients")
    nonzero = np.flatnonzero(np.abs(coef) > tol)
    return int(popcount(nonzero).max()) if nonzero.size else 0


# --------------------------------------------------------------------------------------------
# Influence, canonical holdout, noise stability
# --------------------------------------------------------------------------------------------


def influences(coefficients) -> np.ndarray:
    """Boolean influences Inf_i(f) = sum_{S contains i} f^(S)^2 for i = 0..d-1.

    Equals E[(D_i f)^2] with D_i f(x) = (f(x with x_i=+1) - f(x with x_i=-1)) / 2, so it is
    defined for real-valued f as well as for +-1-valued f.
    """
    coef = np.asarray(coefficients, dtype=np.float64)
    d = _dim_of_length(coef.shape[0], "coefficients")
    sq = coef * coef
    # Viewing the table as (2**(d-1-j), 2, 2**j) puts the masks containing j in [:, 1, :].
    return np.array([sq.reshape(-1, 2, 1 << j)[:, 1, :].sum() for j in range(d)])


def canonical_holdout_error(coefficients, frozen: int) -> float:
    """Predicted canonical-holdout generalisation error (``abbe2022``), i.e. half the MSE.

    Training freezes coordinate ``frozen`` to +1; the learned function is predicted to be
    g(x) = f(x with x_frozen = +1), and the test is the whole cube. Then
    f - g = (x_i - 1) D_i f, so 1/2 E[(f - g)^2] = Inf_i(f).
    """
    coef = np.asarray(coefficients, dtype=np.float64)
    d = _dim_of_length(coef.shape[0], "coefficients")
    i = _check_frozen(frozen, d)
    return float(influences(coef)[i])


def _check_frozen(frozen: Any, d: int) -> int:
    if isinstance(frozen, bool) or not isinstance(frozen, (int, np.integer)):
        raise AnalysisError(f"frozen coordinate {frozen!r} is not an integer; allowed: 0..{d - 1}")
    if not 0 <= int(frozen) < d:
        raise AnalysisError(f"frozen coordinate {int(frozen)} is outside 0..{d - 1} (d = {d})")
    return int(frozen)


def noise_stability(coefficients, rho: float) -> float:
    """Stab_rho(f) = sum_S rho^|S| f^(S)^2 = E[f(x) f(y)], y a rho-correlated copy of x."""
    if not -1.0 <= float(rho) <= 1.0:
        raise AnalysisError(f"rho = {rho} is outside the allowed range [-1, 1]")
    w = weights_by_degree(coefficients)
    return float(np.sum(float(rho) ** np.arange(w.shape[0]) * w))


# --------------------------------------------------------------------------------------------
# Min-degree interpolator (abbe2023)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinDegreeInterpolator:
    """The min-degree interpolator of a seen set, as sparse Fourier coefficients.

    ``masks[t]`` is a subset mask and ``coefficients[t]`` its Fourier coefficient; masks not
    listed have coefficient 0. ``degree`` is the smallest maximal degree that interpolates.
    """

    d: int
    degree: int
    masks: np.ndarray
    coefficients: np.ndarray

    def coefficient_dict(self, tol: float = 1e-9) -> dict[tuple[int, ...], float]:
        """{subset (tuple of coordinates): coefficient} for coefficients larger than tol."""
        keep = np.abs(self.coefficients) > tol
        return {
            mask_to_subset(m): float(c)
            for m, c in zip(self.masks[keep], self.coefficients[keep])
        }

    def dense_coefficients(self) -> np.ndarray:
        """Coefficients as a dense array of length 2**d indexed by mask."""
        dense = np.zeros(1 << self.d)
        dense[self.masks] = self.coefficients
        return dense

    def values(self) -> np.ndarray:
        """Values on the whole cube in cube order (one inverse Walsh-Hadamard transform)."""
        return fwht(self.dense_coefficients())

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """Values at the rows of ``points`` (entries +1/-1, shape (rows, d))."""
        pts = np.asarray(points)
        if pts.ndim != 2 or pts.shape[1] != self.d:
            raise AnalysisError(f"points must have shape (rows, {self.d}), got {pts.shape}")
        # chi_S(x) = (-1)^popcount(index(x) & S).
        idx = cube_index(pts)
        signs = 1 - 2 * (popcount(idx[:, None] & self.masks[None, :]) & 1)
        return signs @ self.coefficients

    def weights_by_degree(self) -> np.ndarray:
        """Fourier mass W^k per degree k = 0..d (the degree profile, read from the top down)."""
        return np.bincount(
            popcount(self.masks), weights=self.coefficients**2, minlength=self.d + 1
        )


def _psd_pinv_factors(gram: np.ndarray, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """(V, 1/w) over the eigenpairs of a symmetric PSD matrix with w > rtol * max(w).

    ``V @ (inv_w[:, None] * (V.T @ R))`` is then the minimum-norm least-squares solution of
    ``gram @ X = R`` (what numpy.linalg.lstsq returns), at about half the cost of an SVD.
    """
    if gram.shape[0] == 0:
        return np.zeros((0, 0)), np.zeros(0)
    w, v = np.linalg.eigh(gram)
    keep = w > rtol * max(float(w[-1]), 0.0)
    return v[:, keep], 1.0 / w[keep]


def _apply_pinv(factors: tuple[np.ndarray, np.ndarray], rhs: np.ndarray) -> np.ndarray:
    v, inv_w = factors
    return v @ (inv_w.reshape((-1,) + (1,) * (rhs.ndim - 1)) * (v.T @ rhs))


def _as_seen_mask(seen_mask, d: int) -> np.ndarray:
    if callable(seen_mask):
        seen = _evaluate_on_cube(seen_mask, d, "seen_mask")
    else:
        seen = np.asarray(seen_mask)
    if seen.shape != (1 << d,):
        raise AnalysisError(f"seen_mask has shape {seen.shape}; expected ({1 << d},) for d = {d}")
    if seen.dtype != bool:
        if not np.isin(seen, (0, 1)).all():
            raise AnalysisError("seen_mask must be boolean (or 0/1); got other values")
        seen = seen.astype(bool)
    if not seen.any():
        raise AnalysisError("seen_mask selects no point of the cube; allowed: at least one")
    return seen


def min_degree_interpolator(
    values,
    seen_mask,
    *,
    max_degree: int | None = None,
    max_monomials: int = MAX_INTERPOLATOR_MONOMIALS,
    rtol: float = 1e-10,
    use_symmetry: bool = True,
) -> MinDegreeInterpolator:
    """The min-degree interpolator (``abbe2023``) of ``values`` on the points where seen_mask holds.

    Definition: among all functions g on the cube with g = f on the seen set, the one whose
    degree profile (W^d(g), W^{d-1}(g), ..., W^0(g)) is smallest in lexicographic order. So:
    first the smallest maximal degree K that can interpolate, then the least mass on degree K,
    then (with that fixed) the least mass on degree K-1, and so on down to 0. Each step is a
    strictly convex problem, so the interpolator is unique.

    Method. On the monomial basis of degree <= K, the seen-point constraints A c = y are
    equivalent to the normal equations G c = b with G[S, T] = E[1_seen chi_{S xor T}] and
    b[S] = E[1_seen f chi_S]; both come from one Walsh-Hadamard transform each, so the seen
    points are never materialised. Going down from the top level j, eliminating the lower levels
    L leaves the Schur complement M_j = G_jj - G_jL G_LL^+ G_Lj; the least-norm level-j
    coefficients are c_j = M_j^+ (b_j - G_jL G_LL^+ b_L), after which b_L -= G_Lj c_j. The
    pseudo-inverses are minimum-norm least-squares solves (eigendecomposition with relative
    cutoff ``rtol``). K is the first degree whose solution reproduces the seen values.

    Symmetric case. When the seen set and the seen values depend only on the number w of -1
    entries (e.g. parity on a Hamming ball, the length-generalisation preset), the interpolator is
    symmetric too (it is unique, and permuting coordinates maps interpolators to interpolators
    with the same profile), so f^(S) = a_|S| and g(x) = sum_j a_j K_j(w) with the Krawtchouk
    polynomials K_j(w) = sum_t (-1)^t C(w, t) C(d-w, j-t). The same top-down solve then runs on
    the K+1 unknowns a_j (level mass C(d, j) a_j^2), with one constraint per seen weight, and no
    monomial cap applies. ``use_symmetry=False`` forces the general solve.

    ``values`` is the table on the whole cube (cube order); entries off the seen set are ignored
    (they may be NaN). Raises AnalysisError when more than ``max_monomials`` monomials would be
    needed or no degree <= ``max_degree`` interpolates.
    """
    table = np.asarray(values, dtype=np.float64)
    if table.ndim != 1:
        raise AnalysisError(f"values must be a 1-D table of length 2**d, got shape {table.shape}")
    d = _dim_of_length(table.shape[0], "values")
    seen = _as_seen_mask(seen_mask, d)
    if not np.isfinite(table[seen]).all():
        raise AnalysisError("values are not finite on the seen set; allowed: finite numbers")
    top = d if max_degree is None else int(max_degree)
    if not 0 <= top <= d:
        raise AnalysisError(f"max_degree = {max_degree} is outside 0..{d} (d = {d})")

    if use_symmetry:
        symmetric = _symmetric_min_degree(table, seen, d, top, rtol)
        if symmetric is not None:
            return symmetric

    y = np.where(seen, table, 0.0)
    seen_hat = fourier_coefficients(seen.astype(np.float64))  # G[S, T] = seen_hat[S ^ T]
    b_hat = fourier_coefficients(y)  # b[S] = E[1_seen f chi_S]
    scale = max(1.0, float(np.abs(y).max()))

    all_masks = np.arange(1 << d, dtype=np.int64)
    degree_of = popcount(all_masks)
    level_masks: list[np.ndarray] = []
    levels = []  # per degree j: (G_Lj, Z_j = G_LL^+ G_Lj, pinv factors of M_j)
    for j in range(top + 1):
        masks_j = all_masks[degree_of == j]
        lower = np.concatenate(level_masks) if level_masks else np.zeros(0, dtype=np.int64)
        n_total = lower.size + masks_j.size
        if n_total > max_monomials:
            raise AnalysisError(
                f"the min-degree interpolator needs degree >= {j}, i.e. {n_total} monomials for "
                f"d = {d}; allowed: at most max_monomials = {max_monomials}"
            )
        g_jj = seen_hat[masks_j[:, None] ^ masks_j[None, :]]
        if lower.size:
            g_lj = seen_hat[lower[:, None] ^ masks_j[None, :]]
            g_ll = seen_hat[lower[:, None] ^ lower[None, :]]
            z_j = _apply_pinv(_psd_pinv_factors(g_ll, rtol), g_lj)
            schur = g_jj - g_lj.T @ z_j
        else:
            g_lj = z_j = np.zeros((0, masks_j.size))
            schur = g_jj
        schur = (schur + schur.T) / 2  # symmetric up to rounding; eigh needs it exactly
        levels.append((g_lj, z_j, _psd_pinv_factors(schur, rtol)))
        level_masks.append(masks_j)

        masks = np.concatenate(level_masks)
        coef = _solve_top_down(levels, level_masks, b_hat)
        dense = np.zeros(1 << d)
        dense[masks] = coef
        fitted = fwht(dense)
        if np.abs(fitted[seen] - y[seen]).max() <= 1e-7 * scale:
            return MinDegreeInterpolator(d=d, degree=j, masks=masks, coefficients=coef)
    raise AnalysisError(
        f"no interpolator of degree <= max_degree = {top} fits the seen values; allowed: a larger"
        " max_degree"
    )


def _krawtchouk(d: int, j: int, w: np.ndarray) -> np.ndarray:
    """K_j(w) = sum_{|S|=j} chi_S(x) for any x with w entries equal to -1."""
    def k_j(wi: int) -> int:
        return sum((-1) ** t * math.comb(wi, t) * math.comb(d - wi, j - t) for t in range(j + 1))

    return np.array([k_j(int(wi)) for wi in w], dtype=np.float64)


def _symmetric_min_degree(table, seen, d, top, rtol) -> MinDegreeInterpolator | None:
    """Min-degree interpolator if the seen set and values depend only on the weight, else None."""
    weight = popcount(np.arange(1 << d, dtype=np.int64))
    seen_by_weight = np.zeros(d + 1, dtype=bool)
    value_by_weight = np.zeros(d + 1)
    for w in range(d + 1):
        at_w = weight == w
        s = seen[at_w]
        if s.any() and not s.all():
            return None
        if s.all():
            v = table[at_w]
            if np.ptp(v) > 1e-12 * max(1.0, float(np.abs(v).max())):
                return None
            seen_by_weight[w], value_by_weight[w] = True, v[0]
    weights = np.flatnonzero(seen_by_weight)
    target = value_by_weight[weights]
    scale = max(1.0, float(np.abs(target).max()))
    # Columns scaled by sqrt(C(d, j)) so that the Euclidean norm of the unknowns is the mass W^j.
    design = np.column_stack(
        [_krawtchouk(d, j, weights) / math.sqrt(math.comb(d, j)) for j in range(top + 1)]
    )
    for degree in range(top + 1):
        scaled = np.zeros(degree + 1)
        rest = target.copy()
        for j in range(degree, -1, -1):
            lower = design[:, :j]
            # Project off the span of the lower levels, then least-norm solve for this level.
            proj = rest - lower @ np.linalg.lstsq(lower, rest, rcond=rtol)[0] if j else rest
            col = design[:, j : j + 1]
            col_proj = col - lower @ np.linalg.lstsq(lower, col, rcond=rtol)[0] if j else col
            scaled[j] = np.linalg.lstsq(col_proj, proj, rcond=rtol)[0][0]
            rest = rest - design[:, j] * scaled[j]
        if np.abs(design[:, : degree + 1] @ scaled - target).max() <= 1e-7 * scale:
            masks = masks_up_to_degree(d, degree)
            per_level = scaled / np.sqrt([math.comb(d, j) for j in range(degree + 1)])
            return MinDegreeInterpolator(
                d=d, degree=degree, masks=masks, coefficients=per_level[popcount(masks)]
            )
    raise AnalysisError(
        f"no interpolator of degree <= max_degree = {top} fits the seen values; allowed: a larger"
        " max_degree"
    )


def _solve_top_down(levels, level_masks, b_hat: np.ndarray) -> np.ndarray:
    """Level-by-level least-norm coefficients, from the top level down (see the caller)."""
    sizes = [m.size for m in level_masks]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    b = b_hat[np.concatenate(level_masks)].copy()
    coef = np.zeros_like(b)
    for j in range(len(levels) - 1, -1, -1):
        g_lj, z_j, m_factors = levels[j]
        lo, hi = offsets[j], offsets[j + 1]
        rhs = b[lo:hi] - z_j.T @ b[:lo]
        c_j = _apply_pinv(m_factors, rhs)
        coef[lo:hi] = c_j
        b[:lo] -= g_lj @ c_j
    return coef


def prediction_errors(predicted, true_values, seen_mask=None) -> dict[str, float]:
    """MSE of a predicted table against the true table on the whole cube, unseen and seen parts.

    Keys: ``mse_whole``, and with a seen mask also ``mse_unseen`` / ``mse_seen`` (None when that
    part is empty) and ``unseen_fraction``.
    """
    pred = np.asarray(predicted, dtype=np.float64)
    true = np.asarray(true_values, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 1:
        raise AnalysisError(f"predicted {pred.shape} and true {true.shape} tables differ in shape")
    sq = (pred - true) ** 2
    out: dict[str, float] = {"mse_whole": float(sq.mean())}
    if seen_mask is not None:
        seen = _as_seen_mask(seen_mask, _dim_of_length(true.shape[0], "values"))
        out["mse_unseen"] = float(sq[~seen].mean()) if (~seen).any() else None
        out["mse_seen"] = float(sq[seen].mean())
        out["unseen_fraction"] = float((~seen).mean())
    return out


# --------------------------------------------------------------------------------------------
# Globality degree (abbe2024), empirical
# --------------------------------------------------------------------------------------------


def _entropy_rows(counts: np.ndarray, n: int) -> np.ndarray:
    """Entropy (nats) of each row of a count matrix whose rows sum to n."""
    c = counts.astype(np.float64)
    # c * log(max(c, 1)) is 0 for empty cells, so no masking is needed.
    return math.log(n) - (c * np.log(np.maximum(c, 1.0))).sum(axis=1) / n


def _dense_row_ids(keys: np.ndarray) -> np.ndarray:
    """Replace each row's integer keys by dense ids 0..(distinct-1), row by row, vectorised."""
    order = np.argsort(keys, axis=1, kind="stable")
    ordered = np.take_along_axis(keys, order, axis=1)
    new_run = np.ones(keys.shape, dtype=np.int64)
    new_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ids = np.empty_like(keys)
    np.put_along_axis(ids, order, np.cumsum(new_run, axis=1) - 1, axis=1)
    return ids


def _mi_bits_batch(group_ids: np.ndarray, label_sets: np.ndarray, n_labels: int) -> np.ndarray:
    """Plug-in I(group; label) in bits for every (label set, group row) pair.

    group_ids: (B, N) dense ids < N; label_sets: (P, N) label codes < n_labels.
    Returns (P, B). H(group) is shared by all label sets; only the joint counts are redone.
    """
    batch, n = group_ids.shape
    flat_group = (group_ids + n * np.arange(batch)[:, None]).ravel()
    h_group = _entropy_rows(np.bincount(flat_group, minlength=batch * n).reshape(batch, n), n)
    out = np.empty((label_sets.shape[0], batch))
    joint_base = flat_group * n_labels
    for p, labels in enumerate(label_sets):
        h_label = _entropy_rows(np.bincount(labels, minlength=n_labels)[None, :], n)[0]
        joint = np.bincount(joint_base + np.tile(labels, batch), minlength=batch * n * n_labels)
        h_joint = _entropy_rows(joint.reshape(batch, n * n_labels), n)
        out[p] = (h_label + h_group - h_joint) / math.log(2)
    return np.maximum(out, 0.0)  # rounding can give -1e-16 for independent variables


def plug_in_mutual_information(x, y) -> float:
    """Plug-in (empirical-frequency) mutual information in bits between two discrete variables.

    ``x`` may be 1-D or 2-D (rows are samples, columns are combined into one key).
    """
    xa = np.asarray(x)
    ya = np.asarray(y)
    if xa.ndim == 1:
        xa = xa[:, None]
    if xa.ndim != 2 or ya.ndim != 1 or xa.shape[0] != ya.shape[0] or ya.shape[0] == 0:
        raise AnalysisError(f"x {xa.shape} and y {ya.shape} must have the same number of rows")
    _, x_ids = np.unique(xa, axis=0, return_inverse=True)
    _, y_ids = np.unique(ya, return_inverse=True)
    return float(
        _mi_bits_batch(x_ids.reshape(1, -1), y_ids.reshape(1, -1), int(y_ids.max()) + 1)[0, 0]
    )


def _candidate_subsets(n: int, k: int, max_subsets: int, rng: np.random.Generator):
    """All k-subsets of range(n) if there are at most max_subsets, else that many random ones."""
    total = math.comb(n, k)
    if total <= max_subsets:
        return np.array(list(itertools.combinations(range(n), k)), dtype=np.int64).reshape(
            total, k
        ), True
    chosen: dict[tuple[int, ...], None] = {}
    while len(chosen) < max_subsets:
        draw = np.sort(rng.random((max_subsets, n)).argsort(axis=1)[:, :k], axis=1)
        for row in map(tuple, draw):
            chosen.setdefault(row, None)
            if len(chosen) == max_subsets:
                break
    return np.array(list(chosen), dtype=np.int64), False


def globality_degree(
    tokens,
    labels,
    *,
    max_k: int = 3,
    include_histogram: bool = True,
    max_subsets: int = 256,
    n_permutations: int = 20,
    null_quantile: float = 0.95,
    margin: float = 1.5,
    min_mi: float = 1e-6,
    seed: int = 0,
) -> dict[str, Any]:
    """Empirical globality degree (``abbe2024``) of a token task.

    For k = 0..max_k, score every candidate set S of k token positions by the plug-in mutual
    information I((X_S, H(X)); Y), where H(X) is the row's token histogram (the multiset of its
    tokens, padding -1 excluded; ``include_histogram=False`` drops it). Candidates are all
    k-subsets when there are at most ``max_subsets``, else ``max_subsets`` random ones. The null
    is the same best-over-candidates score with the labels shuffled (``n_permutations``
    permutations, shared across k); its ``null_quantile`` quantile is the threshold. Level k
    *clears* when best MI > max(margin * threshold, min_mi); the margin guards against the
    selection effect of testing several k with few permutations (with margin 1 a label
    independent of X would clear some level about 1 time in 5).

    ``tokens``: integer array (rows, n), -1 allowed as padding; ``labels``: integer array (rows,).
    Deterministic given ``seed``. Returns a JSON-serialisable dict with per-k ``best_mi_bits``,
    ``best_subset``, ``null_threshold_bits``, ``clears``, and ``globality_degree`` (first k that
    clears, None if none up to max_k). Plug-in MI is biased upward when (X_S, H) has about as
    many distinct values as there are rows; the null carries the same bias, so such levels
    simply cannot clear (more rows are needed).
    """
    x = np.asarray(tokens)
    yv = np.asarray(labels)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
        raise AnalysisError(f"tokens must be a 2-D integer array, got shape {x.shape} {x.dtype}")
    if yv.ndim != 1 or yv.shape[0] != x.shape[0] or not np.issubdtype(yv.dtype, np.integer):
        raise AnalysisError(
            f"labels must be a 1-D integer array with {x.shape[0]} rows, got shape {yv.shape}"
        )
    rows, n = x.shape
    if rows < 2:
        raise AnalysisError(f"tokens has {rows} rows; allowed: at least 2")
    if not 0 <= int(max_k) <= n:
        raise AnalysisError(f"max_k = {max_k} is outside 0..{n} (n = {n} tokens)")
    if max_subsets < 1 or n_permutations < 1:
        raise AnalysisError(
            f"max_subsets = {max_subsets}, n_permutations = {n_permutations}; allowed: >= 1"
        )
    if not 0.0 <= null_quantile <= 1.0:
        raise AnalysisError(f"null_quantile = {null_quantile} is outside [0, 1]")

    rng = np.random.default_rng(seed)
    vocab, token_codes = np.unique(x, return_inverse=True)
    token_codes = token_codes.reshape(rows, n).astype(np.int64)
    n_vocab = int(vocab.size)
    _, label_codes = np.unique(yv, return_inverse=True)
    label_codes = label_codes.astype(np.int64)
    n_labels = int(label_codes.max()) + 1
    if include_histogram:
        # A row's sorted tokens are its multiset: the histogram, exactly (no hash collisions);
        # padding sorts first and its count is implied by the others, so it changes nothing.
        _, hist_code = np.unique(np.sort(x, axis=1), axis=0, return_inverse=True)
        hist_code = hist_code.reshape(rows).astype(np.int64)
    else:
        hist_code = np.zeros(rows, dtype=np.int64)
    # Row 0 holds the real labels, rows 1.. the shuffled ones of the null.
    shuffled = [rng.permutation(label_codes) for _ in range(n_permutations)]
    label_sets = np.vstack([label_codes] + shuffled)
    batch = max(1, (1 << 22) // (rows * n_labels))

    per_k = []
    first_clear = None
    for k in range(int(max_k) + 1):
        subsets, exhaustive = _candidate_subsets(n, k, max_subsets, rng)
        scores = np.empty((label_sets.shape[0], subsets.shape[0]))
        for start in range(0, subsets.shape[0], batch):
            chunk = subsets[start : start + batch]
            keys = np.repeat(hist_code[None, :], chunk.shape[0], axis=0)
            bound = int(hist_code.max()) + 1
            for col in range(k):
                if bound * n_vocab >= 1 << 62:  # re-densify before the mixed radix overflows
                    keys = _dense_row_ids(keys)
                    bound = rows
                keys = keys * n_vocab + token_codes[:, chunk[:, col]].T
                bound *= n_vocab
            scores[:, start : start + chunk.shape[0]] = _mi_bits_batch(
                _dense_row_ids(keys), label_sets, n_labels
            )
        best_index = int(np.argmax(scores[0]))
        best = float(scores[0, best_index])
        null_best = scores[1:].max(axis=1)
        threshold = float(np.quantile(null_best, null_quantile))
        clears = bool(best > max(margin * threshold, min_mi))
        if clears and first_clear is None:
            first_clear = k
        per_k.append(
            {
                "k": k,
                "best_mi_bits": best,
                "best_subset": [int(j) for j in subsets[best_index]],
                "null_threshold_bits": threshold,
                "null_max_bits": float(null_best.max()),
                "n_subsets": int(subsets.shape[0]),
                "exhaustive": bool(exhaustive),
                "clears": clears,
            }
        )
    return {
        "globality_degree": first_clear,
        "per_k": per_k,
        "rows": int(rows),
        "n_tokens": int(n),
        "include_histogram": bool(include_histogram),
        "n_permutations": int(n_permutations),
        "null_quantile": float(null_quantile),
        "margin": float(margin),
        "label_entropy_bits": float(
            _entropy_rows(np.bincount(label_codes)[None, :], rows)[0] / math.log(2)
        ),
        "seed": int(seed),
        "units": "bits",
    }


# --------------------------------------------------------------------------------------------
# Summary for the CLI
# --------------------------------------------------------------------------------------------


def _evaluate_on_cube(function: Callable, d: int, what: str) -> np.ndarray:
    parts = []
    for start in range(0, 1 << d, _EVAL_BLOCK_ROWS):
        block = cube_points(d, start, min(1 << d, start + _EVAL_BLOCK_ROWS))
        out = np.asarray(function(block))
        if out.shape != (block.shape[0],):
            raise AnalysisError(
                f"{what} returned shape {out.shape} for {block.shape[0]} points; allowed: one"
                " value per row"
            )
        parts.append(out)
    return np.concatenate(parts)


def boolean_table(values_or_function, d: int) -> np.ndarray:
    """Float table of length 2**d in cube order from a table or a function of ±1 points.

    A function is called on int8 arrays of shape (rows, d) (blocks of the cube, in cube order)
    and must return one value per row.
    """
    d = _check_dim(d)
    if callable(values_or_function):
        table = _evaluate_on_cube(values_or_function, d, "the function")
    else:
        table = np.asarray(values_or_function)
    if table.ndim != 1 or table.shape[0] != 1 << d:
        raise AnalysisError(
            f"values has shape {table.shape}; expected a table of length 2**d = {1 << d}"
            f" for d = {d}"
        )
    table = table.astype(np.float64)
    if not np.isfinite(table).all():
        raise AnalysisError("values contain NaN or infinity; allowed: finite numbers")
    return table


def _sparse_listing(masks: np.ndarray, coef: np.ndarray, limit: int, tol: float = 1e-9):
    keep = np.flatnonzero(np.abs(coef) > tol)
    keep = keep[np.lexsort((masks[keep], -np.abs(coef[keep])))][:limit]
    return [{"subset": list(mask_to_subset(masks[t])), "coefficient": float(coef[t])} for t in keep]


def analyze_boolean(
    values_or_function,
    d: int,
    seen_mask=None,
    frozen=None,
    *,
    rhos=(0.5, 0.9),
    max_degree: int | None = None,
    max_listed: int = 64,
) -> dict[str, Any]:
    """JSON-serialisable summary of a function on {-1,+1}^d and the predictions of the sources.

    ``frozen``: a coordinate or list of coordinates for the canonical holdout (None: all).
    ``seen_mask``: boolean table (or function of points) of the seen set; when given, the
    min-degree interpolator and its predicted MSE on the unseen part and the whole cube are
    added. Coefficient listings are sorted by |coefficient| and capped at ``max_listed``.
    """
    d = _check_dim(d)
    table = boolean_table(values_or_function, d)
    coef = fourier_coefficients(table)
    all_masks = np.arange(1 << d, dtype=np.int64)
    inf = influences(coef)
    if frozen is None:
        frozen_list = list(range(d))
    else:
        frozen_list = [frozen] if np.ndim(frozen) == 0 else list(frozen)
        frozen_list = [_check_frozen(i, d) for i in frozen_list]
    summary: dict[str, Any] = {
        "d": d,
        "conventions": "index bit j = 1 <-> x_j = -1; errors are MSE over the uniform measure",
        "mean": float(coef[0]),
        "second_moment": float(np.sum(coef**2)),
        "variance": float(np.sum(coef[1:] ** 2)),
        "fourier_degree": fourier_degree(coef),
        "weights_by_degree": [float(w) for w in weights_by_degree(coef)],
        "n_nonzero_coefficients": int(np.count_nonzero(np.abs(coef) > 1e-9)),
        "coefficients": _sparse_listing(all_masks, coef, max_listed),
        "influences": [float(v) for v in inf],
        "total_influence": float(inf.sum()),
        "noise_stability": {str(float(r)): noise_stability(coef, r) for r in rhos},
        "canonical_holdout": [
            {
                "frozen": i,
                "predicted_generalisation_error": float(inf[i]),
                "predicted_mse": float(2 * inf[i]),
            }
            for i in frozen_list
        ],
    }
    if seen_mask is not None:
        seen = _as_seen_mask(seen_mask, d)
        interp = min_degree_interpolator(table, seen, max_degree=max_degree)
        fitted = interp.values()
        errors = prediction_errors(fitted, table, seen)
        summary["min_degree_interpolator"] = {
            "degree": interp.degree,
            "weights_by_degree": [float(w) for w in interp.weights_by_degree()],
            "n_nonzero_coefficients": int(np.count_nonzero(np.abs(interp.coefficients) > 1e-9)),
            "coefficients": _sparse_listing(interp.masks, interp.coefficients, max_listed),
            "seen_fraction": float(seen.mean()),
            "predicted_mse_whole": errors["mse_whole"],
            "predicted_mse_unseen": errors["mse_unseen"],
            "max_abs_error_seen": float(np.abs(fitted[seen] - table[seen]).max()),
        }
        if np.isin(table, (-1.0, 1.0)).all():
            # For a +-1 target, a classifier reading off sign(g) is right where sign(g) = f.
            right = np.sign(fitted) == table
            mdi = summary["min_degree_interpolator"]
            unseen_right = float(right[~seen].mean()) if (~seen).any() else None
            mdi["predicted_sign_accuracy_unseen"] = unseen_right
            mdi["predicted_sign_accuracy_whole"] = float(right.mean())
    return summary
