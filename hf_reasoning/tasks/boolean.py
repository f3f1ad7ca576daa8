"""boolean: functions on the hypercube {-1, +1}^d (abbe2022, abbe2023), with the predictions.

Inputs ``x`` in {-1, +1}^d, one token per coordinate (``+`` for +1, ``-`` for -1); the target is
a real number. Every config has a *seen set* (the inputs training shows) and the splits:

* ``train`` / ``validation`` (group ``seen``): uniform on the seen set;
* ``test``: the whole cube, the test of the sources (it contains seen points by design): for
  d <= 16 (``MAX_ENUMERATED_D``) every point exactly once, the seen part (group ``seen``) then the
  unseen part (group ``unseen``), each in cube order; above, a uniform sample of the cube (rows
  tagged ``seen`` / ``unseen`` by the part they fall in);
* ``ood`` (only when the seen set is not the whole cube): the unseen part (group ``unseen``,
  never a training input), exactly for d <= 16, a uniform sample of it above.

The whole cube in cube order (``cube_instances`` / ``cube_rows``) is available for d <= 20.

Predictions (``predictions(config)`` / ``analyze(task, config)``) come from
:mod:`hf_reasoning.analysis`: the Boolean influence of the frozen coordinate for the canonical
holdout (abbe2022), the min-degree interpolator of the seen set and its MSE on the unseen part
and the whole cube (abbe2023).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from .. import analysis
from ..errors import HFReasoningError, check_choice
from ..text import Vocab, list_array, render
from .registry import register
from .base import Group, Instances, Scale, Task, group_table, split_completion

TARGETS = ("pvr", "f1", "staircase", "x0x1", "mixed", "cyclic3", "sign3", "two_monomials", "parity")
SEEN_SETS = ("all", "frozen", "x012_pos", "x0_or_x1", "not_x012_neg", "x0_pos", "ball")
PVR_AGGS = ("parity", "majority", "min", "max")
MAX_CUBE_D = 20  # whole-cube tables (cube_rows, analysis) up to this dimension
# test (and ood) splits enumerate the cube up to this dimension: 2^16 = 65,536 rows at most per
# split, at every scale; 2^20 rows (the d = 20 boolean PVR) would make a 1M-row test split
MAX_ENUMERATED_D = 16


def number_token(value: float) -> str:
    """The text of a target: shortest decimal, no trailing zeros (``3``, ``-1.25``, ``0``)."""
    text = np.format_float_positional(float(value), trim="-")
    return "0" if text in ("-0", "0") else text


# every target of the presets is a multiple of 1/4 in [-64, 64]
NUMBERS = [number_token(k / 4) for k in range(-256, 257)]
VOCAB = Vocab(["+", "-", "=", "."] + NUMBERS)
T = VOCAB.id
NUMBER_ID = {k: VOCAB.id[number_token(k / 4)] for k in range(-256, 257)}


@dataclass(frozen=True)
class BooleanConfig:
    """A target on {-1,+1}^d and the seen set of training.

    ``target``: one of TARGETS (``pvr``: boolean PVR with ``p`` pointer bits, window ``w``,
    aggregation ``agg``, cyclic or ``truncated`` window; d = p + 2**p).
    ``seen``: one of SEEN_SETS; ``frozen`` is the coordinate fixed to +1 by ``seen="frozen"``
    (the canonical holdout), ``radius`` the largest number of -1 entries of ``seen="ball"``.
    """

    target: str = "parity"
    d: int = 15
    p: int = 3
    w: int = 3
    agg: str = "majority"
    truncated: bool = False
    seen: str = "all"
    frozen: int = 0
    radius: int = 15
    formats: tuple[str, ...] = ("plain",)


def _pvr(p, w, agg, truncated=False):
    return BooleanConfig(target="pvr", d=p + 2**p, p=p, w=w, agg=agg, truncated=truncated)


F1, STAIRCASE, PVR_TRUNC = (BooleanConfig(target="f1", d=11), BooleanConfig(target="staircase", d=14),
                            _pvr(3, 3, "majority", truncated=True))
FROZEN_PRESETS = {"f1": (F1, (0, 5, 10)), "staircase": (STAIRCASE, (0, 7, 13)), "pvr_trunc": (PVR_TRUNC, (0, 3, 7, 10))}

PRESETS = {
    # boolean PVR (cyclic window), no holdout
    **{f"pvr_p3_w3_{agg}": _pvr(3, 3, agg) for agg in PVR_AGGS},
    "pvr_p4_w4_parity": _pvr(4, 4, "parity"),
    # abbe2022: the canonical holdout, coordinate i frozen to +1 in training
    **{f"{name}_frozen{i}": replace(cfg, seen="frozen", frozen=i)
       for name, (cfg, coords) in FROZEN_PRESETS.items() for i in coords},
    # abbe2023: generalisation on the unseen
    "gotu_mixed": BooleanConfig(target="mixed", d=15, seen="x012_pos"),
    "gotu_x0x1": BooleanConfig(target="x0x1", d=15, seen="x0_or_x1"),
    "gotu_x0x1_d40": BooleanConfig(target="x0x1", d=40, seen="x0_or_x1"),
    "gotu_cyclic3": BooleanConfig(target="cyclic3", d=15, seen="not_x012_neg"),
    "gotu_sign3": BooleanConfig(target="sign3", d=15, seen="x0_or_x1"),
    "gotu_two_monomials": BooleanConfig(target="two_monomials", d=18, seen="x0_pos"),
    # abbe2023 length generalisation: parity of 15 bits, training on at most k entries -1
    **{f"ball_k{k}": BooleanConfig(target="parity", d=15, seen="ball", radius=k) for k in range(6, 11)},
}

TARGET_DOCS = {
    "pvr": "boolean PVR: pointer bits x0..x{p-1} read MSB first (-1 -> 0, +1 -> 1) give j; value bits "
           "v_k = x_{p+k}; window v_j..v_{j+w-1} (wrapping mod 2^p, or truncated at 2^p); aggregation parity "
           "(product), majority (sign of the sum, 0 on ties), min or max",
    "f1": "f1 = sum_{k=1}^{d-1} k x_{k-1} x_k",
    "staircase": "x0 + x0x1 + ... + x0...x_{d-1}",
    "x0x1": "x0 x1",
    "mixed": "x0x1 - 1.25 x1x2 + 1.5 x0x2",
    "cyclic3": "sum_i x_i x_{i+1} x_{i+2} (indices mod d)",
    "sign3": "sign(x0 + x1 + x2)",
    "two_monomials": "x0x1x2 + x0x3x4x5",
    "parity": "x0 x1 ... x_{d-1}",
}
SEEN_DOCS = {
    "all": "the whole cube",
    "frozen": "x_i = +1 (i = the frozen coordinate)",
    "x012_pos": "x0x1x2 = +1",
    "x0_or_x1": "x0 = +1 or x1 = +1",
    "not_x012_neg": "not (x0 = x1 = x2 = -1)",
    "x0_pos": "x0 = +1",
    "ball": "at most k entries equal to -1 (k = radius)",
}


# -- the functions ----------------------------------------------------------------------------

def target_values(cfg: BooleanConfig, x: np.ndarray) -> np.ndarray:
    """The target of each row of ``x`` (int8, entries +-1, shape (rows, d)) as float64."""
    x = np.asarray(x)
    xf = x.astype(np.float64)
    t = cfg.target
    if t == "f1":
        k = np.arange(1, cfg.d, dtype=np.float64)
        return (xf[:, :-1] * xf[:, 1:]) @ k
    if t == "staircase":
        return np.cumprod(xf, axis=1).sum(axis=1)
    if t == "x0x1":
        return xf[:, 0] * xf[:, 1]
    if t == "mixed":
        return xf[:, 0] * xf[:, 1] - 1.25 * xf[:, 1] * xf[:, 2] + 1.5 * xf[:, 0] * xf[:, 2]
    if t == "cyclic3":
        return (xf * np.roll(xf, -1, axis=1) * np.roll(xf, -2, axis=1)).sum(axis=1)
    if t == "sign3":
        return np.sign(xf[:, :3].sum(axis=1))
    if t == "two_monomials":
        return xf[:, 0] * xf[:, 1] * xf[:, 2] + xf[:, 0] * xf[:, 3] * xf[:, 4] * xf[:, 5]
    if t == "parity":
        return np.prod(xf, axis=1)
    if t == "pvr":
        p, n = cfg.p, 2**cfg.p
        bits = (x[:, :p] > 0).astype(np.int64)
        pointer = bits @ (1 << np.arange(p - 1, -1, -1, dtype=np.int64))
        idx = pointer[:, None] + np.arange(cfg.w)[None, :]
        valid = idx < n if cfg.truncated else np.ones(idx.shape, dtype=bool)
        values = np.take_along_axis(xf[:, p:], idx % n, axis=1)
        if cfg.agg == "parity":
            return np.where(valid, values, 1.0).prod(axis=1)
        if cfg.agg == "majority":
            return np.sign(np.where(valid, values, 0.0).sum(axis=1))
        if cfg.agg == "min":
            return np.where(valid, values, np.inf).min(axis=1)
        return np.where(valid, values, -np.inf).max(axis=1)
    raise HFReasoningError(f"unknown boolean target {t!r}; allowed: {', '.join(TARGETS)}")


def seen_mask(cfg: BooleanConfig, x: np.ndarray) -> np.ndarray:
    """Whether each row of ``x`` is in the seen set of ``cfg``."""
    x = np.asarray(x)
    s = cfg.seen
    if s == "all":
        return np.ones(x.shape[0], dtype=bool)
    if s == "frozen":
        return x[:, cfg.frozen] == 1
    if s == "x012_pos":
        return x[:, 0] * x[:, 1] * x[:, 2] == 1
    if s == "x0_or_x1":
        return (x[:, 0] == 1) | (x[:, 1] == 1)
    if s == "not_x012_neg":
        return ~((x[:, 0] == -1) & (x[:, 1] == -1) & (x[:, 2] == -1))
    if s == "x0_pos":
        return x[:, 0] == 1
    return (x == -1).sum(axis=1) <= cfg.radius


def seen_fraction(cfg: BooleanConfig) -> float:
    """Exact fraction of the cube in the seen set."""
    return {
        "all": 1.0, "frozen": 0.5, "x012_pos": 0.5, "x0_or_x1": 0.75, "not_x012_neg": 0.875, "x0_pos": 0.5,
    }.get(cfg.seen) or sum(math.comb(cfg.d, k) for k in range(cfg.radius + 1)) / 2**cfg.d


def relevant_coordinates(cfg: BooleanConfig) -> tuple[int, ...]:
    """Coordinates the target or the seen set depend on (the others are irrelevant: a junta)."""
    target = {"x0x1": {0, 1}, "mixed": {0, 1, 2}, "sign3": {0, 1, 2}, "two_monomials": set(range(6))}.get(cfg.target)
    if target is None:
        return tuple(range(cfg.d))
    seen = {"all": set(), "frozen": {cfg.frozen}, "x012_pos": {0, 1, 2}, "x0_or_x1": {0, 1},
            "not_x012_neg": {0, 1, 2}, "x0_pos": {0}}.get(cfg.seen)
    return tuple(range(cfg.d)) if seen is None else tuple(sorted(target | seen))


def validate_config(cfg: BooleanConfig) -> None:
    check_choice("boolean target", cfg.target, TARGETS)
    check_choice("boolean seen set", cfg.seen, SEEN_SETS)
    minimum = {"pvr": 3, "f1": 2, "staircase": 1, "x0x1": 2, "mixed": 3, "cyclic3": 3, "sign3": 3,
               "two_monomials": 6, "parity": 1}[cfg.target]
    minimum = max(minimum, {"x012_pos": 3, "x0_or_x1": 2, "not_x012_neg": 3, "x0_pos": 1}.get(cfg.seen, 1))
    if not minimum <= cfg.d <= 64:
        raise HFReasoningError(f"boolean target {cfg.target!r} with seen set {cfg.seen!r} needs d in {minimum}..64, got d={cfg.d}")
    if cfg.target == "pvr":
        check_choice("boolean PVR aggregation", cfg.agg, PVR_AGGS)
        if not 1 <= cfg.p <= 5:
            raise HFReasoningError(f"boolean PVR with p={cfg.p} pointer bits does not fit the cube; allowed: p in 1..5 (d = p + 2^p <= 37)")
        if cfg.d != cfg.p + 2**cfg.p:
            raise HFReasoningError(f"boolean PVR with p={cfg.p} needs d = p + 2^p = {cfg.p + 2**cfg.p}, got d={cfg.d}")
        if not 1 <= cfg.w <= 2**cfg.p:
            raise HFReasoningError(f"boolean PVR window w={cfg.w}; allowed: 1..{2**cfg.p} (2^p value bits)")
    if cfg.seen == "frozen" and not 0 <= cfg.frozen < cfg.d:
        raise HFReasoningError(f"frozen coordinate {cfg.frozen} is outside 0..{cfg.d - 1} (d = {cfg.d})")
    if cfg.seen == "ball" and not 0 <= cfg.radius < cfg.d:
        raise HFReasoningError(f"Hamming-ball radius {cfg.radius}; allowed: 0..{cfg.d - 1} (d = {cfg.d}; d would be the whole cube)")


# -- sampling ---------------------------------------------------------------------------------

def uniform_points(rng: np.random.Generator, rows: int, d: int) -> np.ndarray:
    packed = np.frombuffer(rng.bytes(rows * (-(-d // 8))), dtype=np.uint8).reshape(rows, -1)
    bits = np.unpackbits(packed, axis=1, count=d).astype(np.int8)
    return (1 - 2 * bits).astype(np.int8)


def sample_points(cfg: BooleanConfig, part: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform points of the ``seen`` part, the ``unseen`` part or the whole ``cube``."""
    if part == "cube" or cfg.seen == "all":
        return uniform_points(rng, n, cfg.d)
    frac = seen_fraction(cfg) if part == "seen" else 1.0 - seen_fraction(cfg)
    out, need = [], n
    while need > 0:
        draw = uniform_points(rng, max(16, int(need / frac * 1.2) + 8), cfg.d)
        keep = seen_mask(cfg, draw)
        draw = draw[keep if part == "seen" else ~keep][:need]
        out.append(draw)
        need -= draw.shape[0]
    return np.concatenate(out)


