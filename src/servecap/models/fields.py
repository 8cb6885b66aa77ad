"""Typed reads of config.json values: a wrong type or an out-of-range value is a ConfigError."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

# Far above any real size (vocabularies, positions, widths); vLLM keeps most of them in int32.
MAX_SIZE = 2**31 - 1
# Far above any published model; it also bounds the per-layer lists built from the count.
MAX_LAYERS = 10_000

_FIX = "fix the value or pass the original config.json"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Fields:
    """A config.json object, or one nested in it, read with type and range checks.

    `first_*` readers take the first of the keys that is not None (a zero is a value);
    `*_or` readers read like `cfg.get(a) or cfg.get(b) or default`: None, zero and empty
    values count as unset. A set value of the wrong type is an error either way.
    """

    data: Mapping[str, Any]
    name: str  # the model, for messages
    prefix: str = ""  # "quantization_config." for a nested object

    def first(self, *keys: str) -> tuple[str, Any] | None:
        """The first of keys whose value is not None, with that key."""
        for key in keys:
            value = self.data.get(key)
            if value is not None:
                return key, value
        return None

    def invalid(self, key: str, value: Any, expected: str) -> ConfigError:
        """The error for a value out of range or of the wrong shape."""
        return self._error(key, value, f"expected {expected}")

    def _wrong_type(self, key: str, value: Any, expected: str) -> ConfigError:
        return self._error(key, value, f"wrong type or shape: expected {expected}")

    def _error(self, key: str, value: Any, why: str) -> ConfigError:
        return ConfigError(
            f"config.json of {self.name} has an invalid {self.prefix + key!r}: {_show(value)} "
            f"({why})",
            _FIX,
        )

    def _whole(self, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong_type(key, value, "a whole number")
        if isinstance(value, float) and not value.is_integer():  # 36.5, NaN, infinities
            raise self._wrong_type(key, value, "a whole number")
        return int(value)

    def _within(self, key: str, number: int, minimum: int, maximum: int) -> int:
        if not minimum <= number <= maximum:
            raise self.invalid(key, number, f"a whole number from {minimum} to {maximum:,}")
        return number

    def need_int(self, *keys: str, minimum: int = 1, maximum: int = MAX_SIZE) -> int:
        """The first of keys that is set, as an int; a missing value is an error."""
        found = self.first(*keys)
        if found is None:
            raise ConfigError(
                f"config.json of {self.name} has no {self.prefix + keys[0]!r}",
                "pass the model's complete config.json (as published on the Hub)",
            )
        key, value = found
        return self._within(key, self._whole(key, value), minimum, maximum)

    def first_int(self, *keys: str, default: int, minimum: int = 1, maximum: int = MAX_SIZE) -> int:
        """The first of keys that is not None, as an int, else default."""
        found = self.first(*keys)
        if found is None:
            return default
        key, value = found
        return self._within(key, self._whole(key, value), minimum, maximum)

    def opt_int(self, *keys: str, minimum: int = 1, maximum: int = MAX_SIZE) -> int | None:
        """The first of keys that is set and not zero, as an int, else None."""
        for key in keys:
            value = self.data.get(key)
            if value is None:
                continue
            number = self._whole(key, value)
            if number:
                return self._within(key, number, minimum, maximum)
        return None

    def int_or(self, *keys: str, default: int, minimum: int = 1, maximum: int = MAX_SIZE) -> int:
        """The first of keys that is set and not zero, as an int, else default."""
        number = self.opt_int(*keys, minimum=minimum, maximum=maximum)
        return default if number is None else number

    def float_or(self, *keys: str, default: float, maximum: float = MAX_SIZE) -> float:
        """The first of keys that is set and not zero, as a finite float in (0, maximum]."""
        for key in keys:
            value = self.data.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self._wrong_type(key, value, "a number")
            if value == 0:
                continue
            if not (math.isfinite(value) and 0 < value <= maximum):
                raise self.invalid(key, value, f"a number above 0 and at most {maximum:,}")
            return float(value)
        return default

    def first_str(self, *keys: str, default: str) -> str:
        """The first of keys that is not None, as a string, else default."""
        found = self.first(*keys)
        if found is None:
            return default
        key, value = found
        if not isinstance(value, str):
            raise self._wrong_type(key, value, "a string")
        return value

    def str_or(self, *keys: str, default: str) -> str:
        """The first of keys that is a non-empty string, else default."""
        for key in keys:
            value = self.data.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise self._wrong_type(key, value, "a string")
            if value:
                return value
        return default

    def _list_or(self, keys: tuple[str, ...]) -> tuple[str, list[Any]] | None:
        for key in keys:
            value = self.data.get(key)
            if value is None:
                continue
            if not isinstance(value, list):
                raise self._wrong_type(key, value, "a list")
            if value:
                return key, value
        return None

    def str_list_or(self, *keys: str) -> list[str]:
        """The first of keys that is a non-empty list, whose entries must be strings; else []."""
        found = self._list_or(keys)
        if found is None:
            return []
        key, items = found
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self._wrong_type(f"{key}[{i}]", item, "a string")
        return items

    def int_list_or(self, *keys: str, minimum: int = 0, maximum: int = MAX_SIZE) -> list[int]:
        """The first of keys that is a non-empty list, whose entries must be ints; else []."""
        found = self._list_or(keys)
        if found is None:
            return []
        key, items = found
        return [
            self._within(f"{key}[{i}]", self._whole(f"{key}[{i}]", item), minimum, maximum)
            for i, item in enumerate(items)
        ]

    def _nested(self, key: str, value: Any) -> Fields:
        if not isinstance(value, Mapping):
            raise self._wrong_type(key, value, "an object")
        return Fields(value, self.name, f"{self.prefix}{key}.")

    def first_mapping(self, *keys: str) -> Fields | None:
        """The first of keys that is not None, as a nested object (empty ones included)."""
        found = self.first(*keys)
        return None if found is None else self._nested(*found)

    def mapping_or(self, *keys: str) -> Fields | None:
        """The first of keys that is a non-empty object, else None."""
        for key in keys:
            value = self.data.get(key)
            if value is None:
                continue
            nested = self._nested(key, value)
            if nested.data:
                return nested
        return None
