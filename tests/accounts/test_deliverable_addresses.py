"""Addresses the mailer cannot deliver to are refused with 400 before anything is stored.

Found by the contract fuzzer: a non-ASCII local part passed validation, the account was
committed, and building the confirmation email raised UnicodeEncodeError: a 500. A Unicode
domain was accepted, then smtplib refused the recipient and the email was silently lost; a
domain label over 63 characters was in the contract but had no IDNA form.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from openml_backend.accounts.models import User
from tests.helpers import PASSWORD, AccountActions

UNDELIVERABLE = ["é@example.org", "ünïcode.name@example.org", "ada@bücher.example", "a@bad..example.org",
                 "a@" + "x" * 64 + ".org", "a@exa\x00mple.org", "a@example.o\x1frg", "a<b>@example.org",
                 "a@example.org\n", "a@under_score.org"]


@pytest.mark.parametrize("address", UNDELIVERABLE)
def test_signup_refuses_an_undeliverable_address_without_storing_it(accounts: AccountActions, db, address: str) -> None:
    before = db.session.scalar(select(func.count()).select_from(User))
    response = accounts.signup(address)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["code"] == "invalid_fields"
    assert [item["field"] for item in response.json["fields"]] == ["email"]
    assert db.session.scalar(select(func.count()).select_from(User)) == before


@pytest.mark.parametrize("path,extra", [("/auth/confirm/resend", {}), ("/auth/password/forgot", {}),
                                        ("/feedback", {"message": "hello"})])
def test_every_address_field_refuses_a_non_ascii_local_part(accounts: AccountActions, path: str, extra: dict) -> None:
    response = accounts.post(path, {"email": "josé@example.org", **extra})
    assert response.status_code == 400
    assert response.json["code"] == "invalid_fields"


@pytest.mark.parametrize("address", ["O'Hara+tag@Example.ORG", "ada@xn--bcher-kva.example",
                                     "a.b-c_d@sub-1.example.co", "x@" + "y" * 63 + ".org"])
def test_deliverable_addresses_get_their_email(accounts: AccountActions, address: str) -> None:
    assert accounts.signup(address, PASSWORD).status_code == 202
    token = accounts.last_token(address.lower())
    assert accounts.post("/auth/confirm", {"token": token}).status_code == 200
