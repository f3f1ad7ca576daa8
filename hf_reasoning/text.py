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
        # ids below this are all one-byte tokens (the fast path of render)
        multi = np.flatnonzero(self.lengths != 1)
        self.single_byte_prefix = int(multi[0]) if multi.size else len(self.tokens)
        # each token followed by a space (render's column path)
        self.table_trailing = np.zeros((len(encoded), self.table.shape[1] + 1), dtype=np.uint8)
        self.table_trailing[:, : self.table.shape[1]] = self.table
        self.table_trailing[np.arange(len(encoded)), self.lengths] = SPACE
        # each token as one 8-byte word, with and without a leading space (render's word path)
        if self.table.shape[1] <= 7:
            spaced = np.zeros((len(encoded), 8), dtype=np.uint8)
            spaced[:, 0] = SPACE
            spaced[:, 1: 1 + self.table.shape[1]] = self.table
            bare = np.zeros((len(encoded), 8), dtype=np.uint8)
            bare[:, : self.table.shape[1]] = self.table
            self.words_spaced = spaced.view(np.uint64).reshape(-1)
            self.words_bare = bare.view(np.uint64).reshape(-1)
            self.words_trailing = np.ascontiguousarray(self.table_trailing[:, :8] if self.table_trailing.shape[1] >= 8 else
                                                       np.pad(self.table_trailing, ((0, 0), (0, 8 - self.table_trailing.shape[1])))
                                                       ).view(np.uint64).reshape(-1)
        else:
            self.words_spaced = self.words_bare = self.words_trailing = None

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
    ids = ids.reshape(rows, int(np.prod(ids.shape[1:], dtype=np.int64)))
    if ids.size == 0:
        return pa.array([""] * rows, type=pa.string())
    if ids.min() >= 0:
        if ids.max() < vocab.single_byte_prefix:
            return _render_single_char(ids, vocab)
        lengths = vocab.lengths[ids]
        if (lengths == lengths[0]).all():  # every column holds tokens of one length
            return _render_columns(ids, vocab, lengths[0])
        if vocab.words_trailing is not None:
            return _render_dense(ids, vocab, lengths)
    valid = ids >= 0
    flat = ids[valid]
    tokens_per_row = valid.sum(axis=1)
    row_end_token = np.cumsum(tokens_per_row)
    first_of_row = np.zeros(flat.size, dtype=bool)
    first_of_row[(row_end_token - tokens_per_row)[tokens_per_row > 0]] = True
    # every token but the first of its row is preceded by one space
    byte_len = vocab.lengths[flat] + ~first_of_row
    token_end = np.cumsum(byte_len)
    if vocab.words_spaced is not None:
        # each token (with its space) is one 8-byte word; keep the first byte_len bytes of each
        words = np.where(first_of_row, vocab.words_bare[flat], vocab.words_spaced[flat])
        keep = np.arange(8)[None, :] < byte_len[:, None]
        data = words.view(np.uint8).reshape(-1, 8)[keep]
    else:
        token_start = token_end - byte_len
        data = np.empty(int(token_end[-1]) if flat.size else 0, dtype=np.uint8)
        data[token_start[~first_of_row]] = SPACE
        char_start = token_start + ~first_of_row
        token_len = vocab.lengths[flat]
        for j in range(vocab.table.shape[1]):
            has = token_len > j
            data[char_start[has] + j] = vocab.table[flat[has], j]
    offsets = np.zeros(rows + 1, dtype=np.int64)
    nonempty = row_end_token > 0
    offsets[1:][nonempty] = token_end[row_end_token[nonempty] - 1]
    offsets[1:][~nonempty] = 0
    np.maximum.accumulate(offsets, out=offsets)  # an empty row ends where the previous one did
    return _string_array(rows, offsets, data)


def _render_single_char(ids: np.ndarray, vocab: Vocab) -> pa.StringArray:
    """Fast path: every token is one byte and every slot is filled (e.g. plain parity)."""
    rows, width = ids.shape
    stride = 2 * width - 1
    data = np.full((rows, stride), SPACE, dtype=np.uint8)
    data[:, 0::2] = vocab.table[:, 0][ids]
    offsets = np.arange(rows + 1, dtype=np.int64) * stride
    return _string_array(rows, offsets, data.reshape(-1))


def _render_dense(ids: np.ndarray, vocab: Vocab, lengths: np.ndarray) -> pa.StringArray:
    """No gaps, mixed token lengths (e.g. numbers 0..999): each token with its trailing space
    is one 8-byte word; one boolean mask keeps its bytes (no space after a row's last)."""
    rows, width = ids.shape
    keep_bytes = lengths + 1
    keep_bytes[:, -1] -= 1
    keep = np.arange(8)[None, None, :] < keep_bytes[:, :, None]
    data = vocab.words_trailing[ids].view(np.uint8).reshape(rows, width, 8)[keep]
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(keep_bytes.sum(axis=1), out=offsets[1:])
    return _string_array(rows, offsets, data)


def _render_columns(ids: np.ndarray, vocab: Vocab, token_len: np.ndarray) -> pa.StringArray:
    """Fast path: no gaps and each column's tokens share one byte length (e.g. `v123 > v456 ;`),
    so every row has the same byte layout: one gather of 8-byte token words, then one
    take of the bytes that layout keeps."""
    rows, width = ids.shape
    slot = token_len + 1  # a token and the space after it
    if vocab.words_trailing is None:
        column = np.repeat(np.arange(width), slot)[:-1]
        within = np.arange(column.size) - np.repeat(np.cumsum(slot) - slot, slot)[:-1]
        data = vocab.table_trailing[ids[:, column], within]
    else:
        byte_index = (np.repeat(np.arange(width) * 8, slot) + np.concatenate([np.arange(n) for n in slot]))[:-1]
        data = np.take(vocab.words_trailing[ids].view(np.uint8).reshape(rows, width * 8), byte_index, axis=1)
    offsets = np.arange(rows + 1, dtype=np.int64) * data.shape[1]
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


def digit_strings(digits: np.ndarray) -> pa.Array:
    """One string per row of a matrix of small non-negative integers, each written as the
    character ``chr(ord("0") + value)`` (digits; letters with an offset), without spaces."""
    digits = np.asarray(digits)
    if digits.ndim == 1:
        digits = digits[:, None]
    rows, width = digits.shape
    data = (digits.astype(np.int16) + ord("0")).astype(np.uint8).reshape(-1)
    offsets = np.arange(rows + 1, dtype=np.int32) * width
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))


def constant_strings(value: str, rows: int) -> pa.Array:
    """A string column repeating one value (without a Python list of ``rows`` strings)."""
    encoded = np.frombuffer(value.encode(), dtype=np.uint8)
    offsets = np.arange(rows + 1, dtype=np.int64) * encoded.size
    return _string_array(rows, offsets, np.tile(encoded, rows))
