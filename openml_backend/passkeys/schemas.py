"""Request and response bodies of the passkey API, as pydantic models.

The credentials are the JSON a browser's `PublicKeyCredential.toJSON()` gives (binary fields
base64url). Browsers add fields over time (clientExtensionResults, authenticatorAttachment,
publicKey, ...), so the credential objects accept unknown fields; only the ones named here
are passed on to the verification. Names must fit OpenML's latin1 text, as account names do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ..accounts.schemas import LATIN1_TEXT, Request, UtcDateTime
from .models import CREDENTIAL_ID_LENGTH, NAME_LENGTH

# Lengths: a credential id is at most 1023 bytes; the rest is bounded by MAX_CONTENT_LENGTH.
Base64Url = Annotated[StrictStr, Field(min_length=1, max_length=60_000, pattern=r"^[A-Za-z0-9_-]+$")]
CredentialId = Annotated[StrictStr, Field(min_length=1, max_length=CREDENTIAL_ID_LENGTH, pattern=r"^[A-Za-z0-9_-]+$")]
PasskeyName = Annotated[StrictStr, Field(min_length=1, max_length=NAME_LENGTH, pattern=r"\S",
                                         json_schema_extra=LATIN1_TEXT)]
Transport = Annotated[StrictStr, Field(max_length=32)]


class BrowserObject(BaseModel):
    """A part of a browser's credential JSON: unknown fields are allowed and ignored."""

    model_config = ConfigDict(extra="allow")


class AttestationResponse(BrowserObject):
    clientDataJSON: Base64Url
    attestationObject: Base64Url
    transports: list[Transport] = Field(default_factory=list, max_length=10)


class AssertionResponse(BrowserObject):
    clientDataJSON: Base64Url
    authenticatorData: Base64Url
    signature: Base64Url
    userHandle: Base64Url | None = None


class RegistrationCredential(BrowserObject):
    id: CredentialId
    rawId: CredentialId
    type: Literal["public-key"]
    response: AttestationResponse


class AuthenticationCredential(BrowserObject):
    id: CredentialId
    rawId: CredentialId
    type: Literal["public-key"]
    response: AssertionResponse


class PasskeyRegistration(Request):
    credential: RegistrationCredential
    name: PasskeyName | None = None


class PasskeyLogin(Request):
    credential: AuthenticationCredential


class PasskeyRename(Request):
    name: PasskeyName


class CeremonyOptions(BaseModel):
    """What to pass to navigator.credentials.create() or .get() as `publicKey` (binary
    fields base64url, as PublicKeyCredential.parseCreationOptionsFromJSON() and
    parseRequestOptionsFromJSON() read them)."""

    publicKey: dict[str, Any]


class Passkey(BaseModel):
    id: int
    name: str
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None
    transports: list[str]


class PasskeyList(BaseModel):
    passkeys: list[Passkey]


def credential_json(credential: RegistrationCredential | AuthenticationCredential) -> dict[str, Any]:
    """The credential as py_webauthn reads it: the named fields only."""
    response = {name: value for name, value in credential.response.model_dump().items()
                if name in type(credential.response).model_fields and value is not None}
    return {"id": credential.id, "rawId": credential.rawId, "type": credential.type, "response": response}
