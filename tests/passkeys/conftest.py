"""Fixtures for the passkey tests: an app whose mail goes to the capturing SMTP server (signup
needs its confirmation link), a browser with a software authenticator, and a logged-in user."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from soft_webauthn import SoftWebauthnDevice

from tests.helpers import AccountActions, bearer

API = "/api/v1"
WEBSITE = "http://localhost:3000"  # RP_ORIGIN of the testing configuration
RP_ID = "localhost"  # RP_ID of the testing configuration


def b64url(data: bytes) -> str:
    """`data` as unpadded base64url, as a browser's toJSON() writes binary fields."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A browser holding one software authenticator (soft_webauthn's SoftWebauthnDevice): it
    reads the server's JSON options as PublicKeyCredential.parse*OptionsFromJSON() does and
    answers with the JSON of PublicKeyCredential.toJSON()."""

    def __init__(self, origin: str = WEBSITE) -> None:
        self.device = SoftWebauthnDevice()
        self.origin = origin

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.create() on the options an options endpoint answered."""
        public_key = copy.deepcopy(options["publicKey"])
        public_key["challenge"] = from_b64url(public_key["challenge"])
        public_key["user"]["id"] = from_b64url(public_key["user"]["id"])
        made = self.device.create({"publicKey": public_key}, self.origin)
        return {"id": b64url(made["rawId"]), "rawId": b64url(made["rawId"]), "type": "public-key",
                "clientExtensionResults": {}, "authenticatorAttachment": "platform",
                "response": {"clientDataJSON": b64url(made["response"]["clientDataJSON"]),
                             "attestationObject": b64url(made["response"]["attestationObject"]),
                             "transports": ["internal", "hybrid"]}}

    def get(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.get() on the options an options endpoint answered."""
        public_key = copy.deepcopy(options["publicKey"])
        public_key["challenge"] = from_b64url(public_key["challenge"])
        made = self.device.get({"publicKey": public_key}, self.origin)
        response = made["response"]
        return {"id": b64url(made["rawId"]), "rawId": b64url(made["rawId"]), "type": "public-key",
                "clientExtensionResults": {},
                "response": {"clientDataJSON": b64url(response["clientDataJSON"]),
                             "authenticatorData": b64url(response["authenticatorData"]),
                             "signature": b64url(response["signature"]),
                             "userHandle": b64url(response["userHandle"])}}


class Passkeys:
    """The passkey API through a Flask test client, one method per user action."""

    def __init__(self, client) -> None:
        self.client = client

    def registration_options(self, access_token: str):
        return self.client.post(f"{API}/auth/passkeys/register/options", headers=bearer(access_token))

    def verify_registration(self, access_token: str, credential: dict[str, Any], name: str | None = None):
        body: dict[str, Any] = {"credential": credential}
        if name is not None:
            body["name"] = name
        return self.client.post(f"{API}/auth/passkeys/register/verify", headers=bearer(access_token), json=body)

    def register(self, access_token: str, browser: Browser, name: str | None = None) -> dict[str, Any]:
        """Create a passkey on `browser` for the token's user (which must succeed); the passkey."""
        options = self.registration_options(access_token)
        assert options.status_code == 200, options.json
        response = self.verify_registration(access_token, browser.create(options.json), name)
        assert response.status_code == 201, response.json
        return response.json

    def login_options(self) -> dict[str, Any]:
        response = self.client.post(f"{API}/auth/passkeys/login/options")
        assert response.status_code == 200, response.json
        return response.json

    def verify_login(self, assertion: dict[str, Any]):
        return self.client.post(f"{API}/auth/passkeys/login/verify", json={"credential": assertion})

    def try_login(self, browser: Browser):
        """Ask for options, let `browser` answer them, and send the assertion."""
        return self.verify_login(browser.get(self.login_options()))

    def listed(self, access_token: str):
        return self.client.get(f"{API}/users/me/passkeys", headers=bearer(access_token))

    def rename(self, access_token: str, passkey_id: int, name: str):
        return self.client.patch(f"{API}/users/me/passkeys/{passkey_id}", headers=bearer(access_token),
                                 json={"name": name})

    def remove(self, access_token: str, passkey_id: int):
        return self.client.delete(f"{API}/users/me/passkeys/{passkey_id}", headers=bearer(access_token))


@pytest.fixture
def app(make_app: Callable[..., Flask], smtp_settings: dict[str, Any]) -> Flask:
    """A testing app on a clean database whose mail goes to the capturing SMTP server."""
    return make_app(**smtp_settings)


@pytest.fixture
def passkeys(client) -> Passkeys:
    return Passkeys(client)


@dataclass(frozen=True)
class Person:
    """A confirmed account and the access token of one password login."""

    email: str
    access_token: str


@pytest.fixture
def person(accounts: AccountActions) -> Callable[[str], Person]:
    """`person(email)`: sign up, confirm and log in an account."""

    def make(email: str) -> Person:
        accounts.confirmed_user(email)
        return Person(email, accounts.login(email)["access_token"])

    return make


@pytest.fixture
def ada(person: Callable[[str], Person]) -> Person:
    return person("ada@example.org")
