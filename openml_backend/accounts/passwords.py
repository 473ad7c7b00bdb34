"""Password hashing with argon2id, and the dummy verify that hides whether an account exists.

Production parameters (time_cost=3, 64 MiB, parallelism=1) cost about 186 ms per verify on
the reference machine (187 ms measured). PASSWORD_HASH_COST=low exists only for the
test suite; ProductionConfig refuses it.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

from ..database import outside_database

MIN_PASSWORD_LENGTH = 8
# Longer passwords are refused before hashing: argon2 hashes any length, but a megabyte of
# password per request is a cheap way to burn CPU.
MAX_PASSWORD_LENGTH = 1024

_COSTS = {
    "production": {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 1},
    "low": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
}


@lru_cache(maxsize=None)
def _hasher(cost: str) -> PasswordHasher:
    return PasswordHasher(**_COSTS[cost])


@lru_cache(maxsize=None)
def _dummy_hash(cost: str) -> str:
    # Same parameters as real hashes, so verifying it costs what a real verify costs.
    return _hasher(cost).hash("dummy password for timing equality")


def current_hasher() -> PasswordHasher:
    """The argon2id hasher for this app's PASSWORD_HASH_COST."""
    return _hasher(current_app.config["PASSWORD_HASH_COST"])


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password` (an encoded string with salt and parameters)."""
    with outside_database():
        return current_hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Return True when `password` matches `stored_hash`.

    With no stored hash (unknown user) a dummy hash is verified instead, so both answers cost
    the same time.
    """
    cost = current_app.config["PASSWORD_HASH_COST"]
    with outside_database():
        try:
            return bool(_hasher(cost).verify(stored_hash or _dummy_hash(cost), password)) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def needs_rehash(stored_hash: str) -> bool:
    """True when `stored_hash` was made with other parameters than the current ones."""
    return current_hasher().check_needs_rehash(stored_hash)