def cube_instances(cfg: BooleanConfig) -> Instances:
    """The whole cube in cube order (index bit j = 1 <-> x_j = -1), for d <= 20."""
    if cfg.d > MAX_CUBE_D:
        raise HFReasoningError(f"the whole cube of d={cfg.d} is too large to enumerate; allowed: d <= {MAX_CUBE_D}")
    x = analysis.cube_points(cfg.d)
    return Instances({"x": x}, (x < 0).astype(np.int64))


# -- the task ---------------------------------------------------------------------------------

DESCRIPTION = (
    "Inputs x in {-1,+1}^d; the target is a real number (a function of x). Presets: boolean PVR (`pvr_p*`, "
    "cyclic window, d = p + 2^p, no holdout); the `abbe2022` targets with the canonical holdout "
    "(`f1_frozen{i}` (d=11), `staircase_frozen{i}` (d=14), `pvr_trunc_frozen{i}` (p=3, w=3, majority, "
    "truncated window, d=11): coordinate i is +1 in every training input; any i is a config-level parameter "
    "`BooleanConfig(frozen=i)`); the `abbe2023` functions with their seen sets (`gotu_*`); and the Hamming-ball "
    "length generalisation (`ball_k{k}`: parity of 15 bits, training only on inputs with at most k entries -1). "
    "Splits: `train` and `validation` (group `seen`) are uniform on the seen set. `test` is the whole cube (the "
    "sources' test; it contains seen points by design): for d <= 16 every point of the cube exactly once, the seen "
    "part (group `seen`) then the unseen part (group `unseen`), each in cube order (so `test` has 2^d rows at every "
    "scale); for d > 16 (`pvr_p4_w4_parity`, d = 20; `gotu_two_monomials`, d = 18; `gotu_x0x1_d40`) a uniform "
    "sample of the cube, each row tagged `seen` or `unseen` by the part it falls in. `ood` (when the seen set is not "
    "the whole cube) is the unseen part alone (group `unseen`: never a training input): exactly, every unseen point "
    "once in cube order, for d <= 16, a uniform sample above. Where the test split enumerates the cube, the training "
    "rows are necessarily in it (the card's overlap section says so); no training row is ever an unseen point. "
    "Columns: `x` (list of +-1, int8), `target` (float64), `seen` (whether x is in the seen set), `answer` = "
    "the target as text (shortest decimal: `3`, `-1.25`, `0`); `length` is d. The whole cube in cube order "
    "(index bit j = 1 <-> x_j = -1) is available for d <= 20 from `hf_reasoning.tasks.boolean.cube_rows(config)`. "
    "Predictions (from `hf_reasoning.analysis`): canonical holdout: a model trained on the seen half learns "
    "f(x with x_i = +1), so half its MSE on the cube is the Boolean influence Inf_i(f); GOTU: trained models "
    "land on the min-degree interpolator of the seen data, whose MSE on the unseen part and the cube is given "
    "per config below (`hf-reasoning analyze boolean CONFIG` prints the full analysis)."
)


