"""Addresses the mailer cannot deliver to are refused with 400 before anything is stored.

Found by the contract fuzzer: a non-ASCII local part passed validation, the account was
committed, and building the confirmation email raised UnicodeEncodeError: a 500.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from openml_backend.accounts.models import User
from tests.accounts.conftest import PASSWORD, Accounts

UNDELIVERABLE = ["é@example.org", "ünïcode.name@example.org", "a@bad..example.org",
                 "a@" + "x" * 64 + ".org", "a@exa\x00mple.org", "a@example.o\x1frg"]


@pytest.mark.parametrize("address", UNDELIVERABLE)
def test_signup_refuses_an_undeliverable_address_without_storing_it(accounts: Accounts, db, address: str) -> None:
    response = accounts.signup(address)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["code"] == "invalid_fields"
    assert [item["field"] for item in response.json["fields"]] == ["email"]
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize("path,extra", [("/auth/confirm/resend", {}), ("/auth/password/forgot", {}),
                                        ("/feedback", {"message": "hello"})])
def test_every_address_field_refuses_a_non_ascii_local_part(accounts: Accounts, path: str, extra: dict) -> None:
    response = accounts.post(path, {"email": "josé@example.org", **extra})
    assert response.status_code == 400
    assert response.json["code"] == "invalid_fields"


def test_an_internationalised_domain_is_kept_in_its_ascii_form_and_gets_its_email(accounts: Accounts) -> None:
    # Before: accepted as typed, then smtplib refused the non-ASCII recipient and the
    # confirmation email was silently lost.
    assert accounts.signup("Ada@Bücher.example", PASSWORD).status_code == 202
    token = accounts.last_token("ada@xn--bcher-kva.example")
    assert accounts.post("/auth/confirm", {"token": token}).status_code == 200
    tokens = accounts.login("ada@bücher.example")
    assert accounts.me(tokens["access_token"]).json["email"] == "ada@xn--bcher-kva.example"
