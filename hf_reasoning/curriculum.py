"""The degree curriculum of abbe2023 and the epochs of train-head: which rows an epoch trains on, in which order, and when training moves on or stops.

Level r allows the rows whose ±1 input has at most r entries equal to -1; the level grows by
``leap`` whenever an epoch's average training loss falls below ``eps``, until r >= d (every
row). :class:`EpochEnd` is the engine's end-of-epoch hook: it raises the level, and stops the
run early (``--early_stop_loss``) at the first whole-set epoch with a loss below the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine import LoopState, epoch_seed


def hamming_weights(x: np.ndarray) -> np.ndarray:
    """Number of -1 entries of each row of a ±1 matrix."""
    return (np.asarray(x) < 0).sum(axis=1)


def curriculum_mask(x: np.ndarray, level: int) -> np.ndarray:
    """Rows allowed at curriculum level r: at most r entries equal to -1."""
    return hamming_weights(x) <= level


@dataclass
class DegreeCurriculum:
    """abbe2023's Degree-Curriculum: level r starts at ``leap`` (raised further while no row is
    allowed) and grows by ``leap`` whenever an epoch's average loss is below ``eps``; complete
    once r >= d, when every row is allowed."""

    d: int
    leap: int
    eps: float
    level: int = 0

    def start(self, x: np.ndarray) -> None:
        self.level = self.leap
        while not curriculum_mask(x, self.level).any() and not self.complete:
            self.level += self.leap

    @property
    def complete(self) -> bool:
        return self.level >= self.d

    def allowed(self, x: np.ndarray) -> np.ndarray:
        return np.ones(x.shape[0], dtype=bool) if self.complete else curriculum_mask(x, self.level)

    def update(self, epoch_loss: float) -> bool:
        """Raise the level after an epoch with loss below eps; True if it was raised."""
        if self.complete or not epoch_loss < self.eps:
            return False
        self.level += self.leap
        return True


def epoch_order(allowed: np.ndarray, seed: int, epoch: int, global_batch: int) -> np.ndarray:
    """One epoch over the ``allowed`` row indices: a seeded permutation cut to whole global
    batches (at least one; rows repeat when fewer than a batch are allowed)."""
    order = np.random.default_rng(epoch_seed(seed, epoch)).permutation(allowed)
    steps = max(1, len(order) // global_batch)
    if len(order) < global_batch:
        order = np.resize(order, global_batch)
    return order[: steps * global_batch].reshape(steps, global_batch)


@dataclass
class EpochEnd:
    """What happens after each epoch of train-head (the engine's ``end_of_epoch`` hook): log the
    epoch's loss, raise the curriculum level, or stop early. Its state goes into checkpoints."""

    curriculum: DegreeCurriculum | None
    early_stop_loss: float | None
    x: np.ndarray | None  # the ±1 training inputs (curriculum rows)
    levels: list[dict] = field(default_factory=list)  # {"step", "level"} each time the level changed
    last_epoch_loss: float | None = None
    stopped_early: int | None = None  # the step early stopping ended the run at

    def __call__(self, state: LoopState, epoch_loss: float) -> dict:
        self.last_epoch_loss = epoch_loss
        row = {"train/epoch": state.epoch, "train/epoch_loss": epoch_loss}
        if self.curriculum is not None and self.curriculum.update(epoch_loss):
            self.levels.append({"step": state.completed_steps, "level": self.curriculum.level})
            row.update({"curriculum/level": self.curriculum.level, "curriculum/rows": int(self.curriculum.allowed(self.x).sum())})
        elif self.early_stop_loss is not None and epoch_loss < self.early_stop_loss and (
                self.curriculum is None or self.curriculum.complete):
            self.stopped_early = state.completed_steps
            state.stopped = True
        return row

    def allowed_rows(self, n: int) -> np.ndarray:
        """The row indices the current epoch trains on."""
        return np.flatnonzero(self.curriculum.allowed(self.x)) if self.curriculum else np.arange(n)

    def state_dict(self) -> dict:
        return {"level": self.curriculum.level if self.curriculum else None, "levels": self.levels,
                "last_epoch_loss": self.last_epoch_loss, "stopped_early": self.stopped_early}

    def load_state_dict(self, state: dict) -> None:
        if self.curriculum is not None:
            self.curriculum.level = state["level"]
        self.levels, self.last_epoch_loss, self.stopped_early = state["levels"], state["last_epoch_loss"], state["stopped_early"]
