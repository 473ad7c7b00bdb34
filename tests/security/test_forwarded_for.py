"""X-Forwarded-For counts only when the socket peer is a trusted proxy (TRUSTED_PROXIES) and
then only PROXY_FIX_HOPS hops deep; a client that sends its own header keeps its socket
address, so the per-address login limit still holds."""

from __future__ import annotations

import pytest

from openml_backend.config import ConfigError, TestingConfig
from tests.helpers import API

PROXY = "10.1.2.3"  # inside TRUSTED_PROXIES below
ATTACKER = "198.51.100.7"  # outside


def login_statuses(app, remote_addr: str, forwarded: list[str]) -> list[int]:
    client = app.test_client()
    return [client.post(f"{API}/auth/login", json={"email": f"guess{i}@example.org", "password": "x" * 8},
                        headers={"X-Forwarded-For": header},
                        environ_base={"REMOTE_ADDR": remote_addr}).status_code
            for i, header in enumerate(forwarded)]


def throttled_app(make_app, smtp_settings):
    return make_app(env={"PROXY_FIX_HOPS": "1", "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"}, **smtp_settings,
                    LOGIN_MAX_PER_ACCOUNT=100, LOGIN_MAX_PER_ADDRESS=4)


def test_a_spoofed_header_from_an_untrusted_peer_does_not_escape_the_address_limit(
        make_app, smtp_settings, mailbox) -> None:
    app = throttled_app(make_app, smtp_settings)
    spoofed = [f"203.0.113.{i}" for i in range(8)]
    assert login_statuses(app, ATTACKER, spoofed) == [401] * 4 + [429] * 4


def test_a_trusted_proxy_forwards_each_clients_own_address(make_app, smtp_settings, mailbox) -> None:
    app = throttled_app(make_app, smtp_settings)
    assert login_statuses(app, PROXY, [f"203.0.113.{i}" for i in range(8)]) == [401] * 8


def test_behind_one_trusted_hop_a_client_cannot_prepend_addresses(make_app, smtp_settings, mailbox) -> None:
    # The proxy appends the address it saw; only that last entry counts with one hop.
    app = throttled_app(make_app, smtp_settings)
    forwarded = [f"203.0.113.{i}, 198.51.100.99" for i in range(6)]
    assert login_statuses(app, PROXY, forwarded) == [401] * 4 + [429] * 2


def test_trusted_proxies_must_be_networks() -> None:
    assert TestingConfig(environ={}).TRUSTED_PROXIES == []
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        TestingConfig(environ={"TRUSTED_PROXIES": "10.0.0.0/8, not-a-network"})
