"""Token matrices to Arrow text, without a per-row Python loop.

Every example is a sequence of tokens and its text is the tokens joined by single spaces
(TASKS.md §1). Tasks build integer matrices of token ids (``-1`` marks "no token here" and
may sit anywhere in a row, which lets ragged structures such as variable-length walks be
written into a fixed-shape tensor) and :func:`render` turns a matrix into an Arrow
``StringArray`` by writing the UTF-8 bytes straight into the Arrow buffers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

SPACE = ord(" ")


class Vocab:
    """The token list of a task: ``vocab.id[token]`` and the byte table used by :func:`render`."""

    def __init__(self, tokens: Iterable[str]):
        self.tokens: list[str] = list(dict.fromkeys(tokens))  # keep first occurrence order
        for token in self.tokens:
            if not token or any(ch.isspace() for ch in token):
                raise ValueError(f"token {token!r} is empty or contains whitespace")
        self.id: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        encoded = [t.encode() for t in self.tokens]
        self.lengths = np.array([len(b) for b in encoded], dtype=np.int64)
        self.table = np.zeros((len(encoded), int(self.lengths.max())), dtype=np.uint8)
        for i, b in enumerate(encoded):
            self.table[i, : len(b)] = np.frombuffer(b, dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, token: str) -> int:
        return self.id[token]

    def ids(self, tokens: Iterable[str]) -> np.ndarray:
        return np.array([self.id[t] for t in tokens], dtype=np.int32)


def render(ids: np.ndarray, vocab: Vocab) -> pa.StringArray:
    """Join the tokens of each row of ``ids`` (``-1`` = skip) with single spaces."""
    ids = np.asarray(ids)
    rows = ids.shape[0]
    ids = ids.reshape(rows, -1)
    if ids.size == 0:
        return pa.array([""] * rows, type=pa.string())
    valid = ids >= 0
    if valid.all() and (vocab.lengths[np.unique(ids)] == 1).all():
        return _render_single_char(ids, vocab)
    flat = ids[valid]
    tokens_per_row = valid.sum(axis=1)
    row_end_token = np.cumsum(tokens_per_row)
    first_of_row = np.zeros(flat.size, dtype=bool)
    first_of_row[(row_end_token - tokens_per_row)[tokens_per_row > 0]] = True
    token_len = vocab.lengths[flat]
    # every token but the first of its row is preceded by one space
    byte_len = token_len + ~first_of_row
    token_end = np.cumsum(byte_len)
    token_start = token_end - byte_len
    data = np.empty(int(token_end[-1]) if flat.size else 0, dtype=np.uint8)
    data[token_start[~first_of_row]] = SPACE
    char_start = token_start + ~first_of_row
    if (token_len == token_len[0]).all():
        for j in range(int(token_len[0])):
            data[char_start + j] = vocab.table[flat, j]
    else:
        for j in range(vocab.table.shape[1]):
            has = token_len > j
            data[char_start[has] + j] = vocab.table[flat[has], j]
    offsets = np.zeros(rows + 1, dtype=np.int64)
    nonempty = row_end_token > 0
    offsets[1:][nonempty] = token_end[row_end_token[nonempty] - 1]
    return _string_array(rows, offsets, data)


def _render_single_char(ids: np.ndarray, vocab: Vocab) -> pa.StringArray:
    """Fast path: every token is one byte and every slot is filled (e.g. plain parity)."""
    rows, width = ids.shape
    stride = 2 * width - 1
    data = np.full((rows, stride), SPACE, dtype=np.uint8)
    data[:, 0::2] = vocab.table[ids, 0]
    offsets = np.arange(rows + 1, dtype=np.int64) * stride
    return _string_array(rows, offsets, data.reshape(-1))


def _string_array(rows: int, offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    if offsets[-1] < 2**31 - 1:
        return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data))
    return pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))


def list_array(values: np.ndarray, type_: pa.DataType | None = None) -> pa.Array:
    """A ``list<…>`` column from a 2-D array (one list per row), built from its buffers."""
    values = np.asarray(values)
    rows = values.shape[0]
    width = int(np.prod(values.shape[1:], dtype=np.int64)) if values.ndim > 1 else 1
    offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * width)
    flat = pa.array(values.reshape(-1), type=type_)
    return pa.ListArray.from_arrays(offsets, flat)


def ragged_list_array(values: np.ndarray, type_: pa.DataType | None = None) -> pa.Array:
    """A ``list<…>`` column from a 2-D array whose ``-1`` entries are dropped."""
    values = np.asarray(values)
    valid = values >= 0
    offsets = np.zeros(values.shape[0] + 1, dtype=np.int32)
    np.cumsum(valid.sum(axis=1), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values[valid], type=type_))
