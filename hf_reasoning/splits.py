"""From task instances to the splits of one config: seeds, sizes, disjointness, streaming.

Seeds: one ``SeedSequence(seed, spawn_key=(task, preset))`` per config; its children seed
the splits (train, validation, test, ood, fresh), and each split's child spawns separate
streams for the row counts, the instances and the format-only layout. Streams are never
derived from neighbouring integers of one counter.

Disjointness: the evaluation splits are drawn first (ood, test, validation) and a later
split never keeps an instance an earlier one holds (the instance is hashed from its
structured fields, not its text). Where a group's instance space is too small for that
(fewer than 100 × the rows drawn for it, e.g. parity of 5 bits), rows may be shared and
the dataset card says so.

Exhaustive splits: a task may enumerate an evaluation split instead of sampling it
(``Task.exhaustive_split``: every instance of its groups exactly once, e.g. the whole Boolean
cube); its groups then count as overlap groups (a training sample of them is necessarily in
it). ``train`` is always sampled.

Features: every table carries its ``datasets.Features`` in the schema metadata (key
``huggingface``), so Parquet files written from it load with exact feature types (an
``Image`` column decodes to PIL images).
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .version import __version__
from .errors import HFReasoningError, check_choice
from .tasks import SCALES, Group, Instances, Scale, Task, get_task
from .tasks.base import group_table  # noqa: F401  (re-exported: splits.group_table)

SPLITS = ("train", "validation", "test", "ood")
EVAL_ORDER = ("ood", "test", "validation", "train")  # earlier splits keep their instances
OVERLAP_FACTOR = 100
SCALE_NAMES = (*SCALES, "paper")


def scale_of(task: Task, scale: str) -> Scale:
    check_choice("scale", scale, SCALE_NAMES)
    return task.paper_scale if scale == "paper" else SCALES[scale]


def check_seed(seed: int) -> None:
    if not isinstance(seed, int) or seed < 0:
        raise HFReasoningError(f"seed must be a non-negative integer, got {seed!r}")


def config_seed_sequence(task: Task, preset: str, seed: int) -> np.random.SeedSequence:
    check_seed(seed)
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(task.name.encode()), zlib.crc32(preset.encode())))


@dataclass
class SplitStreams:
    counts: np.random.Generator
    core: np.random.Generator
    layout: np.random.Generator


def split_streams(task: Task, preset: str, seed: int) -> dict[str, SplitStreams]:
    children = config_seed_sequence(task, preset, seed).spawn(len(SPLITS) + 1)
    streams = {}
    for name, child in zip((*SPLITS, "fresh"), children):
        counts, core, layout = (np.random.default_rng(s) for s in child.spawn(3))
        streams[name] = SplitStreams(counts, core, layout)
    return streams


# -- instance hashing ----------------------------------------------------------------------

def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def instance_hash(key: np.ndarray, group: str) -> np.ndarray:
    """A 64-bit hash per row of an integer key matrix (non-negative entries)."""
    key = np.ascontiguousarray(key)
    rows = key.shape[0]
    # pack small integers into 64-bit words first: fewer columns to mix
    for dtype in (np.uint8, np.uint16, np.uint32):
        if key.size == 0 or (key.min() >= 0 and key.max() <= np.iinfo(dtype).max):
            key = key.astype(dtype)
            break
    else:
        key = key.astype(np.int64).view(np.uint64)
    per_word = 8 // key.dtype.itemsize
    pad = (-key.shape[1]) % per_word
    if pad:
        key = np.concatenate([key, np.zeros((rows, pad), key.dtype)], axis=1)
    words = np.ascontiguousarray(key).view(np.uint64).reshape(rows, -1)
    h = np.full(rows, zlib.crc32(f"{group}/{key.shape[1]}".encode()), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in words.T:
            h = _mix(h ^ column + np.uint64(0x9E3779B97F4A7C15))
    return h


def concat_instances(parts: list[Instances]) -> Instances:
    if len(parts) == 1:
        return parts[0]
    arrays = {k: np.concatenate([p.arrays[k] for p in parts]) for k in parts[0].arrays}
    return Instances(arrays, np.concatenate([p.key for p in parts]))


# -- one config ----------------------------------------------------------------------------

@dataclass
class ConfigBuild:
    """The splits of one config, with what the dataset card reports about them."""

    task: str
    config: str
    preset: str
    format: str
    scale: str
    seed: int
    tables: dict[str, pa.Table]
    groups: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> group -> rows
    overlap_groups: list[str] = field(default_factory=list)
    shared_rows: int = 0  # train rows whose instance is also in an evaluation split
    rows: dict[str, int] = field(default_factory=dict)  # split -> rows
    # filled in when the config is written (hub.write_config), for the dataset card
    split_bytes: dict[str, int] = field(default_factory=dict)  # split -> Arrow bytes in memory
    file_bytes: int = 0  # Parquet bytes on disk
    fingerprint: str = ""  # sha256 of the config's Parquet files, in order


def sample_group(task: Task, cfg, fmt: str, group: Group, count: int, streams: SplitStreams,
                 forbidden: np.ndarray | None) -> tuple[Instances, np.ndarray]:
    """``count`` instances of ``group`` none of whose hashes is in ``forbidden``."""
    parts, hashes, need, empty_rounds = [], [], count, 0
    while need > 0:
        inst = task.sample(cfg, fmt, group, need, streams.core, streams.layout)
        h = instance_hash(inst.key, group.name)
        if forbidden is not None and forbidden.size:
            keep = ~np.isin(h, forbidden)
            inst, h = inst.take(np.flatnonzero(keep)), h[keep]
        empty_rounds = empty_rounds + 1 if len(inst) == 0 else 0
        if empty_rounds > 20:
            raise HFReasoningError(f"cannot draw {count} new instances of group {group.name!r}: its instance space is exhausted")
        parts.append(inst)
        hashes.append(h)
        need -= len(inst)
    return concat_instances(parts), np.concatenate(hashes)


def split_counts(task: Task, cfg, scale: Scale, streams: dict[str, SplitStreams],
                 exhaustive: dict[str, list[tuple[Group, Instances]]] | None = None) -> dict[str, list[tuple[Group, int]]]:
    """Rows per group of every split; an exhaustive split has the size of its enumeration."""
    exhaustive = exhaustive or {}
    counts = {}
    for split in ("train", "validation", "test"):
        if split in exhaustive:
            counts[split] = [(g, len(inst)) for g, inst in exhaustive[split]]
            continue
        split_groups = task.train_groups(cfg) if split == "train" else task.split_groups(cfg, split)
        groups, weights = [g for g, _ in split_groups], np.array([w for _, w in split_groups])
        drawn = streams[split].counts.multinomial(getattr(scale, split), weights / weights.sum())
        counts[split] = list(zip(groups, drawn.tolist()))
    if "ood" in exhaustive:
        counts["ood"] = [(g, len(inst)) for g, inst in exhaustive["ood"]]
    else:
        counts["ood"] = [(g, scale.ood) for g in task.ood_groups(cfg)]
    return counts


def exhaustive_splits(task: Task, cfg, fmt: str) -> dict[str, list[tuple[Group, Instances]]]:
    """The evaluation splits the task enumerates (every instance once) instead of sampling."""
    out = {}
    for split in ("validation", "test", "ood"):
        parts = task.exhaustive_split(cfg, fmt, split)
        if parts is not None:
            out[split] = parts
    return out


def overlap_groups(task: Task, cfg, fmt: str, counts: dict[str, list[tuple[Group, int]]]) -> list[str]:
    """Groups whose instance space is under ``OVERLAP_FACTOR`` × the rows drawn for them
    (a group an exhaustive split enumerates is always one: every instance is in that split)."""
    drawn: dict[str, int] = {}
    groups: dict[str, Group] = {}
    for split in SPLITS:
        for g, c in counts[split]:
            drawn[g.name] = drawn.get(g.name, 0) + c
            groups[g.name] = g
    small = [n for n, g in groups.items() if task.space_log2(cfg, fmt, g) < math.log2(OVERLAP_FACTOR * max(drawn[n], 1))]
    return sorted(small, key=lambda n: groups[n].length)


def _evaluation_and_train_draws(task: Task, cfg, fmt: str, scale: str, streams: dict[str, SplitStreams],
                                splits=EVAL_ORDER):
    """The plan of a config, then its instances split by split in ``EVAL_ORDER``.

    Yields ``(counts, overlap, exhaustive split names)`` first, then ``(split, group, instances, hashes, earlier)`` per
    non-empty group, where ``earlier`` holds the hashes of that group in the splits drawn before.
    A sampled group never repeats an earlier instance unless it is an overlap group; an
    exhaustive split takes its enumeration as it is."""
    exhaustive = exhaustive_splits(task, cfg, fmt)
    counts = split_counts(task, cfg, scale_of(task, scale), streams, exhaustive)
    overlap = overlap_groups(task, cfg, fmt, counts)
    yield counts, overlap, set(exhaustive)
    seen: dict[str, list[np.ndarray]] = {}  # group -> hashes of the splits drawn so far
    for split in splits:
        if split in exhaustive:
            drawn = [(g, inst, instance_hash(inst.key, g.name)) for g, inst in exhaustive[split] if len(inst)]
        else:
            drawn = []
            for group, count in counts[split]:
                if count == 0:
                    continue
                earlier = np.concatenate(seen.get(group.name, [np.zeros(0, np.uint64)]))
                forbidden = None if group.name in overlap else earlier
                inst, h = sample_group(task, cfg, fmt, group, count, streams[split], forbidden)
                drawn.append((group, inst, h))
        for group, inst, h in drawn:
            earlier = np.concatenate(seen.get(group.name, [np.zeros(0, np.uint64)]))
            yield split, group, inst, h, earlier
            seen.setdefault(group.name, []).append(h)


def build_config(task_name: str, config: str, scale: str = "default", seed: int = 0) -> ConfigBuild:
    """Generate the splits of one config (``train``, ``validation``, ``test`` and ``ood``
    when the preset has OOD groups) as Arrow tables that carry their ``datasets`` features."""
    task = get_task(task_name)
    preset, cfg, fmt = task.parse_config(config)
    streams = split_streams(task, preset, seed)
    draws = _evaluation_and_train_draws(task, cfg, fmt, scale, streams)
    counts, overlap, exhaustive = next(draws)
    build = ConfigBuild(task.name, config, preset, fmt, scale, seed, {}, overlap_groups=overlap)
    parts: dict[str, list[pa.Table]] = {}
    for split, group, inst, h, earlier in draws:
        if split == "train" and group.name in overlap:
            build.shared_rows += int(np.isin(h, earlier).sum())
        parts.setdefault(split, []).append(group_table(task, cfg, fmt, group, inst))
    features = None
    for split in EVAL_ORDER:
        if split not in parts:
            continue
        table = pa.concat_tables(parts[split])
        # in-distribution splits mix their lengths; the ood split and enumerations keep their order
        if split != "ood" and split not in exhaustive:
            table = table.take(streams[split].counts.permutation(table.num_rows))
        features = features or task_features(task, cfg, fmt, table.schema)
        build.tables[split] = with_features(table, features)
        build.groups[split] = {g.name: c for g, c in counts[split] if c}
    build.tables = {s: build.tables[s] for s in SPLITS if s in build.tables}
    build.rows = {s: t.num_rows for s, t in build.tables.items()}
    return build


def eval_hashes(task: Task, cfg, fmt: str, preset: str, scale: str, seed: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Hashes of every evaluation-split instance per group, and the overlap groups."""
    # re-draw the evaluation instances to hash them (same streams, same order as the build)
    draws = _evaluation_and_train_draws(task, cfg, fmt, scale, split_streams(task, preset, seed),
                                        splits=("ood", "test", "validation"))
    _, overlap, _ = next(draws)
    seen: dict[str, list[np.ndarray]] = {}
    for _, group, _, h, _ in draws:
        seen.setdefault(group.name, []).append(h)
    return {g: np.concatenate(h) for g, h in seen.items()}, overlap