@register
class Boolean(Task):
    name = "boolean"
    title = "Boolean functions on the hypercube: canonical holdout, generalisation on the unseen"
    sources = ("abbe2022", "abbe2023")
    formats = ("plain",)
    vocab = VOCAB
    presets = PRESETS
    paper_scale = Scale(train=100_000, validation=5_000, test=5_000, ood=5_000)
    format_docs = {
        "plain": "prompt `t0 t1 … t{d-1} =` with one token per coordinate, `+` for x_i = +1 and `-` for x_i = -1; "
        "completion `y .` where `y` is the target as one number token (shortest decimal, e.g. `-1.25`).",
    }

    @property
    def description(self) -> str:  # the static text plus the predictions of every preset
        return DESCRIPTION + "\n\n" + predictions_table()

    def validate(self, cfg, fmt):
        validate_config(cfg)

    def train_groups(self, cfg):
        return [(Group("seen", cfg.d, "seen"), 1.0)]

    def ood_groups(self, cfg):
        return [] if cfg.seen == "all" else [Group("unseen", cfg.d, "unseen")]

    def split_groups(self, cfg, split):
        # the test split is the whole cube: its seen and unseen parts in proportion
        if split != "test" or cfg.seen == "all":
            return self.train_groups(cfg)
        frac = seen_fraction(cfg)
        return [(Group("seen", cfg.d, "seen"), frac), (Group("unseen", cfg.d, "unseen"), 1.0 - frac)]

    def exhaustive_split(self, cfg, fmt, split):
        if split not in ("test", "ood") or cfg.d > MAX_ENUMERATED_D:
            return None
        groups = [g for g, _ in self.split_groups(cfg, split)] if split == "test" else self.ood_groups(cfg)
        if not groups:
            return None
        x = analysis.cube_points(cfg.d)
        in_seen = seen_mask(cfg, x)
        parts = []
        for group in groups:
            part = x[in_seen if group.params == "seen" else ~in_seen]
            parts.append((group, Instances({"x": part}, (part < 0).astype(np.int64))))
        return parts

    def space_log2(self, cfg, fmt, group):
        frac = {"cube": 1.0, "seen": seen_fraction(cfg), "unseen": 1.0 - seen_fraction(cfg)}[group.params]
        return cfg.d + math.log2(frac)

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        x = sample_points(cfg, group.params, n, rng)
        return Instances({"x": x}, (x < 0).astype(np.int64))

    def to_columns(self, cfg, fmt, inst):
        x = inst["x"]
        rows = x.shape[0]
        y = target_values(cfg, x)
        quarters = np.rint(y * 4).astype(np.int64)
        if (np.abs(quarters - y * 4) > 1e-9).any() or (np.abs(quarters) > 256).any():
            raise HFReasoningError("boolean targets must be multiples of 1/4 in [-64, 64] to be written as tokens")
        ids = np.array([NUMBER_ID[k] for k in range(-256, 257)], dtype=np.int32)[quarters + 256]
        prompt = np.where(x > 0, T["+"], T["-"]).astype(np.int32)
        prompt = np.concatenate([prompt, np.full((rows, 1), T["="], dtype=np.int32)], axis=1)
        completion = np.stack([ids, np.full(rows, T["."], dtype=np.int32)], axis=1)
        return {
            "prompt": render(prompt, VOCAB),
            "completion": render(completion, VOCAB),
            "answer": pa.array(np.array(VOCAB.tokens, dtype=object)[ids], type=pa.string()),
            "x": list_array(x, pa.int8()),
            "target": pa.array(y, type=pa.float64()),
            "seen": pa.array(seen_mask(cfg, x), type=pa.bool_()),
        }

    def parse_answer(self, fmt, completion):
        tokens = split_completion(completion)
        if not tokens or len(tokens) != 1:
            return None
        try:
            float(tokens[0])
        except ValueError:
            return None
        return tokens[0]


