"""Passkeys end to end through HTTP, with soft_webauthn's software authenticator as the
browser's: register while logged in, log in without naming the account, manage the list."""

from __future__ import annotations

import time

from flask import Flask
from soft_webauthn import SoftWebauthnDevice

from openml_backend.metrics import exposition
from tests.helpers import AccountActions, assert_problem, metric_value, parse_metrics
from tests.passkeys.conftest import RP_ID, WEBSITE, Browser, Passkeys, Person, from_b64url

LOGIN_FAILURES = "openml_backend_login_failures_total"


def test_register_then_log_in_without_an_email(passkeys: Passkeys, accounts: AccountActions, ada: Person) -> None:
    options = passkeys.registration_options(ada.access_token)
    assert options.status_code == 200
    assert options.headers["Cache-Control"] == "no-store"
    public_key = options.json["publicKey"]
    assert public_key["rp"] == {"id": RP_ID, "name": "OpenML"}
    assert public_key["authenticatorSelection"]["residentKey"] == "required"
    me = accounts.me(ada.access_token).json
    assert from_b64url(public_key["user"]["id"]) == str(me["id"]).encode()
    browser = Browser()
    created = passkeys.verify_registration(ada.access_token, browser.create(options.json), name="Laptop")
    assert created.status_code == 201, created.json
    assert created.json["name"] == "Laptop" and created.json["last_used_at"] is None
    assert created.json["transports"] == ["internal", "hybrid"]

    login_options = passkeys.login_options()["publicKey"]
    assert login_options["rpId"] == RP_ID
    assert login_options.get("allowCredentials", []) == []  # discoverable: no account named
    response = passkeys.verify_login(browser.get({"publicKey": login_options}))
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    pair = response.json
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "Bearer"
    profile = accounts.me(pair["access_token"])
    assert profile.status_code == 200 and profile.json["email"] == ada.email
    assert accounts.refresh(pair["refresh_token"]).status_code == 200
    listed = passkeys.listed(pair["access_token"]).json["passkeys"]
    assert [p["id"] for p in listed] == [created.json["id"]]
    assert listed[0]["last_used_at"] is not None


