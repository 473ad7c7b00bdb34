"""Single use holds under concurrency: of requests racing with one one-time code or one
state, exactly one wins, in any worker (the claim is a conditional UPDATE in the database)."""

from __future__ import annotations

from flask import Flask

from tests.helpers import run_together
from tests.oauth.conftest import API, Browser
from tests.oauth.standin_provider import StandinProvider

THREADS = 4


def test_racing_exchanges_of_one_code_give_one_token_pair(app: Flask, browser: Browser) -> None:
    code = browser.log_in("github")
    answers = run_together(THREADS, lambda i: app.test_client().post(f"{API}/auth/oauth/exchange",
                                                                       json={"code": code}))
    assert sorted(answer.status_code for answer in answers) == [200] + [400] * (THREADS - 1)


def test_racing_callbacks_of_one_state_reach_the_provider_once(app: Flask, browser: Browser,
                                                               provider: StandinProvider) -> None:
    callback = browser.authorize("google")
    answers = run_together(THREADS, lambda i: browser.callback(callback))
    assert sorted(answer.status_code for answer in answers) == [302] + [400] * (THREADS - 1)
    assert provider.state.token_requests == 1
