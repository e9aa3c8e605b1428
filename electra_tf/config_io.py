"""Typed configurations: dataclasses read from and written to JSON, with unknown keys and mistyped values refused by
name.

A run writes its resolved configuration next to its outputs (pre-training data puts it in `metadata.json`), so every
result can be traced to the exact settings that made it.
"""

import dataclasses
import json
import typing
from typing import Any, Type, TypeVar

from electra_tf import io_utils

T = TypeVar("T")


_TYPE_NAMES = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    tuple: "a list",
    list: "a list",
    dict: "a JSON object",
}


def _check_type(value: Any, hint: Any, where: str) -> Any:
    """Returns `value` (a JSON list made a tuple where the field is one) if it has the type `hint` asks for.

    Only the plain types JSON can hold are checked (and `Optional` of them); other hints pass through unchecked.

    Raises:
        ValueError: naming `where`, the expected type and the value.
    """
    if typing.get_origin(hint) is typing.Union:
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if value is None and len(args) < len(typing.get_args(hint)):
            return value
        if len(args) != 1:
            return value
        hint = args[0]
    if hint not in _TYPE_NAMES:
        return value
    if hint is bool:
        valid = isinstance(value, bool)
    elif hint is int:
        valid = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        valid = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif hint in (tuple, list):
        valid = isinstance(value, (list, tuple))
        value = hint(value) if valid else value
    else:
        valid = isinstance(value, hint)
    if not valid:
        fix = " Write it without quotes." if isinstance(value, str) and hint in (bool, int, float) else ""
        raise ValueError(f"{where}: expected {_TYPE_NAMES[hint]}, but received {value!r}.{fix}")
    return value


def from_dict(cls: Type[T], raw: dict[str, Any], source: str = "<dict>") -> T:
    """Builds dataclass `cls` from a dict, recursing into nested dataclass fields.

    Raises:
        ValueError: naming `source` and the unknown keys, with the keys that are allowed; or naming the key whose
            value has the wrong type (a string where a number belongs, say).
    """
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: expected a JSON object for {cls.__name__}, but received {raw!r}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {unknown} for {cls.__name__}. Known keys: {sorted(fields)}.")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in raw.items():
        field_type = hints[name]
        if dataclasses.is_dataclass(field_type):
            value = from_dict(field_type, value, f"{source}:{name}")
        else:
            value = _check_type(value, field_type, f"{source}:{name}")
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
