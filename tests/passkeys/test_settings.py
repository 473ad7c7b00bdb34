"""The relying party settings: production refuses local or placeholder values and turning
user verification off; testing and development work on localhost."""

from __future__ import annotations

import pytest

from openml_backend.config import ConfigError, ProductionConfig, TestingConfig

PRODUCTION_ENV = {"APP_SECRET_KEY": "p" * 40, "JWT_SECRET_KEY": "j" * 40,
                  "DATABASE_URI": "mysql://user:pw@db:3306/openml"}


def test_production_defaults_are_openml_org() -> None:
    config = ProductionConfig(PRODUCTION_ENV)
    assert (config.RP_ID, config.RP_ORIGIN, config.RP_NAME) == ("openml.org", "https://www.openml.org", "OpenML")
    assert config.PASSKEY_REQUIRE_USER_VERIFICATION is True
    assert config.PASSKEY_CHALLENGE_SECONDS == 300


def test_testing_runs_on_localhost() -> None:
    config = TestingConfig({})
    assert (config.RP_ID, config.RP_ORIGIN) == ("localhost", "http://localhost:3000")


@pytest.mark.parametrize(("env", "named"), [
    ({"RP_ID": "localhost"}, "RP_ID"),
    ({"RP_ID": "127.0.0.1"}, "RP_ID"),
    ({"RP_ID": "openml.example"}, "RP_ID"),
    ({"RP_ID": "example.com"}, "RP_ID"),
    ({"RP_ID": "https://www.openml.org"}, "RP_ID"),
    ({"RP_ID": "CHANGE-ME.org"}, "RP_ID"),
    ({"RP_ORIGIN": "http://www.openml.org"}, "RP_ORIGIN"),
    ({"RP_ORIGIN": "https://localhost:3000"}, "RP_ORIGIN"),
    ({"RP_ORIGIN": "https://www.openml.test"}, "RP_ORIGIN"),
    ({"RP_ORIGIN": "https://www.openml.org/login"}, "RP_ORIGIN"),
    ({"PASSKEY_REQUIRE_USER_VERIFICATION": "false"}, "PASSKEY_REQUIRE_USER_VERIFICATION"),
])
def test_production_refuses_local_or_placeholder_relying_parties(env: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=f"^{named} must"):
        ProductionConfig({**PRODUCTION_ENV, **env})


def test_production_accepts_a_real_relying_party() -> None:
    config = ProductionConfig({**PRODUCTION_ENV, "RP_ID": "new.openml.org", "RP_ORIGIN": "https://new.openml.org/"})
    assert (config.RP_ID, config.RP_ORIGIN) == ("new.openml.org", "https://new.openml.org")


@pytest.mark.parametrize(("rp_id", "origin", "fits"), [
    ("openml.org", "https://www.openml.org", True),
    ("www.openml.org", "https://www.openml.org", True),
    ("localhost", "http://localhost:3000", True),
    ("openml.org", "https://www.openml.org.evil.example", False),
    ("ml.org", "https://www.openml.org", False),
    ("www.openml.org", "https://openml.org", False),
])
def test_the_rp_id_must_be_the_origins_host_or_a_parent(rp_id: str, origin: str, fits: bool) -> None:
    from openml_backend.passkeys import rp_id_fits_origin

    assert rp_id_fits_origin(rp_id, origin) is fits
