"""What OpenML's latin1 tables can hold.

Production's `users` table is latin1, which in MariaDB is Windows-1252: `Zoë Öberg`,
`Straße` and `€` fit; `李` or an emoji do not. Text that cannot be stored is refused before
anything is written, naming the field, on every database alike (so SQLite in development
answers as production does).
"""

from __future__ import annotations

from ..errors import BadRequest

MARIADB_LATIN1 = "cp1252"


def _storable_pattern() -> str:
    decoded = {byte.to_bytes(1, "big").decode(MARIADB_LATIN1, errors="ignore") for byte in range(256)}
    points = sorted(ord(character) for character in decoded if character)
    ranges: list[list[int]] = []
    for point in points:
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    parts = (f"\\u{low:04x}" + (f"-\\u{high:04x}" if high > low else "") for low, high in ranges)
    return "^[" + "".join(parts) + "]*$"


# The same rule as `fits`, as a JSON Schema pattern for the contract (so a request the
# contract calls valid is one the service stores).
STORABLE_PATTERN = _storable_pattern()


def fits(text: str) -> bool:
    """True when `text` can be stored in a latin1 column unchanged."""
    try:
        text.encode(MARIADB_LATIN1)
    except UnicodeEncodeError:
        return False
    return True


def require_storable(values: dict[str, object]) -> None:
    """Raise 400 `unsupported_characters` naming every field of `values` whose text latin1
    cannot hold; non-text values are ignored."""
    bad = [name for name, value in values.items() if isinstance(value, str) and not fits(value)]
    if bad:
        raise BadRequest(
            f"These fields have characters OpenML cannot store (it keeps Western European text): {', '.join(bad)}.",
            code="unsupported_characters",
            fields=[{"field": name, "reason": "characters outside Latin-1"} for name in bad],
        )
