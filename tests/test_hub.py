"""Hub repo folders: layout, dataset card (YAML + body), ``load_dataset`` of every config, and
the text rendering the Parquet files are made of (``hf_reasoning.text.render``)."""

from __future__ import annotations

import fnmatch
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import hf_reasoning
from hf_reasoning.text import Vocab, render

TASKS = ("parity", "addition", "cycles", "implications")
SPLIT_FILE = re.compile(r"^(train|validation|test|ood)-(\d{5})-of-(\d{5})\.parquet$")
HEAD_COLUMNS = ["prompt", "completion", "answer", "length", "group"]
SIZE_BUCKETS = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def card_yaml(folder) -> dict:
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    header = text.split("\n---\n", 1)[0][len("---\n"):]
    return yaml.safe_load(header)


def card_body(folder) -> str:
    return (folder / "README.md").read_text().split("\n---\n", 1)[1]


def split_files(folder, config) -> dict[str, list[str]]:
    out = {}
    for p in sorted((folder / config).iterdir()):
        m = SPLIT_FILE.match(p.name)
        assert m and p.is_file(), p
        out.setdefault(m.group(1), []).append(p.name)
    return out


def parquet_rows(folder, config, split) -> int:
    return sum(pq.ParquetFile(folder / config / name).metadata.num_rows
               for name in split_files(folder, config)[split])


# -- layout ---------------------------------------------------------------------------------------

