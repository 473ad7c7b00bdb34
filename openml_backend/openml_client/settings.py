"""Where and how the client reaches OpenML."""

from __future__ import annotations

from dataclasses import dataclass

FETCH_START_METHODS = ("forkserver", "spawn")


@dataclass(frozen=True)
class OpenMLSettings:
    """Where and how to reach OpenML. ``timeout`` bounds one whole fetch, in seconds."""

    server_url: str
    cache_dir: str
    timeout: float = 30.0
    retries: int = 1
    apikey: str | None = None
    # The download cache is pruned to this many bytes after each fetch (None: never pruned).
    cache_max_bytes: int | None = None
    # "forkserver": ~0.1 s per cold fetch, but keeps a ~240 MiB process (openml imported) per
    # worker; "spawn": nothing resident, ~3.5 s per cold fetch (bench/openml_fetch_overhead.py).
    fetch_start_method: str = "forkserver"

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError("OpenMLSettings.timeout must be a positive number of seconds")
        if self.retries < 1:
            raise ValueError("OpenMLSettings.retries must be at least 1")
        if self.fetch_start_method not in FETCH_START_METHODS:
            raise ValueError(f"OpenMLSettings.fetch_start_method must be one of {FETCH_START_METHODS}")
        if self.cache_max_bytes is not None and self.cache_max_bytes < 0:
            raise ValueError("OpenMLSettings.cache_max_bytes must not be negative")

    def __repr__(self) -> str:  # keep the API key out of logs and tracebacks
        return (
            f"OpenMLSettings(server_url={self.server_url!r}, cache_dir={self.cache_dir!r}, "
            f"timeout={self.timeout!r}, retries={self.retries!r}, apikey={'***' if self.apikey else None}, "
            f"fetch_start_method={self.fetch_start_method!r}, cache_max_bytes={self.cache_max_bytes!r})"
        )
