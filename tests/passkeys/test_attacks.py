"""What a passkey must refuse: another origin or RP ID, a replayed or expired challenge, a
challenge of another user or ceremony, a cloned authenticator; and passkey logins share the
password logins' throttle."""

from __future__ import annotations

import copy
from datetime import timedelta

from flask import Flask

from tests.helpers import AccountActions, assert_problem, run_together
from tests.passkeys.conftest import Browser, Passkeys, Person


def _expire_every_challenge(app: Flask) -> None:
    from openml_backend.clock import utcnow
    from openml_backend.extensions import db
    from openml_backend.passkeys.models import PasskeyChallenge

    with app.app_context():
        db.session.query(PasskeyChallenge).update({"expires_at": utcnow() - timedelta(seconds=1)})
        db.session.commit()


# -- origin and relying party -----------------------------------------------------------------

def test_a_registration_from_another_origin_is_refused(passkeys: Passkeys, ada: Person) -> None:
    options = passkeys.registration_options(ada.access_token).json
    credential = Browser(origin="https://openml.evil.example").create(options)
    assert_problem(passkeys.verify_registration(ada.access_token, credential), 400, "passkey_invalid")
    assert passkeys.listed(ada.access_token).json["passkeys"] == []


def test_a_registration_for_another_rp_id_is_refused(passkeys: Passkeys, ada: Person) -> None:
    options = passkeys.registration_options(ada.access_token).json
    options["publicKey"]["rp"]["id"] = "evil.example"  # the authenticator signs for this RP instead
    credential = Browser().create(options)
    assert_problem(passkeys.verify_registration(ada.access_token, credential), 400, "passkey_invalid")