def test_out_folder_holds_exactly_the_task_repos(hub_dir):
    assert sorted(p.name for p in hub_dir.iterdir()) == sorted(TASKS)  # no staging leftovers
    assert not [p for p in hub_dir.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("task", TASKS)
def test_repo_layout(hub_dir, task):
    folder = hub_dir / task
    entries = sorted(folder.iterdir())
    assert (folder / "README.md").is_file()
    for entry in entries:
        if entry.name == "README.md":
            continue
        assert entry.is_dir() and not entry.name.startswith("."), entry
        files = split_files(folder, entry.name)
        assert {"train", "validation", "test"} <= set(files), (entry.name, files)
        for split, names in files.items():
            shards = [SPLIT_FILE.match(n).groups() for n in names]
            total = int(shards[0][2])
            assert [int(i) for _, i, _ in shards] == list(range(total))
            assert all(int(t) == total for _, _, t in shards)
            # Parquet with the common columns first
            schema = pq.read_schema(folder / entry.name / names[0])
            assert schema.names[:5] == HEAD_COLUMNS, schema.names
            assert schema.field("prompt").type in (pa.string(), pa.large_string())
            assert schema.field("length").type in (pa.int32(), pa.int64())


# -- the dataset card --------------------------------------------------------------------------------

@pytest.mark.parametrize("task", TASKS)
def test_card_yaml(hub_dir, task):
    folder = hub_dir / task
    meta = card_yaml(folder)
    assert isinstance(meta["license"], str) and meta["license"]
    assert isinstance(meta["task_categories"], list) and meta["task_categories"]
    assert isinstance(meta["tags"], list) and task in meta["tags"]
    assert isinstance(meta["pretty_name"], str) and meta["pretty_name"]
    assert meta["hf_reasoning"] == {"task": task, "scale": "tiny", "seed": 0,
                                    "generator_version": hf_reasoning.__version__}
    # size category of the repo's total row count
    configs = sorted(p.name for p in folder.iterdir() if p.is_dir())
    total = sum(parquet_rows(folder, c, s) for c in configs for s in split_files(folder, c))
    expected = next(name for bound, name in SIZE_BUCKETS if total < bound)
    assert meta["size_categories"] == [expected], (total, meta["size_categories"])
    # the configs block: exactly the config folders, each split with a pattern matching its files
    listed = meta["configs"]
    assert sorted(c["config_name"] for c in listed) == configs
    assert sum(bool(c.get("default")) for c in listed) == 1
    for entry in listed:
        config = entry["config_name"]
        files = split_files(folder, config)
        data_files = {d["split"]: d["path"] for d in entry["data_files"]}
        assert set(data_files) == set(files), (config, data_files, files)
        every = [f"{config}/{n}" for names in files.values() for n in names]
        for split, pattern in data_files.items():
            assert sorted(f for f in every if fnmatch.fnmatch(f, pattern)) == [f"{config}/{n}" for n in files[split]]


@pytest.mark.parametrize("task", TASKS)
def test_card_body(hub_dir, task):
    from hf_reasoning.tasks import get_task

    folder = hub_dir / task
    body = card_body(folder)
    configs = sorted(p.name for p in folder.iterdir() if p.is_dir())
    # every format is explained with an example
    for fmt in {c.rpartition("-")[2] for c in configs}:
        section = body.split(f"### `{fmt}`", 1)
        assert len(section) == 2, fmt
        example = section[1].split("### ", 1)[0].split("## ", 1)[0]
        assert "prompt:" in example and "completion:" in example and "answer:" in example
    # every config with its row counts per split
    for config in configs:
        line = next((ln for ln in body.splitlines() if ln.startswith(f"| `{config}` |")), None)
        assert line, config
        cells = [c.strip() for c in line.strip("|").split("|")]
        counts = dict(zip(("train", "validation", "test", "ood"), cells[1:5]))
        files = split_files(folder, config)
        for split, cell in counts.items():
            assert cell == (str(parquet_rows(folder, config, split)) if split in files else "–"), (config, split, cell)
    # sources (BibTeX), generator version and seed, disjointness
    for source in get_task(task).sources:
        assert f"`{source}`" in body
    assert body.count("@") >= len(get_task(task).sources) and "```bibtex" in body
    assert hf_reasoning.__version__ in body and "seed `0`" in body
    assert "## Disjoint splits" in body


# -- load_dataset of every config ----------------------------------------------------------------------

@pytest.mark.parametrize("task", TASKS)
def test_load_dataset_every_config(hub_dir, hf_home, task):
    import datasets

    datasets.disable_progress_bars()
    folder = hub_dir / task
    configs = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert configs
    for config in configs:
        ds = datasets.load_dataset(str(folder), config, cache_dir=str(hf_home / "datasets"))
        files = split_files(folder, config)
        assert set(ds) == set(files), (config, list(ds))
        for split, d in ds.items():
            assert d.column_names[:5] == HEAD_COLUMNS
            assert d.num_rows == parquet_rows(folder, config, split) > 0
            first = pq.read_table(folder / config / files[split][0]).slice(0, 1).to_pylist()[0]
            assert d[0] == first
            assert d.features["prompt"].dtype in ("string", "large_string")


def test_load_dataset_default_config(hub_dir, hf_home):
    import datasets

    folder = hub_dir / "cycles"
    default = next(c["config_name"] for c in card_yaml(folder)["configs"] if c.get("default"))
    ds = datasets.load_dataset(str(folder), cache_dir=str(hf_home / "datasets"))
    assert ds["train"].num_rows == parquet_rows(folder, default, "train")


# -- text rendering -------------------------------------------------------------------------------------

def reference(ids, vocab):
    ids = np.asarray(ids)
    ids = ids.reshape(ids.shape[0], int(np.prod(ids.shape[1:])))
    return [" ".join(vocab.tokens[i] for i in row if i >= 0) for row in ids]


MIXED = Vocab(["a", "bb", "é", "日本", "v123", "€", "ccc", "dddddd", "seven77", "eight888", "nine99999", "x", "🙂"])
ONE_BYTE = Vocab(list("0123456789=_:#."))
ONE_BYTE_LATE = Vocab(["long-token", "0", "1", "="])  # one-byte tokens after a multi-byte one
SAME_LEN = Vocab(["v001", "v002", "v003", "ab>;"])


@pytest.mark.parametrize("vocab", [MIXED, ONE_BYTE, ONE_BYTE_LATE, SAME_LEN], ids=["mixed", "one_byte", "late", "same_len"])
def test_render_fuzz_against_join(vocab):
    rng = np.random.default_rng(0)
    for trial in range(60):
        rows, width = int(rng.integers(1, 12)), int(rng.integers(1, 9))
        ids = rng.integers(0, len(vocab), size=(rows, width))
        if trial % 3:
            ids = np.where(rng.random(ids.shape) < 0.3, -1, ids)  # ragged rows, gaps anywhere
        if trial % 5 == 0:
            ids[rng.integers(0, rows)] = -1  # an empty row
        out = render(ids, vocab)
        assert out.to_pylist() == reference(ids, vocab), ids


@pytest.mark.parametrize("ids,expected", [
    (np.full((2, 3), -1), ["", ""]),                    # every row empty
    (np.full((1, 1), -1), [""]),
    (np.zeros((3, 0), dtype=np.int64), ["", "", ""]),    # no columns
    (np.zeros((0, 4), dtype=np.int64), []),              # no rows
    (np.array([[-1, -1], [0, 1], [-1, -1]]), ["", "a bb", ""]),
    (np.array([[3, -1, 2], [-1, 10, -1]]), ["日本 é", "nine99999"]),
    (np.array([[7, 8], [8, 7]]), ["dddddd seven77", "seven77 dddddd"]),  # 6/7-byte tokens, equal lengths per row only
    (np.array([[9, 9], [9, 12]]), ["eight888 eight888", "eight888 🙂"]),   # 8-byte and 4-byte tokens
])
def test_render_edge_cases(ids, expected):
    assert reference(ids, MIXED) == expected  # the expectation is what " ".join gives
    assert render(ids, MIXED).to_pylist() == expected


def test_render_three_dimensional_rows():
    ids = np.array([[[0, 1], [-1, 2]], [[4, -1], [-1, -1]]])
    assert render(ids, MIXED).to_pylist() == ["a bb é", "v123"]


def test_render_text_round_trips_to_tokens():
    rng = np.random.default_rng(1)
    ids = rng.integers(-1, len(MIXED), size=(50, 7))
    for text, row in zip(render(ids, MIXED).to_pylist(), ids):
        assert text.split() == [MIXED.tokens[i] for i in row if i >= 0]
        assert text == " ".join(text.split())


def test_vocab_rejects_whitespace_tokens():
    with pytest.raises(ValueError):
        Vocab(["a", "b c"])
    with pytest.raises(ValueError):
        Vocab(["a", ""])


COLUMNS = Vocab(["v001", "v002", ">", ";", "é", "dddddd"])


@pytest.mark.parametrize("vocab,ids", [
    (COLUMNS, [[0, 2, 1, 3], [1, 2, 0, 3]]),           # every column one length (graph edges)
    (COLUMNS, [[4, 5, 2], [4, 5, 3]]),                 # 2-, 6- and 1-byte columns
    (MIXED, [[4, 9, 0], [4, 9, 11]]),                   # with a token longer than 7 bytes
    (MIXED, [[10, 10], [10, 10]]),                      # 9-byte tokens only
    (ONE_BYTE_LATE, [[1, 2, 3], [2, 1, 3]]),            # one-byte ids after a multi-byte token
])
def test_render_fixed_layout_paths(vocab, ids):
    ids = np.array(ids)
    assert render(ids, vocab).to_pylist() == reference(ids, vocab)
    many = np.repeat(ids, 50, axis=0)
    assert render(many, vocab).to_pylist() == reference(many, vocab)


# -- datasets features in the Parquet files ---------------------------------------------------------

@pytest.mark.parametrize("task", TASKS)
def test_parquet_files_carry_exact_features(hub_dir, hf_home, task):
    """Each file's schema metadata holds the datasets features (key ``huggingface``), they match
    the file's Arrow schema, and ``load_dataset`` gives exactly those features back."""
    import json

    import datasets

    datasets.disable_progress_bars()
    folder = hub_dir / task
    config = sorted(p.name for p in folder.iterdir() if p.is_dir())[0]
    features = None
    for split, names in split_files(folder, config).items():
        for name in names:
            schema = pq.read_schema(folder / config / name)
            meta = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
            file_features = datasets.Features.from_dict(meta)
            assert file_features.arrow_schema.equals(schema.remove_metadata())
            assert list(file_features) == schema.names
            features = features or file_features
            assert file_features == features  # one feature set per config
    ds = datasets.load_dataset(str(folder), config, cache_dir=str(hf_home / "datasets"))
    assert all(d.features == features for d in ds.values())


def test_write_config_refuses_tables_without_features(tmp_path):
    from hf_reasoning.errors import HFReasoningError
    from hf_reasoning.hub import write_config
    from hf_reasoning.splits import build_config

    build = build_config("parity", "abbe2024-plain", "tiny", 0)
    build.tables = {s: t.replace_schema_metadata(None) for s, t in build.tables.items()}
    with pytest.raises(HFReasoningError) as err:
        write_config(build, tmp_path)
    assert "\n" not in str(err.value) and not list(tmp_path.iterdir())


def test_load_config_never_serves_another_folders_rows(tmp_path):
    """Two folders with the same name (two seeds), and one folder rebuilt: each load returns
    the rows of the Parquet files on disk (plain load_dataset would serve the first build)."""
    import pyarrow.parquet as pq

    from hf_reasoning.errors import HFReasoningError
    from hf_reasoning.hub import load_config, write_repo

    def first_prompt_on_disk(folder):
        return pq.read_table(sorted((folder / "laptop-plain").glob("train-*.parquet"))[0])["prompt"][0].as_py()

    a, b = tmp_path / "a" / "parity", tmp_path / "b" / "parity"
    write_repo("parity", a, scale="tiny", seed=0, configs=["laptop-plain"])
    write_repo("parity", b, scale="tiny", seed=1, configs=["laptop-plain"])
    assert first_prompt_on_disk(a) != first_prompt_on_disk(b)
    for folder in (a, b, a):
        assert load_config(folder, "laptop-plain")["train"][0]["prompt"] == first_prompt_on_disk(folder)
    write_repo("parity", a, scale="tiny", seed=1, configs=["laptop-plain"], overwrite=True)
    assert load_config(a, "laptop-plain")["train"][0]["prompt"] == first_prompt_on_disk(b)
    with pytest.raises(HFReasoningError, match="no-such-config"):
        load_config(a, "no-such-config")
