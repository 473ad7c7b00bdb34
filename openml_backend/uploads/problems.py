"""What can be wrong with an upload, without Flask: the web layer maps each to a problem+json."""

from __future__ import annotations


class UploadProblem(Exception):
    """An upload refused for a reason the uploader can fix; `code` is stable, the message says
    where (a line, a column, a metadata field)."""

    code = "invalid_upload"

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def details(self) -> dict:
        """The location fields worth giving the client (only those known)."""
        found = {"line": self.line, "column": self.column}
        return {key: value for key, value in found.items() if value is not None}


class UploadTooLarge(UploadProblem):
    """The body or the file is over the upload limit (413)."""

    code = "upload_too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"The upload is larger than the limit of {limit_bytes} bytes.")
        self.limit_bytes = limit_bytes


class UnsupportedFormat(UploadProblem):
    """The content is neither CSV, ARFF nor Parquet (415)."""

    code = "unsupported_format"


class InvalidFile(UploadProblem):
    """The file has the right format but broken content (400)."""

    code = "invalid_file"


class FileLimitExceeded(UploadProblem):
    """The file is of a shape this service refuses to inspect (too many columns, a line too
    long), a guard against files built to exhaust memory (400)."""

    code = "file_limit_exceeded"


class InvalidMetadata(UploadProblem):
    """The metadata JSON is malformed or names columns the file does not have (400)."""

    code = "invalid_metadata"