def cube_rows(config: str):
    """The whole cube of a config (d <= 20) in cube order, as an Arrow table with the columns of
    the splits (``group`` = ``cube``): the exact test set of the sources."""

    from .registry import get_task

    task = get_task("boolean")
    _, cfg, fmt = task.parse_config(config)
    return group_table(task, cfg, fmt, Group("cube", cfg.d, "cube"), cube_instances(cfg))


# -- predictions --------------------------------------------------------------------------------

def _config_of(config) -> BooleanConfig:
    if isinstance(config, BooleanConfig):
        validate_config(config)
        return config
    name = str(config)
    preset = name.rpartition("-")[0] if name.rpartition("-")[2] in Boolean.formats and "-" in name else name
    if preset not in PRESETS:
        check_choice("config of task 'boolean'", name, Boolean().config_names() + list(PRESETS))
    validate_config(PRESETS[preset])
    return PRESETS[preset]


def _reduced(cfg: BooleanConfig):
    """(function table, seen table, coordinate map) on the cube of the relevant coordinates."""
    coords = relevant_coordinates(cfg)
    if len(coords) > MAX_CUBE_D:
        raise HFReasoningError(
            f"the analysis needs the cube of {len(coords)} coordinates (d = {cfg.d}); allowed: at most {MAX_CUBE_D}")
    small = analysis.cube_points(len(coords))
    full = np.ones((small.shape[0], cfg.d), dtype=np.int8)
    full[:, list(coords)] = small
    return target_values(cfg, full), seen_mask(cfg, full), coords