def test_the_same_passkey_logs_in_again_and_again(passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    passkeys.register(ada.access_token, browser)
    for _ in range(3):
        assert passkeys.try_login(browser).status_code == 200


def test_rename_and_list(passkeys: Passkeys, ada: Person) -> None:
    laptop = passkeys.register(ada.access_token, Browser(), name="Laptop")
    phone = passkeys.register(ada.access_token, Browser())
    assert phone["name"] == "Passkey"  # no name given
    renamed = passkeys.rename(ada.access_token, phone["id"], "  Phone ")
    assert renamed.status_code == 200 and renamed.json["name"] == "Phone"
    listed = passkeys.listed(ada.access_token)
    assert listed.headers["Cache-Control"] == "no-store"
    assert [(p["id"], p["name"]) for p in listed.json["passkeys"]] == [(laptop["id"], "Laptop"), (phone["id"], "Phone")]
    assert "public_key" not in listed.json["passkeys"][0] and "sign_count" not in listed.json["passkeys"][0]


def test_a_name_latin1_cannot_hold_is_refused(passkeys: Passkeys, ada: Person) -> None:
    passkey = passkeys.register(ada.access_token, Browser())
    assert_problem(passkeys.rename(ada.access_token, passkey["id"], "Schlüssel 🔑"), 400, "unsupported_characters")


def test_the_list_shows_only_my_passkeys(passkeys: Passkeys, person) -> None:
    ada, bob = person("ada@example.org"), person("bob@example.org")
    mine = passkeys.register(ada.access_token, Browser(), name="Ada's")
    theirs = passkeys.register(bob.access_token, Browser(), name="Bob's")
    assert [p["id"] for p in passkeys.listed(ada.access_token).json["passkeys"]] == [mine["id"]]
    assert [p["id"] for p in passkeys.listed(bob.access_token).json["passkeys"]] == [theirs["id"]]


def test_another_user_can_neither_delete_nor_rename_my_passkey(passkeys: Passkeys, person) -> None:
    ada, bob = person("ada@example.org"), person("bob@example.org")
    browser = Browser()
    mine = passkeys.register(ada.access_token, browser)
    assert_problem(passkeys.remove(bob.access_token, mine["id"]), 404, "passkey_not_found")
    assert_problem(passkeys.rename(bob.access_token, mine["id"], "Stolen"), 404, "passkey_not_found")
    assert passkeys.listed(ada.access_token).json["passkeys"][0]["name"] == "Passkey"
    assert passkeys.try_login(browser).status_code == 200


def test_an_id_no_passkey_can_have_is_not_found(passkeys: Passkeys, ada: Person) -> None:
    for passkey_id in (0, 2**31, 10**30):
        assert_problem(passkeys.remove(ada.access_token, passkey_id), 404, "passkey_not_found")
    assert_problem(passkeys.rename(ada.access_token, 2**63, "x"), 404, "passkey_not_found")


def test_a_removed_passkey_no_longer_logs_in(app: Flask, passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    passkey = passkeys.register(ada.access_token, browser)
    assert passkeys.remove(ada.access_token, passkey["id"]).status_code == 204
    assert passkeys.listed(ada.access_token).json["passkeys"] == []
    assert_problem(passkeys.remove(ada.access_token, passkey["id"]), 404, "passkey_not_found")
    before = metric_value(parse_metrics(exposition().decode()), LOGIN_FAILURES, reason="invalid_credentials")
    assert_problem(passkeys.try_login(browser), 401, "passkey_invalid")
    after = metric_value(parse_metrics(exposition().decode()), LOGIN_FAILURES, reason="invalid_credentials")
    assert after == before + 1  # counted as a refused login, as a wrong password is


def test_registering_needs_a_recent_login(make_app, smtp_settings, mailbox) -> None:
    app = make_app(REAUTH_SECONDS=0, **smtp_settings)
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user("ada@example.org")
    token = accounts.login("ada@example.org")["access_token"]
    time.sleep(1.1)  # auth_time has one-second resolution; REAUTH_SECONDS=0 makes any older login stale
    assert_problem(Passkeys(app.test_client()).registration_options(token), 403, "reauthentication_required")


class OneKeyDevice(SoftWebauthnDevice):
    """An authenticator that keeps its one credential when asked to create another."""

    def cred_init(self, rp_id, user_handle):
        if self.credential_id is None:
            super().cred_init(rp_id, user_handle)


def test_registering_the_same_credential_twice_is_a_conflict(passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    browser.device = OneKeyDevice()
    first = passkeys.registration_options(ada.access_token).json
    credential = browser.create(first)
    assert passkeys.verify_registration(ada.access_token, credential).status_code == 201
    again = passkeys.registration_options(ada.access_token).json
    assert [c["id"] for c in again["publicKey"]["excludeCredentials"]] == [credential["rawId"]]
    duplicate = browser.create(again)
    assert duplicate["rawId"] == credential["rawId"]
    assert_problem(passkeys.verify_registration(ada.access_token, duplicate), 409, "passkey_exists")
    assert len(passkeys.listed(ada.access_token).json["passkeys"]) == 1


def test_an_inactive_account_cannot_log_in_with_a_passkey(app: Flask, passkeys: Passkeys, ada: Person) -> None:
    from openml_backend.accounts.models import User
    from openml_backend.extensions import db

    browser = Browser()
    passkeys.register(ada.access_token, browser)
    with app.app_context():  # OpenML's own tools deactivate an account this way
        db.session.query(User).filter_by(email=ada.email).update({"active": False})
        db.session.commit()
    assert_problem(passkeys.try_login(browser), 403, "account_not_confirmed")


def test_a_deleted_account_cannot_log_in_with_a_passkey(passkeys: Passkeys, accounts: AccountActions,
                                                       ada: Person) -> None:
    browser = Browser()
    passkeys.register(ada.access_token, browser)
    assert accounts.delete_account(ada.access_token, "correct horse battery staple").status_code == 204
    assert_problem(passkeys.try_login(browser), 401, "passkey_invalid")  # its passkeys went with it


def test_user_verification_is_required_unless_turned_off(make_app, smtp_settings, mailbox) -> None:
    app = make_app(PASSKEY_REQUIRE_USER_VERIFICATION=True, **smtp_settings)
    client = app.test_client()
    accounts, passkeys = AccountActions(client, mailbox), Passkeys(client)
    accounts.confirmed_user("ada@example.org")
    token = accounts.login("ada@example.org")["access_token"]
    options = passkeys.registration_options(token).json
    assert options["publicKey"]["authenticatorSelection"]["userVerification"] == "required"
    # soft_webauthn's authenticator reports user presence only, never verification.
    assert_problem(passkeys.verify_registration(token, Browser().create(options)), 400, "passkey_invalid")
    assert passkeys.login_options()["publicKey"]["userVerification"] == "required"


def test_origin_and_rp_id_are_the_settings(make_app, smtp_settings, mailbox) -> None:
    app = make_app(RP_ID="openml.test", RP_NAME="OpenML test", RP_ORIGIN="https://www.openml.test",
                   **smtp_settings)
    client = app.test_client()
    accounts, passkeys = AccountActions(client, mailbox), Passkeys(client)
    accounts.confirmed_user("ada@example.org")
    token = accounts.login("ada@example.org")["access_token"]
    assert passkeys.registration_options(token).json["publicKey"]["rp"] == {"id": "openml.test", "name": "OpenML test"}
    browser = Browser(origin="https://www.openml.test")
    passkeys.register(token, browser)
    assert passkeys.try_login(browser).status_code == 200
    assert_problem(passkeys.try_login(_moved(browser, WEBSITE)), 401, "passkey_invalid")


def _moved(browser: Browser, origin: str) -> Browser:
    browser.origin = origin
    return browser
