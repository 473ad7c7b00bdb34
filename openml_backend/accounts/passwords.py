"""Password hashing with argon2id; verification of the hashes OpenML's earlier systems wrote;
the dummy verify that hides whether an account exists.

New hashes are standard argon2id PHC strings (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`),
which node's `argon2` (the website) verifies as well. Verified too, and rewritten as argon2id
at the next login:
- any argon2 PHC string: argon2i `$argon2i$v=19$m=16384,t=4,p=2$...` from the old Flask
  backend and the Next.js site, argon2d, argon2id with other parameters;
- bcrypt `$2a$`, `$2b$`, `$2y$` from PHP's era (PHP's `$2y$` is the same algorithm as `$2b$`).
Anything else (a bare MD5 from OpenML's test fixtures, an empty or tombstoned password)
never verifies; it costs a dummy argon2 verify, so the answer looks like a wrong password.

Production parameters (time_cost=3, 64 MiB, parallelism=1) cost about 186 ms per verify on
the reference machine. PASSWORD_HASH_COST=low exists only for the test suite;
ProductionConfig refuses it.
"""

from __future__ import annotations

from functools import lru_cache

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

from ..database import outside_database

MIN_PASSWORD_LENGTH = 8
# Longer passwords are refused before hashing: argon2 hashes any length, but a megabyte of
# password per request is a cheap way to burn CPU.
MAX_PASSWORD_LENGTH = 1024
# bcrypt reads at most 72 bytes; PHP's password_verify ignored the rest, so do we.
BCRYPT_MAX_BYTES = 72
ARGON2_PREFIX = "$argon2"
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
# Stored in `users.password` when an account is deleted: no hash, so nothing ever verifies.
UNUSABLE_PASSWORD = "!"

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
    """Return the argon2id PHC string of `password` (with its salt and parameters)."""
    with outside_database():
        return current_hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Return True when `password` matches `stored_hash` (argon2 of any variant, or bcrypt).

    With no stored hash (unknown user), or one of no known scheme, a dummy hash is verified
    instead, so every refusal costs about the same time.
    """
    cost = current_app.config["PASSWORD_HASH_COST"]
    with outside_database():
        if stored_hash is not None and stored_hash.startswith(BCRYPT_PREFIXES):
            return _verify_bcrypt(stored_hash, password)
        known = stored_hash is not None and stored_hash.startswith(ARGON2_PREFIX)
        try:
            matches = _hasher(cost).verify(stored_hash if known else _dummy_hash(cost), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(matches) and known


def _verify_bcrypt(stored_hash: str, password: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:BCRYPT_MAX_BYTES], stored_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError):  # a malformed stored hash
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True unless `stored_hash` is argon2id with exactly the current parameters."""
    if not stored_hash.startswith("$argon2id$"):
        return True
    try:
        return current_hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
