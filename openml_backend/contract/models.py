"""Response models shared by every endpoint: the problem+json error body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    """One field that failed validation (the submitted value is never echoed)."""

    field: str = Field(description="Dotted path of the field, or `body`.")
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every 4xx and 5xx answer."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="Always `about:blank`.")
    title: str = Field(description="The HTTP status phrase.")
    status: int
    code: str = Field(description="Stable, machine-readable snake_case code; the documented ones are listed "
                                  "per response.")
    detail: str = Field(description="Human-readable explanation.")
    request_id: str | None = Field(description="The X-Request-ID of this request, for the logs.")
    fields: list[FieldError] | None = Field(default=None, description="With `invalid_fields`: each bad field.")
    parameter: str | None = Field(default=None, description="With `invalid_parameter`: the query parameter.")
    checks: dict[str, str] | None = Field(default=None, description="With `not_ready`: each check, ok or failed.")