def test_a_login_from_another_origin_is_refused(passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    passkeys.register(ada.access_token, browser)
    browser.origin = "https://openml.evil.example"  # a phishing page relaying the ceremony
    assert_problem(passkeys.try_login(browser), 401, "passkey_invalid")


def test_a_login_signed_for_another_rp_id_is_refused(passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    passkeys.register(ada.access_token, browser)
    options = passkeys.login_options()
    options["publicKey"]["rpId"] = "evil.example"
    browser.device.rp_id = "evil.example"
    assert_problem(passkeys.verify_login(browser.get(options)), 401, "passkey_invalid")


def test_a_tampered_signature_is_refused(passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    passkeys.register(ada.access_token, browser)
    assertion = browser.get(passkeys.login_options())
    assertion["response"]["authenticatorData"] = assertion["response"]["authenticatorData"][:-2] + "AA"
    assert_problem(passkeys.verify_login(assertion), 401, "passkey_invalid")


def test_an_assertion_naming_another_user_is_refused(passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    passkeys.register(ada.access_token, browser)
    assertion = browser.get(passkeys.login_options())
    assertion["response"]["userHandle"] = "OTk5"  # "999"
    assert_problem(passkeys.verify_login(assertion), 401, "passkey_invalid")


# -- challenges -------------------------------------------------------------------------------

def test_the_same_assertion_twice_is_refused(passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    passkeys.register(ada.access_token, browser)
    assertion = browser.get(passkeys.login_options())
    assert passkeys.verify_login(assertion).status_code == 200
    assert_problem(passkeys.verify_login(assertion), 400, "challenge_invalid")


def test_one_challenge_answered_twice_is_refused(passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    passkeys.register(ada.access_token, browser)
    options = passkeys.login_options()
    first, second = browser.get(copy.deepcopy(options)), browser.get(copy.deepcopy(options))
    assert first["response"]["signature"] != second["response"]["signature"]  # a new, valid signature
    assert passkeys.verify_login(first).status_code == 200
    assert_problem(passkeys.verify_login(second), 400, "challenge_invalid")


def test_a_registration_challenge_is_used_once(passkeys: Passkeys, ada: Person) -> None:
    options = passkeys.registration_options(ada.access_token).json
    assert passkeys.verify_registration(ada.access_token, Browser().create(options)).status_code == 201
    assert_problem(passkeys.verify_registration(ada.access_token, Browser().create(options)), 400,
                   "challenge_invalid")


def test_one_assertion_sent_to_two_workers_at_once_logs_in_once(make_app, smtp_settings, mailbox) -> None:
    workers = (make_app(**smtp_settings), make_app(**smtp_settings))  # two processes of one service
    accounts = AccountActions(workers[0].test_client(), mailbox)
    accounts.confirmed_user("ada@example.org")
    browser = Browser()
    Passkeys(workers[0].test_client()).register(accounts.login("ada@example.org")["access_token"], browser)
    assertion = browser.get(Passkeys(workers[1].test_client()).login_options())
    answers = run_together(2, lambda i: Passkeys(workers[i].test_client()).verify_login(assertion))
    assert sorted(answer.status_code for answer in answers) == [200, 400]
    assert {answer.json.get("code") for answer in answers} >= {"challenge_invalid"}


def test_an_expired_login_challenge_is_refused(app: Flask, passkeys: Passkeys, ada: Person) -> None:
    browser = Browser()
    passkeys.register(ada.access_token, browser)
    options = passkeys.login_options()
    _expire_every_challenge(app)
    assertion = browser.get(options)
    assert_problem(passkeys.verify_login(assertion), 400, "challenge_expired")
    assert_problem(passkeys.verify_login(assertion), 400, "challenge_invalid")  # and used up


def test_an_expired_registration_challenge_is_refused(app: Flask, passkeys: Passkeys, ada: Person) -> None:
    options = passkeys.registration_options(ada.access_token).json
    _expire_every_challenge(app)
    assert_problem(passkeys.verify_registration(ada.access_token, Browser().create(options)), 400,
                   "challenge_expired")
    assert passkeys.listed(ada.access_token).json["passkeys"] == []


def test_a_challenge_lives_for_its_setting(app: Flask, passkeys: Passkeys) -> None:
    from openml_backend.clock import utcnow
    from openml_backend.extensions import db
    from openml_backend.passkeys.models import PasskeyChallenge

    before = utcnow()
    options = passkeys.login_options()
    assert options["publicKey"]["timeout"] == 300_000
    with app.app_context():
        (expires_at,) = db.session.query(PasskeyChallenge.expires_at).one()
    assert timedelta(seconds=299) <= expires_at - before <= timedelta(seconds=302)


def test_another_users_registration_challenge_is_refused(passkeys: Passkeys, person) -> None:
    ada, eve = person("ada@example.org"), person("eve@example.org")
    options = passkeys.registration_options(ada.access_token).json
    assert_problem(passkeys.verify_registration(eve.access_token, Browser().create(options)), 400,
                   "challenge_invalid")


def test_a_login_challenge_cannot_register(passkeys: Passkeys, ada: Person) -> None:
    registration = passkeys.registration_options(ada.access_token).json
    registration["publicKey"]["challenge"] = passkeys.login_options()["publicKey"]["challenge"]
    assert_problem(passkeys.verify_registration(ada.access_token, Browser().create(registration)), 400,
                   "challenge_invalid")


# -- cloned authenticators --------------------------------------------------------------------

def test_a_cloned_authenticator_is_refused(passkeys: Passkeys, ada: Person) -> None:
    original = Browser()
    passkeys.register(ada.access_token, original)
    clone = copy.deepcopy(original)  # the key copied out of the authenticator, counter and all
    assert passkeys.try_login(original).status_code == 200  # counter 1
    assert passkeys.try_login(original).status_code == 200  # counter 2
    assert_problem(passkeys.try_login(clone), 403, "passkey_cloned")  # counter 1 again
    assert passkeys.try_login(original).status_code == 200  # counter 3: the owner goes on


# -- throttling -------------------------------------------------------------------------------

def test_passkey_logins_share_the_password_login_limit(make_app, smtp_settings, mailbox) -> None:
    app = make_app(LOGIN_MAX_PER_ADDRESS=4, **smtp_settings)
    client = app.test_client()
    accounts, passkeys = AccountActions(client, mailbox), Passkeys(client)
    accounts.confirmed_user("ada@example.org")
    token = accounts.login("ada@example.org")["access_token"]  # attempt 1
    browser = Browser()
    passkeys.register(token, browser)
    assert passkeys.try_login(browser).status_code == 200  # 2
    assert accounts.try_login("ada@example.org", "a wrong password").status_code == 401  # 3
    assert passkeys.try_login(browser).status_code == 200  # 4
    refused = assert_problem(passkeys.try_login(browser), 429, "too_many_attempts")  # 5
    assert int(passkeys.try_login(browser).headers["Retry-After"]) >= 1
    assert refused["detail"]
    assert_problem(accounts.try_login("ada@example.org"), 429, "too_many_attempts")