@functools.lru_cache(maxsize=None)
def _analyze_cfg(cfg: BooleanConfig, full: bool) -> dict:
    values, seen, coords = _reduced(cfg)
    k = len(coords)
    frozen = coords.index(cfg.frozen) if cfg.seen == "frozen" else None
    # the canonical holdout is an influence (no interpolator needed); other seen sets get the min-degree interpolator
    mask = None if cfg.seen in ("all", "frozen") else seen
    summary = analysis.analyze_boolean(values, k, seen_mask=mask, frozen=frozen, max_listed=32 if full else 8)
    # back to the coordinates of the config
    summary["d"] = cfg.d
    summary["analysed_coordinates"] = list(coords)
    if k < cfg.d:
        infl = [0.0] * cfg.d
        for j, c in enumerate(coords):
            infl[c] = summary["influences"][j]
        summary["influences"] = infl
        for key in ("coefficients",):
            for item in summary[key]:
                item["subset"] = [coords[j] for j in item["subset"]]
        if "min_degree_interpolator" in summary:
            for item in summary["min_degree_interpolator"]["coefficients"]:
                item["subset"] = [coords[j] for j in item["subset"]]
        for item in summary["canonical_holdout"]:
            item["frozen"] = coords[item["frozen"]]
        summary["weights_by_degree"] += [0.0] * (cfg.d - k)
    pred: dict = {"target": TARGET_DOCS[cfg.target], "d": cfg.d, "seen": SEEN_DOCS[cfg.seen],
                  "seen_fraction": seen_fraction(cfg)}
    if cfg.seen == "frozen":
        inf = summary["influences"][cfg.frozen]
        pred.update(frozen=cfg.frozen, influence=inf, predicted_generalisation_error=inf,
                    predicted_mse_whole=2 * inf, predicted_mse_unseen=4 * inf)
    elif "min_degree_interpolator" in summary:
        mdi = summary["min_degree_interpolator"]
        pred.update(min_degree_interpolator={" ".join(f"x{j}" for j in c["subset"]) or "1": c["coefficient"]
                                             for c in mdi["coefficients"]},
                    interpolator_degree=mdi["degree"], predicted_mse_unseen=mdi["predicted_mse_unseen"],
                    predicted_mse_whole=mdi["predicted_mse_whole"])
        for key in ("predicted_sign_accuracy_unseen", "predicted_sign_accuracy_whole"):
            if key in mdi:
                pred[key] = mdi[key]
    else:
        pred.update(influences=summary["influences"], mean=summary["mean"], variance=summary["variance"])
    summary["predictions"] = pred
    return summary


