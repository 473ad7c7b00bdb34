"""Request and response bodies of the OAuth endpoints (the contract reads them too)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr

from ..accounts.schemas import Request, UtcDateTime

ProviderName = Literal["github", "google"]


class OAuthExchange(Request):
    """The one-time code a finished login put in the website's address."""

    code: Annotated[StrictStr, Field(min_length=1, max_length=200)]


class LinkedIdentity(BaseModel):
    provider: ProviderName
    email: str
    linked_at: UtcDateTime


class LinkedIdentities(BaseModel):
    identities: list[LinkedIdentity]
