"""Timings of hf_reasoning.analysis: Walsh-Hadamard transform and min-degree interpolators.

Run: ``python benchmarks/bench_analysis.py [--repeats N]``. Prints the best of N wall-clock
times (seconds) per case; the interpolator rows also print the predicted MSEs so a change in the
numbers is noticed together with a change in speed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hf_reasoning import analysis as an


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def gotu_configs():
    """The abbe2023 seen-set configurations of docs/formats.md#boolean (d = 15 unless stated)."""

    def cube(d):
        return an.cube_points(d).astype(np.float64)

    x = cube(15)
    x0, x1, x2 = x[:, 0], x[:, 1], x[:, 2]
    yield "x0x1 - 1.25 x1x2 + 1.5 x0x2, seen x0x1x2 = 1 (d=15)", (
        x0 * x1 - 1.25 * x1 * x2 + 1.5 * x0 * x2,
        x0 * x1 * x2 == 1,
    )
    yield "x0x1, seen x0 = 1 or x1 = 1 (d=15)", (x0 * x1, (x0 == 1) | (x1 == 1))
    cyclic = sum(x[:, i] * x[:, (i + 1) % 15] * x[:, (i + 2) % 15] for i in range(15))
    yield "cyclic sum x_i x_i+1 x_i+2, seen unless x0=x1=x2=-1 (d=15)", (
        cyclic,
        ~((x0 == -1) & (x1 == -1) & (x2 == -1)),
    )
    yield "sign(x0+x1+x2), seen x0 = 1 or x1 = 1 (d=15)", (
        np.sign(x0 + x1 + x2),
        (x0 == 1) | (x1 == 1),
    )
    for k in (6, 10):
        yield f"parity of 15 bits, seen <= {k} entries -1 (d=15, symmetric solve)", (
            np.prod(x, axis=1),
            (x == -1).sum(axis=1) <= k,
        )
    x18 = cube(18)
    yield "x0x1x2 + x0x3x4x5, seen x0 = 1 (d=18)", (
        x18[:, 0] * x18[:, 1] * x18[:, 2] + x18[:, 0] * x18[:, 3] * x18[:, 4] * x18[:, 5],
        x18[:, 0] == 1,
    )
    x40_substitute = cube(20)  # d = 40 cannot be enumerated; d = 20 is the largest timed here
    yield "x0x1, seen x0 = 1 or x1 = 1 (d=20)", (
        x40_substitute[:, 0] * x40_substitute[:, 1],
        (x40_substitute[:, 0] == 1) | (x40_substitute[:, 1] == 1),
    )
    cyclic20 = sum(
        x40_substitute[:, i] * x40_substitute[:, (i + 1) % 20] * x40_substitute[:, (i + 2) % 20]
        for i in range(20)
    )
    yield "cyclic triples, seen unless x0=x1=x2=-1 (d=20)", (
        cyclic20,
        ~((x40_substitute[:, :3] == -1).all(axis=1)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print("fast Walsh-Hadamard transform (fourier_coefficients, includes the copy)")
    rng = np.random.default_rng(0)
    for d in (16, 20, 22):
        table = rng.standard_normal(1 << d)
        seconds, _ = best_time(lambda: an.fourier_coefficients(table), args.repeats)
        print(f"  d = {d:2d}  ({1 << d:>9,d} values)  {seconds * 1e3:9.1f} ms")

    print("min-degree interpolator (abbe2023 configurations)")
    for name, (values, seen) in gotu_configs():
        seconds, interp = best_time(lambda: an.min_degree_interpolator(values, seen), args.repeats)
        errors = an.prediction_errors(interp.values(), values, seen)
        print(
            f"  {seconds:8.3f} s  degree {interp.degree}  monomials {interp.masks.size:6d}  "
            f"MSE whole {errors['mse_whole']:.6g}  unseen {errors['mse_unseen']:.6g}  | {name}"
        )


if __name__ == "__main__":
    main()
