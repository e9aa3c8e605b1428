"""Typed configurations: dataclasses read from and written to JSON, with unknown keys refused by name.

A run writes its resolved configuration next to its outputs (pre-training data puts it in `metadata.json`), so every
result can be traced to the exact settings that made it.
"""

import dataclasses
import json
import typing
from typing import Any, Type, TypeVar

from electra_tf import io_utils

T = TypeVar("T")


def from_dict(cls: Type[T], raw: dict[str, Any], source: str = "<dict>") -> T:
    """Builds dataclass `cls` from a dict, recursing into nested dataclass fields.

    Raises:
        ValueError: naming `source` and the unknown keys, with the keys that are allowed.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: expected a JSON object for {cls.__name__}, but received {raw!r}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ValueError(
            f"{source}: unknown key(s) {unknown} for {cls.__name__}. Known keys: {sorted(fields)}."
        )
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in raw.items():
        field_type = hints[name]
        if dataclasses.is_dataclass(field_type):
            value = from_dict(field_type, value, f"{source}:{name}")
        values[name] = value
    return cls(**values)


def load(cls: Type[T], path: str) -> T:
    """Reads a JSON configuration file into dataclass `cls`."""
    return from_dict(cls, io_utils.read_json(path, "configuration file"), source=path)


def to_json(config: Any) -> str:
    return json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True) + "\n"


def save(config: Any, path: str) -> None:
    """Writes a configuration atomically."""
    io_utils.write_text_atomic(path, to_json(config))
