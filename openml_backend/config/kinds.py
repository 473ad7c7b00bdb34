"""Kinds of settings: how one variable's text becomes a value, and the bounds it must keep.

Every kind raises `ConfigError` with one line that names the variable and never echoes a
database password.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


class Kind:
    """The type of a setting. `coerce` accepts the variable's text or an already typed value
    (a test's override) and returns the value, or raises ConfigError naming the variable."""

    description = "text"

    def coerce(self, name: str, value: Any) -> Any:
        return self.parse(name, value) if isinstance(value, str) else self.check(name, value)

    def parse(self, name: str, text: str) -> Any:
        return self.check(name, text)

    def check(self, name: str, value: Any) -> Any:
        return value

    def show(self, value: Any) -> str:
        """The value as the docs table writes it."""
        return f"`{value}`"


@dataclass(frozen=True)
class Text(Kind):
    """Any text; `rstrip` characters are removed from its end (base URLs lose a final /)."""

    rstrip: str = ""

    def check(self, name: str, value: Any) -> str:
        return str(value).rstrip(self.rstrip) if self.rstrip else str(value)


@dataclass(frozen=True)
class Integer(Kind):
    """A whole number within [minimum, maximum] (either end may be open)."""

    minimum: int | None = None
    maximum: int | None = None

    @property
    def description(self) -> str:  # type: ignore[override]
        return "integer" + _bounds(self.minimum, self.maximum)

    def parse(self, name: str, text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise ConfigError(f"{name} must be an integer (got {text!r})") from None
        return self.check(name, number)

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer (got {value!r})")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ConfigError(f"{name} must be{_bounds(self.minimum, self.maximum)} (got {value})")
        return value


@dataclass(frozen=True)
class Number(Kind):
    """A finite number strictly above `above`."""

    above: float = 0.0

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"number > {self.above:g}"

    def parse(self, name: str, text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{name} must be a number (got {text!r})") from None
        return self.check(name, number)

    def check(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} must be a number (got {value!r})")
        if not math.isfinite(value) or not value > self.above:
            raise ConfigError(f"{name} must be a finite number above {self.above:g} (got {value!r})")
        return float(value)

    def show(self, value: Any) -> str:
        return f"`{value:g}`"


_TRUE = ("True", "true", "1")
_FALSE = ("False", "false", "0")


class Boolean(Kind):
    """True or False, written exactly True, False, true, false, 1 or 0."""

    description = "boolean"

    def parse(self, name: str, text: str) -> bool:
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{name} must be one of {', '.join(_TRUE + _FALSE)} (got {text!r})")

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be True or False (got {value!r})")
        return value


@dataclass(frozen=True)
class OneOf(Kind):
    """One of a fixed set of words; `upper` accepts any case and stores upper case."""

    choices: tuple[str, ...]
    upper: bool = False

    @property
    def description(self) -> str:  # type: ignore[override]
        return " \\| ".join(self.choices)

    def check(self, name: str, value: Any) -> str:
        word = str(value).upper() if self.upper else str(value)
        if word not in self.choices:
            raise ConfigError(f"{name} must be one of {', '.join(self.choices)} (got {value!r})")
        return word


@dataclass(frozen=True)
class CommaList(Kind):
    """Comma-separated items, blanks dropped; `networks` requires each to be an IP network."""

    networks: bool = False

    @property
    def description(self) -> str:  # type: ignore[override]
        return "comma-separated CIDRs" if self.networks else "comma-separated list"

    def parse(self, name: str, text: str) -> list[str]:
        return self.check(name, text.split(","))

    def check(self, name: str, value: Any) -> list[str]:
        items = [str(item).strip() for item in value if str(item).strip()]
        if self.networks:
            for item in items:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ConfigError(f"{name} must list IP networks such as 10.0.0.0/8 (got {item!r})") from None
        return items

    def show(self, value: Any) -> str:
        return f"`{','.join(value)}`" if value else "empty"


class DatabaseUrl(Kind):
    """A mysql:// (used through PyMySQL, utf8mb4) or sqlite:/// URL."""

    description = "mysql:// or sqlite:/// URL"

    def check(self, name: str, value: Any) -> str:
        return normalize_database_uri(str(value), name)


def _bounds(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" {minimum}..{maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def normalize_database_uri(uri: str, name: str = "DATABASE_URI") -> str:
    """Return `uri` in the form SQLAlchemy needs: plain `mysql://` goes through PyMySQL, utf8mb4.

    SQLAlchemy reads `mysql://` as the MySQLdb driver, which is not installed; the Kubernetes
    Secret writes `mysql://user:pass@host:3306/openml?charset=utf8mb4`.
    """
    try:
        url = make_url(uri)
    except Exception:
        raise ConfigError(f"{name} is not a valid database URL") from None
    backend = url.get_backend_name()
    if backend in ("mysql", "mariadb"):
        if url.drivername in ("mysql", "mariadb"):
            url = url.set(drivername="mysql+pymysql")
        if url.get_driver_name() != "pymysql":
            raise ConfigError(f"{name} must use the pymysql driver for MySQL (mysql:// or mysql+pymysql://)")
        url = url.update_query_dict({"charset": "utf8mb4"})
    elif backend != "sqlite":
        raise ConfigError(f"{name} must be a mysql:// or sqlite:/// URL (got a {backend} URL)")
    return url.render_as_string(hide_password=False)


def mask_database_uri(uri: str) -> str:
    """Return `uri` with its password replaced by ***, safe to log."""
    try:
        return make_url(uri).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URI>"


