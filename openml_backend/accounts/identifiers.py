"""One canonical form for the identifiers people log in with and the addresses mail goes to.

The throttles count by this form, and lookups compare it exactly, so variants that a
database collation would treat as equal (case, accents, trailing spaces under MariaDB's
utf8mb4_general_ci) can neither reach an account nor get a counter of their own.
"""

from __future__ import annotations

import re
import unicodedata

# What a username may be wherever it is accepted as a login identifier: 3 to 30 ASCII letters,
# digits, underscores, dots and hyphens (no `@`, so it is never mistaken for an address).
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,30}$"


def normalise(identifier: str) -> str:
    """`identifier` in Unicode NFKC, case-folded, without surrounding whitespace."""
    return unicodedata.normalize("NFKC", identifier).casefold().strip()


def same(stored: str | None, given: str) -> bool:
    """True when the stored identifier and the given one are the same after `normalise`.

    Used after a database lookup, which may have matched under a looser collation."""
    return stored is not None and normalise(stored) == normalise(given)


USERNAME_MIN, USERNAME_MAX = 3, 30


def username_base(email: str) -> str:
    """A username made from the local part of `email`: its characters the username pattern
    allows, cut to the maximum length, padded with "user" when too short."""
    kept = re.sub(r"[^A-Za-z0-9_.-]", "", email.split("@", 1)[0])[:USERNAME_MAX]
    return kept if len(kept) >= USERNAME_MIN else (kept + "user")[:USERNAME_MAX]


def numbered(base: str, number: int) -> str:
    """`base` with `number` appended, cut so the result stays within the maximum length."""
    suffix = str(number)
    return base[: USERNAME_MAX - len(suffix)] + suffix