# -- datasets features ---------------------------------------------------------------------

def task_features(task: Task, cfg, fmt: str, schema: pa.Schema):
    """The ``datasets.Features`` of a config's tables: the Arrow types, except the columns the
    task types itself (``Task.features``, e.g. an ``Image``)."""
    import datasets

    features = datasets.Features.from_arrow_schema(schema.remove_metadata())
    features.update(task.features(cfg, fmt))
    return features


def with_features(table: pa.Table, features) -> pa.Table:
    """``table`` cast to the Arrow schema of ``features``, with the features in its schema
    metadata (key ``huggingface``, as ``datasets`` writes it), so that Parquet files written from
    it load with exactly these feature types (``load_dataset`` reads them from the first file)."""
    metadata = {b"huggingface": json.dumps({"info": {"features": features.to_dict()}}).encode()}
    schema = features.arrow_schema.with_metadata(metadata)
    if not table.schema.remove_metadata().equals(features.arrow_schema):
        return table.cast(schema)
    return table.replace_schema_metadata(metadata)


def fresh_tables(task_name: str, config: str, scale: str = "default", seed: int = 0,
                 chunk_size: int = 1024) -> Iterator[pa.Table]:
    """Endless chunks of new training rows, none of them an evaluation-split instance."""
    task = get_task(task_name)
    preset, cfg, fmt = task.parse_config(config)
    forbidden, overlap = eval_hashes(task, cfg, fmt, preset, scale, seed)
    fresh = config_seed_sequence(task, preset, seed).spawn(len(SPLITS) + 1)[-1]
    train_groups = task.train_groups(cfg)
    weights = np.array([w for _, w in train_groups])
    features = None
    while True:
        counts, core, layout = (np.random.default_rng(s) for s in fresh.spawn(1)[0].spawn(3))
        streams = SplitStreams(counts, core, layout)
        drawn = counts.multinomial(chunk_size, weights / weights.sum())
        tables = []
        for (group, _), count in zip(train_groups, drawn.tolist()):
            if count:
                block = None if group.name in overlap else forbidden.get(group.name)
                inst, _ = sample_group(task, cfg, fmt, group, count, streams, block)
                tables.append(group_table(task, cfg, fmt, group, inst))
        table = pa.concat_tables(tables)
        features = features or task_features(task, cfg, fmt, table.schema)
        yield with_features(table.take(counts.permutation(table.num_rows)), features)


