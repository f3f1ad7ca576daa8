"""The task registry: ``get_task(name)`` and ``TASKS``."""

from __future__ import annotations

from ..errors import check_choice
from .base import SCALES, Group, Instances, Scale, Task

TASKS: dict[str, Task] = {}


def register(task_class):
    TASKS[task_class.name] = task_class()
    return task_class


def get_task(name: str) -> Task:
    check_choice("task", name, TASKS)
    return TASKS[name]


from . import addition, algorithmic, boolean, boolean_and, graphs, multiplication, parity, pvr  # noqa: E402,F401  (registration side effect)

__all__ = ["TASKS", "SCALES", "Group", "Instances", "Scale", "Task", "get_task", "register"]
