"""The profile's timestamps are RFC 3339 (with an offset), as the contract's date-time says.

Found by the contract fuzzer: created_at and confirmed_at were naive ISO strings
("2026-11-26T11:47:21.414928"), which no date-time validator accepts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import AccountActions

RFC3339_UTC_SUFFIX = "Z"


def test_profile_timestamps_carry_utc(accounts: AccountActions) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    accounts.confirmed_user("clock@example.org")
    profile = accounts.me(accounts.login("clock@example.org")["access_token"]).json
    for name in ("created_at", "confirmed_at"):
        assert profile[name].endswith(RFC3339_UTC_SUFFIX), profile[name]
        moment = datetime.fromisoformat(profile[name])
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
        assert before <= moment <= datetime.now(UTC) + timedelta(seconds=5)
