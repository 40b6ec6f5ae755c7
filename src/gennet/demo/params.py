"""Query parameters of the demo's requests: parsed once, checked against declared ranges.

    q = Query("seed=3&n=16", allowed={"seed", "n"})
    q.integer("seed", 0, maximum=MAX_SEED)      # 3; "abc", "2.5", "-1" -> ConfigError (HTTP 400)

A parameter the endpoint does not take, or one given twice, is an error too: a request asks for
exactly what the page can set, and nothing names a file.

Layer: imports `errors` and `validation` only; `demo.actions` uses it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from ..errors import ConfigError
from ..validation import Range, check_count, check_number

MAX_SEED = 2**31 - 1  # what a page's number input and JavaScript's integers carry exactly
_INTEGER = re.compile(r"[+-]?\d{1,19}")


class Query:
    """The parameters of one request (`a=1&b=2`), limited to `allowed` names, each given once."""

    def __init__(self, text: str, allowed: set[str]):
        pairs = parse_qsl(text, keep_blank_values=True)
        self.values: dict[str, str] = {}
        for key, value in pairs:
            if key not in allowed:
                takes = ", ".join(sorted(allowed)) or "none"
                raise ConfigError(f"unknown parameter {key!r}; this request takes: {takes}")
            if key in self.values:
                raise ConfigError(f"parameter {key!r} is given twice")
            self.values[key] = value

    def text(self, name: str, default: str | None = None) -> str | None:
        """The raw value; an empty value counts as not given."""
        value = self.values.get(name, "")
        return value if value != "" else default

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        """A whole number in [minimum, maximum]; `default` when not given."""
        value = self.text(name)
        if value is None:
            return default
        if not _INTEGER.fullmatch(value.strip()):
            span = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise ConfigError(f"{name} must be a whole number {span}; got {value!r}")
        return check_count(name, int(value), minimum=minimum, maximum=maximum)

    def number(self, name: str, default: float, rng: Range) -> float:
        """A finite real number inside `rng`; `default` when not given."""
        value = self.text(name)
        if value is None:
            return default
        try:
            parsed = float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number {rng.describe()}; got {value!r}") from None
        return check_number(name, parsed, rng)

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        """One of `choices`; the first when not given."""
        value = self.text(name, choices[0])
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
        return value
