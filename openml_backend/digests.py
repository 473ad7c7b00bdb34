"""One way to fingerprint a value: the hex sha256 digest."""

from __future__ import annotations

import hashlib


def sha256_hex(value: str | bytes) -> str:
    """The sha256 of `value` as 64 lowercase hex characters.

    Text is encoded as UTF-8, lone surrogates included ("surrogatepass"), so any string a
    JSON body can carry has a digest instead of raising.
    """
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()