def predictions(config) -> dict:
    """The predictions of the sources for one config (name like ``staircase_frozen0-plain``, a
    preset name, or a BooleanConfig), JSON-serialisable: canonical holdout → ``influence`` of the
    frozen coordinate, ``predicted_generalisation_error`` (= ½·MSE on the cube = Inf_i) and the
    predicted MSE on the whole cube / unseen half; GOTU and Hamming ball → the min-degree
    interpolator, its degree and its ``predicted_mse_unseen`` / ``predicted_mse_whole``."""
    return _analyze_cfg(_config_of(config), False)["predictions"]


def analyze(task, config) -> dict:
    """``hf-reasoning analyze boolean CONFIG``: the full analysis (Fourier weights, influences,
    noise stability, canonical holdout, min-degree interpolator) and ``predictions``."""
    name = getattr(task, "name", task)
    if name != "boolean":
        raise HFReasoningError(f"analyze supports task 'boolean', got {name!r}")
    import copy

    return copy.deepcopy(_analyze_cfg(_config_of(config), True))


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.4g}"


@functools.lru_cache(maxsize=None)
def predictions_table() -> str:
    """Markdown table of the predictions of every preset (written into the dataset card)."""
    lines = ["| preset | seen set | prediction | predicted MSE (unseen) | predicted MSE (cube) |", "|---|---|---|---|---|"]
    for name, cfg in PRESETS.items():
        if cfg.seen == "all":
            continue
        p = predictions(cfg)
        if cfg.seen == "frozen":
            what = f"Inf_{cfg.frozen} = {_fmt(p['influence'])} (= ½·MSE on the cube)"
        else:
            mdi = " ".join(f"{c:+.4g}·{m}" if m != "1" else f"{c:+.4g}" for m, c in p["min_degree_interpolator"].items())
            what = f"min-degree interpolator (degree {p['interpolator_degree']}): {mdi[:120]}"
        lines.append(f"| `{name}` | {SEEN_DOCS[cfg.seen]} | {what} | {_fmt(p['predicted_mse_unseen'])} | {_fmt(p['predicted_mse_whole'])} |")
    return "\n".join(lines)
