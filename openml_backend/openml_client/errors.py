"""What can go wrong talking to OpenML: one exception hierarchy, with messages safe to show.

Every public function of the client raises only `OpenMLError` subclasses. Their messages
never carry URLs or API keys (the ``openml`` client puts the key in query strings), so a
caller may log them or show them to a user.
"""

from __future__ import annotations

import re
from typing import Any


class OpenMLError(Exception):
    """OpenML could not do what was asked; ``str(error)`` is safe to show (no URLs, no keys)."""

    def __init__(self, dataset_id: Any, message: str):
        super().__init__(message)
        self.dataset_id = dataset_id
        self.message = message


class DatasetNotFound(OpenMLError):
    """OpenML has no dataset with this id (error codes 111, 352, ...), or the id is not valid."""


class DatasetForbidden(OpenMLError):
    """The dataset exists but is not shared with the configured API key (OpenML code 112)."""


class OpenMLUnavailable(OpenMLError):
    """OpenML could not be reached, answered 5xx, or did not answer within the timeout."""


class DatasetUnparseable(OpenMLError):
    """OpenML answered, but the data (or its metadata) cannot be parsed."""


# The child process reports a failure as one of these kinds (a string crosses the pipe).
ERRORS_BY_KIND: dict[str, type[OpenMLError]] = {
    "not_found": DatasetNotFound,
    "forbidden": DatasetForbidden,
    "unavailable": OpenMLUnavailable,
    "unparseable": DatasetUnparseable,
}


def redact(text: str) -> str:
    """Drop URLs and api_key values from a message (the client puts the key in query strings)."""
    text = re.sub(r"https?://\S+", "<url>", text)
    return re.sub(r"(?i)api_key=[^&\s]+", "api_key=<redacted>", text)
