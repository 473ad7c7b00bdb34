"""Schemathesis over every operation of /api/v1/openapi.json, against the real app.

The app runs on each database backend with the stand-in OpenML server over HTTP and a real
SMTP server. Every response must: not be a 5xx, have a documented status code, content type
and headers, and match its schema; schema-valid requests must be accepted and invalid ones
rejected. Bounded (examples per operation, derandomized) so CI is reproducible.

The schema is loaded at collection time from an app on a throwaway SQLite file (the document
does not depend on the database) so each operation is its own test; the requests go to the
per-test app of each backend. (schemathesis' fixture-based lazy loader does not run under
pytest 9.2: it writes `Function._nodeid`, which pytest no longer has.)
"""

from __future__ import annotations

import logging
import tempfile
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from openml_backend import create_app
from openml_backend.config import TestingConfig
from openml_backend.contract.document import build_document
from tests.helpers import StandingAccount

MAX_EXAMPLES = 50

CONFIG = schemathesis.Config.from_dict({
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
    "phases": {"stateful": {"enabled": False}},
    "operations": [
        # An emailed token that is well formed but unknown is a 400 (token_invalid), which a
        # schema cannot express; so are an unknown OAuth state or one-time code, and a
        # return_to off the website. Everywhere else a schema-valid request must not get a 400.
        {"include-path-regex": "^/api/v1/auth/(confirm|password/reset|email/undo|oauth/exchange)$",
         "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400"]}}},
        # Nor can it say that an uploaded file is a decodable JPEG, PNG or WebP: random bytes are a 400.
        {"include-path-regex": "^/api/v1/users/me/avatar$",
         "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400"]}}},
        {"include-path-regex": "^/api/v1/auth/oauth/[^/]+/(start|callback)$",
         "checks": {"positive_data_acceptance": {"expected-statuses": ["3xx", "400", "404"]}}},
        # A schema cannot say "a well-formed CSV, ARFF or Parquet file whose columns the metadata
        # names": a schema-valid upload may be a 400 (bad file or metadata), 413 or 415 (not data).
        {"include-path-regex": "^/api/v1/datasets$",
         "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "413", "415"]}}},
        # Likewise a well-formed passkey credential whose challenge is unknown (400
        # challenge_invalid), or whose attestation does not verify (400 passkey_invalid).
        {"include-path-regex": "^/api/v1/auth/passkeys/(register|login)/verify$",
         "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "409"]}}},
    ],
})


def contract_document() -> dict[str, Any]:
    """The OpenAPI document, built from an app whose database is never touched.

    This runs at collection, before any test: the root logger's level and handlers (which
    create_app sets) are put back so no other test sees DEBUG logging it did not ask for.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            app = create_app(TestingConfig(environ={"DATABASE_URI": f"sqlite:///{scratch}/unused.db",
                                                    "DATA_DIR": scratch}))
            return build_document(app)
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


schema = schemathesis.openapi.from_dict(contract_document(), config=CONFIG)


def _token_kind(case: schemathesis.Case) -> str | None:
    for requirement in case.operation.definition.raw.get("security", []):
        if "bearerRefresh" in requirement:
            return "refresh_token"
        if "bearerAccess" in requirement:
            return "access_token"
    return None


@schema.parametrize()
# One app per operation and backend on purpose: the examples of an operation share its database,
# as requests to a running service do.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_keeps_its_contract(case: schemathesis.Case, contract_app: Flask, account: StandingAccount) -> None:
    # The checks that send follow-up requests (without auth, other methods) use the schema's app.
    case.operation.schema.app = case.operation.app = contract_app
    # The WSGI transport does not undo Content-Encoding the way an HTTP client does; the gzip
    # variant is checked against the same schema in test_document.py.
    headers = {"Accept-Encoding": "identity"}
    kind = _token_kind(case)
    if kind is not None:
        headers["Authorization"] = f"Bearer {account.fresh_tokens()[kind]}"
    case.call_and_validate(headers=headers)