# -- datasets ------------------------------------------------------------------------------

def build_dataset(task: str, config: str, scale: str = "default", seed: int = 0):
    """The splits of one config as a ``datasets.DatasetDict``."""
    import datasets
    from datasets.table import InMemoryTable

    build = build_config(task, config, scale, seed)
    return datasets.DatasetDict({s: datasets.Dataset(InMemoryTable(t)) for s, t in build.tables.items()})


def _fresh_rows(task: str, config: str, scale: str, seed: int, chunk_size: int):
    for table in fresh_tables(task, config, scale, seed, chunk_size):
        yield from table.to_pylist()


def stream_train(task: str, config: str, scale: str = "default", seed: int = 0, chunk_size: int = 1024):
    """Fresh training rows forever, as a ``datasets.IterableDataset`` (the sources train on
    fresh samples). It never yields an instance of the config's evaluation splits (those of
    the same ``scale`` and ``seed``)."""
    import datasets

    first = next(fresh_tables(task, config, scale, seed, chunk_size=8))
    features = datasets.Features.from_arrow_schema(first.schema)
    return datasets.IterableDataset.from_generator(
        _fresh_rows, features=features,
        gen_kwargs={"task": task, "config": config, "scale": scale, "seed": seed, "chunk_size": chunk_size})


def list_tasks() -> list[dict]:
    """Every task with its configs and formats."""
    from .tasks import TASKS

    return [{"name": t.name, "title": t.title, "sources": list(t.sources), "formats": list(t.formats),
             "configs": t.config_names()} for t in TASKS.values()]


GENERATOR_VERSION = __version__
