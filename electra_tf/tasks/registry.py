"""The task registry: GLUE built in, and users' own tasks added without editing package code.

Add a task from Python with `register(Task(...))`, or describe it in a JSON file and pass the file's path wherever a
task name goes (`bin/finetune --task=path/to/my_task.json`). The JSON holds `Task`'s fields, with `labelled`,
`unlabelled` and `split_columns` as objects of `Columns`' fields:

    {"name": "reviews", "kind": "classification", "labels": ["neg", "pos"], "metrics": ["accuracy", "f1"],
     "delimiter": ",", "files": {"train": "train.csv", "dev": "dev.csv"},
     "labelled": {"text_a": 0, "label": 1, "num_columns": 2, "header": true}}

Names are matched without regard to case, "-" or "_", so "SST-2", "sst2" and "sst_2" are one task.
"""

import os

from electra_tf import config_io, io_utils
from electra_tf.tasks.glue import GLUE_TASKS
from electra_tf.tasks.task import Columns, Task

_TASKS: dict = {}


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def register(task: Task, overwrite: bool = False) -> Task:
    """Adds `task` under its name; refuses to replace a registered task unless `overwrite`."""
    key = _key(task.name)
    if key in _TASKS and not overwrite:
        raise ValueError(f"A task named {task.name!r} is already registered; pass overwrite=True to replace it.")
    _TASKS[key] = task
    return task


def names() -> list:
    return sorted(task.name for task in _TASKS.values())


def get(name_or_path: str) -> Task:
    """Returns the task registered as `name_or_path`, or loads it from a JSON file when given a path to one."""
    if name_or_path.endswith(".json") or os.sep in name_or_path:
        return load_task_file(name_or_path)
    key = _key(name_or_path)
    if key not in _TASKS:
        raise ValueError(
            f"Unknown task {name_or_path!r}. Known tasks: {', '.join(names())}; or pass the path of a task JSON file "
            "(see electra_tf/tasks/registry.py)."
        )
    return _TASKS[key]


def task_from_dict(raw: dict, source: str = "<dict>") -> Task:
    """Builds a `Task` from JSON-style values; unknown keys are refused by name."""
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: a task is a JSON object, not {raw!r}.")
    raw = dict(raw)
    if raw.get("unlabelled") is not None:  # `labelled` is a plain dataclass field, which from_dict converts itself.
        raw["unlabelled"] = config_io.from_dict(Columns, raw["unlabelled"], f"{source}:unlabelled")
    if raw.get("split_columns") is not None:
        raw["split_columns"] = {
            split: config_io.from_dict(Columns, value, f"{source}:split_columns:{split}")
            for split, value in raw["split_columns"].items()
        }
    for key in ("labels", "metrics"):
        if key in raw:
            raw[key] = tuple(raw[key])
    try:
        return config_io.from_dict(Task, raw, source)
    except TypeError as e:  # A required field is missing.
        raise ValueError(f"{source}: {e}.") from None


def load_task_file(path: str) -> Task:
    """Reads a task JSON file (see the module docstring)."""
    return task_from_dict(io_utils.read_json(path, "task file"), path)


for _task in GLUE_TASKS:
    register(_task)
