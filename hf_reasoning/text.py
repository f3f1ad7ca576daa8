"""Token matrices to Arrow text, without a per-row Python loop.

Every example is a sequence of tokens and its text is the tokens joined by single spaces
(docs/formats.md). Tasks build integer matrices of token ids (``-1`` marks "no token here" and
may sit anywhere in a row, which lets ragged structures such as variable-length walks be
written into a fixed-shape tensor) and :func:`render` turns a matrix into an Arrow
``StringArray`` (:func:`render_ragged` does the same for rows given as one flat token array):
one Arrow ``take`` of the tokens' strings writes the whole text buffer, and the row offsets
are read off the tokens' offsets.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SPACE = ord(" ")


class Vocab:
    """The token list of a task: ``vocab.id[token]`` and the string tables used by :func:`render`."""

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
        # one-byte tokens (the fast path of render); every id below the prefix is one
        self.single_byte = self.lengths == 1
        multi = np.flatnonzero(~self.single_byte)
        self.single_byte_prefix = int(multi[0]) if multi.size else len(self.tokens)
        # every token followed by a space, then every token bare (a row's last): render's take table
        spaced_then_bare = [t + " " for t in self.tokens] + self.tokens
        self.strings = pa.array(spaced_then_bare, pa.string())
        self.large_strings = pa.array(spaced_then_bare, pa.large_string())

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
        return constant_strings("", rows)
    if ids.min() >= 0:
        # all one-byte tokens: the prefix bound, else a look at the first column, then at all
        if ids.max() < vocab.single_byte_prefix or (vocab.single_byte[ids[:, 0]].all()
                                                    and vocab.single_byte[ids].all()):
            return _render_single_char(ids, vocab)
        return render_ragged(ids.reshape(-1), np.full(rows, ids.shape[1]), vocab)
    valid = ids >= 0
    return render_ragged(ids[valid], valid.sum(axis=1), vocab)


def render_ragged(tokens: np.ndarray, tokens_per_row: np.ndarray, vocab: Vocab) -> pa.StringArray:
    """Rows given as one flat array of token ids (row after row) and each row's token count,
    joined by single spaces (no padded (rows, longest row) matrix needed).

    One Arrow ``take`` from the vocabulary's strings — every token followed by a space, then
    every token bare, which a row's last token takes — writes the rows' texts back to back,
    so that buffer is the text column and the row boundaries are every row's last token end."""
    tokens_per_row = np.asarray(tokens_per_row)
    rows = tokens_per_row.shape[0]
    row_end = np.cumsum(tokens_per_row)
    picks = np.array(tokens, dtype=np.int32)  # a copy: the last token of each row is redirected
    picks[row_end[tokens_per_row > 0] - 1] += len(vocab.tokens)
    # int32 offsets hold at most 2 GiB of text; above that bound take from the large_string table
    table = vocab.strings if picks.size * (vocab.table.shape[1] + 1) < 2**31 else vocab.large_strings
    token_text = table.take(pa.array(picks))
    _, token_offsets, data = token_text.buffers()
    token_end = np.frombuffer(token_offsets, dtype=np.int32 if table is vocab.strings else np.int64,
                              count=picks.size + 1)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    offsets[1:] = token_end[row_end]
    return string_array(rows, offsets, data)


def _render_single_char(ids: np.ndarray, vocab: Vocab) -> pa.StringArray:
    """Fast path: every token is one byte and every slot is filled (e.g. plain parity)."""
    rows, width = ids.shape
    stride = 2 * width - 1
    data = np.full((rows, stride), SPACE, dtype=np.uint8)
    data[:, 0::2] = vocab.table[:, 0][ids]
    offsets = np.arange(rows + 1, dtype=np.int64) * stride
    return string_array(rows, offsets, data.reshape(-1))


def string_array(rows: int, offsets: np.ndarray, data: np.ndarray | pa.Buffer) -> pa.Array:
    """A string column from its row offsets (any integer array, starting at 0) and its bytes;
    a ``large_string`` column once the text passes int32 offsets."""
    if not isinstance(data, pa.Buffer):
        data = pa.py_buffer(data)
    if offsets[-1] < 2**31 - 1:
        return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets.astype(np.int32)), data)
    return pa.LargeStringArray.from_buffers(rows, pa.py_buffer(np.ascontiguousarray(offsets, dtype=np.int64)), data)


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


def with_leading_space(texts: pa.Array) -> pa.Array:
    """``" " + text`` for every row, in one Arrow kernel (the ``completion`` column: a leading
    space makes ``prompt + completion`` the training text, which is how TRL's ``SFTTrainer``
    joins prompt-completion rows; docs/formats.md)."""
    space, nothing = pa.scalar(" ", texts.type), pa.scalar("", texts.type)
    return pc.binary_join_element_wise(space, texts, nothing)


def constant_strings(value: str, rows: int) -> pa.Array:
    """A string column repeating one value (without a Python list of ``rows`` strings)."""
    encoded = np.frombuffer(value.encode(), dtype=np.uint8)
    offsets = np.arange(rows + 1, dtype=np.int64) * encoded.size
    return string_array(rows, offsets, np.tile(encoded, rows))
