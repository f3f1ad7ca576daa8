"""The task registry: every task module registers its class here; ``get_task(name)`` finds it.

A module of its own so that task modules import the registry without importing the package
that imports them (no import cycle).
"""

from __future__ import annotations

from ..errors import check_choice
from .base import Task

TASKS: dict[str, Task] = {}


def register(task_class):
    TASKS[task_class.name] = task_class()
    return task_class


def get_task(name: str) -> Task:
    check_choice("task", name, TASKS)
    return TASKS[name]
