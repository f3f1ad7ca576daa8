"""hf_reasoning.text: every rendering path against a plain Python join of the tokens."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from hf_reasoning.text import Vocab, render, render_ragged, with_leading_space

# one-byte tokens first (render's fast path), then tokens of 2 to 11 bytes, then more one-byte ones
VOCAB = Vocab(["0", "1", "=", "ab", "v042", "999", "h400", "longer_tok1", ".", "#"])


def python_join(ids: np.ndarray) -> list[str]:
    return [" ".join(VOCAB.tokens[i] for i in row if i >= 0) for row in ids.reshape(len(ids), -1).tolist()]


@pytest.mark.parametrize("case", ["prefix_single_byte", "scattered_single_byte", "mixed", "gaps", "mostly_gaps", "3d"])
def test_render_matches_a_python_join(case):
    rng = np.random.default_rng(0)
    shape = (300, 4, 3) if case == "3d" else (300, 17)
    ids = {
        "prefix_single_byte": lambda: rng.integers(0, 3, shape),
        "scattered_single_byte": lambda: rng.choice([0, 1, 8, 9], shape),
        "mixed": lambda: rng.integers(0, len(VOCAB), shape),
        "gaps": lambda: np.where(rng.random(shape) < 0.3, -1, rng.integers(0, len(VOCAB), shape)),
        "mostly_gaps": lambda: np.where(rng.random(shape) < 0.95, -1, rng.integers(0, len(VOCAB), shape)),
        "3d": lambda: rng.integers(0, len(VOCAB), shape),
    }[case]()
    text = render(ids, VOCAB)
    assert text.type == pa.string()
    assert text.to_pylist() == python_join(ids)
    if case == "mostly_gaps":
        assert "" in text.to_pylist()  # rows without a token are empty strings


def test_render_edge_shapes():
    assert render(np.zeros((3, 0), dtype=np.int32), VOCAB).to_pylist() == ["", "", ""]
    assert render(np.full((2, 4), -1), VOCAB).to_pylist() == ["", ""]
    assert render(np.zeros((0, 5), dtype=np.int32), VOCAB).to_pylist() == []
    assert render(np.array([[7], [3]]), VOCAB).to_pylist() == ["longer_tok1", "ab"]


def test_render_ragged_matches_a_python_join():
    rng = np.random.default_rng(1)
    per_row = rng.integers(0, 6, 200)
    per_row[:3] = 0  # empty rows at the start, where the offsets begin
    tokens = rng.integers(0, len(VOCAB), int(per_row.sum()))
    bounds = np.concatenate([[0], np.cumsum(per_row)])
    expected = [" ".join(VOCAB.tokens[t] for t in tokens[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    given = tokens.copy()
    text = render_ragged(tokens, per_row, VOCAB)
    assert text.to_pylist() == expected
    assert (tokens == given).all()  # the caller's token array is left as it was


@pytest.mark.parametrize("type_", [pa.string(), pa.large_string()])
def test_with_leading_space_matches_a_python_join(type_):
    texts = ["1 0 .", "", ": [ 0 1 ] 1 , 1 .", "é ."]
    column = pa.array(["x", *texts], type_).slice(1)  # a slice: the buffers start before the rows
    spaced = with_leading_space(column)
    assert spaced.type == type_
    assert spaced.to_pylist() == [" " + t for t in texts]
