"""Request and response bodies of the accounts API, as pydantic models.

Requests forbid unknown fields (no mass assignment: `active`, `id`, `api_key` ... are refused
with 400) and use strict types (a number is not a name). Length limits apply before any
password is hashed. The OpenAPI document reuses these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from .charset import STORABLE_PATTERN
from .identifiers import USERNAME_PATTERN
from .models import EMAIL_MAX_LENGTH
from .passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

# What SMTP can carry without SMTPUTF8: an RFC 5322 dot-atom-ish local part and a host name of
# letters, digits and hyphens in labels of 1 to 63 characters. An internationalised domain is
# sent in its IDNA form (xn--...). The JSON schema of the contract is this same pattern, so a
# request the contract calls valid is one the service accepts.
EMAIL_PATTERN = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{1,63}$"

Email = Annotated[
    StrictStr,
    Field(max_length=EMAIL_MAX_LENGTH, pattern=EMAIL_PATTERN),
    AfterValidator(str.lower),
]

NewPassword = Annotated[StrictStr, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
GivenPassword = Annotated[StrictStr, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
# Lengths are those of OpenML's columns (first_name and last_name varchar(50), company 100, country 50).
# Text must fit OpenML's latin1 tables: the contract says so, and the views answer 400
# unsupported_characters naming the field (charset.py) rather than a generic invalid_fields.
LATIN1_TEXT = {"allOf": [{"pattern": STORABLE_PATTERN}]}
Name = Annotated[StrictStr, Field(min_length=1, max_length=50, pattern=r"\S", json_schema_extra=LATIN1_TEXT)]
Company = Annotated[StrictStr, Field(max_length=100, json_schema_extra=LATIN1_TEXT)]
Country = Annotated[StrictStr, Field(max_length=50, json_schema_extra=LATIN1_TEXT)]
Bio = Annotated[StrictStr, Field(max_length=2000, json_schema_extra=LATIN1_TEXT)]
Username = Annotated[StrictStr, Field(pattern=USERNAME_PATTERN)]
EmailedTokenText = Annotated[StrictStr, Field(min_length=1, max_length=200)]  # the raw token a link carries


class Request(BaseModel):
    """Base of every request body: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class SignupRequest(Request):
    email: Email
    password: NewPassword
    first_name: Name
    last_name: Name


class TokenRequest(Request):
    token: EmailedTokenText


class EmailRequest(Request):
    email: Email


class LoginRequest(Request):
    # Exactly one of email and username, each absent or a string (null is refused); the
    # contract says so with oneOf, so a schema-valid login is never a 400.
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["email"]}, {"required": ["username"]}]})

    email: Email = None  # type: ignore[assignment]
    # A pattern, so look-alike variants (accents, spaces, `@`) are refused before any lookup.
    username: Username = None  # type: ignore[assignment]
    password: GivenPassword

    @model_validator(mode="after")
    def one_identifier(self) -> LoginRequest:
        if (self.email is None) == (self.username is None):
            raise ValueError("give exactly one of email or username")
        return self


class ProfileUpdate(Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    first_name: Name = None  # type: ignore[assignment]  # absent means unchanged; null is refused
    last_name: Name = None  # type: ignore[assignment]
    bio: Bio = None  # type: ignore[assignment]
    company: Company = None  # type: ignore[assignment]
    country: Country = None  # type: ignore[assignment]
    # Unique among accounts, whatever the case; 409 username_taken otherwise.
    username: Username = None  # type: ignore[assignment]
    email: Email = None  # type: ignore[assignment]
    # A new email needs it unless the access token's login is at most REAUTH_SECONDS old.
    current_password: GivenPassword = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def something_to_change(self) -> ProfileUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of first_name, last_name, bio, company, country, username, email")
        return self


class PasswordChange(Request):
    current_password: GivenPassword
    new_password: NewPassword
    rotate_api_key: StrictBool = Field(False, description="Also replace the API key.")


class PasswordReset(Request):
    token: EmailedTokenText
    new_password: NewPassword
    rotate_api_key: StrictBool = Field(True, description="Also replace the API key (on unless false).")


class EmailChangeUndo(Request):
    token: EmailedTokenText
    new_password: NewPassword
    rotate_api_key: StrictBool = Field(True, description="Also replace the API key (on unless false).")


class AccountDeletion(Request):
    password: GivenPassword


class FeedbackRequest(Request):
    email: Email
    message: Annotated[StrictStr, Field(min_length=1, max_length=5000, pattern=r"\S")]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


def _as_utc(moment: datetime) -> datetime:
    # The database keeps naive UTC; without an offset the JSON would not be RFC 3339.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


class UserProfile(BaseModel):
    id: int
    email: str
    username: str
    first_name: str
    last_name: str
    bio: str
    company: str
    country: str
    image: str | None
    created_at: UtcDateTime
    confirmed_at: UtcDateTime | None
    email_change_pending: str | None = None


class ApiKey(BaseModel):
    api_key: str


class WebsiteApiKey(BaseModel):
    """The shape the website's frontend reads from GET /api-key."""

    apikey: str


class Accepted(BaseModel):
    status: str
    detail: str


class Confirmed(BaseModel):
    status: Literal["confirmed"]
    confirmed: Literal["account", "email"]


class Done(BaseModel):
    """The outcome of an action that returns nothing else."""

    status: Literal["logged_out", "logged_out_everywhere", "password_reset", "email_restored"]
