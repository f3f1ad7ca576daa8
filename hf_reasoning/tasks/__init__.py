"""The tasks: ``get_task(name)``, ``TASKS`` (name → task), and the types they share."""

from __future__ import annotations

from . import addition, algorithmic, boolean, boolean_and, graphs, multiplication, parity, pvr  # noqa: F401  (each registers its task)
from .base import SCALES, Group, Instances, Scale, Task
from .registry import TASKS, get_task, register

__all__ = ["TASKS", "SCALES", "Group", "Instances", "Scale", "Task", "get_task", "register"]
