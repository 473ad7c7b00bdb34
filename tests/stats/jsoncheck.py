"""Assertions that statistics are strictly JSON-safe."""

from __future__ import annotations

import json
import math

import orjson


def assert_strict_json(value) -> bytes:
    """Fail unless `value` holds only dict/list/str/int/float/bool/None, no NaN/inf, and both
    orjson and json (allow_nan=False) serialise it. Returns the orjson bytes."""
    _walk(value, "$")
    json.dumps(value, allow_nan=False)
    return orjson.dumps(value)


def _walk(value, path: str) -> None:
    if value is None or type(value) in (str, bool, int):
        return
    if type(value) is float:
        assert math.isfinite(value), f"{path} is {value}"
        return
    if type(value) is list:
        for k, item in enumerate(value):
            _walk(item, f"{path}[{k}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            assert type(key) is str, f"{path} has key {key!r}"
            _walk(item, f"{path}.{key}")
        return
    raise AssertionError(f"{path} has a {type(value).__name__}: {value!r}")
