"""`python -m openml_backend.config check [--print NAME ...]` and `... docs [--write]`."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from . import ConfigError, load_config
from .docs import DOCS_PATH, docs_table, render_docs
from .settings import SETTINGS

EX_USAGE = 64  # sysexits.h: the command was used incorrectly
EX_CONFIG = 78  # sysexits.h: configuration error
_PRINTABLE = {"ENVIRONMENT"} | {setting.name for setting in SETTINGS}

log = logging.getLogger("openml_backend.config")


USAGE = ("usage: python -m openml_backend.config check [--print NAME ...]\n"
         "       python -m openml_backend.config docs [--write]")


def main(argv: list[str]) -> int:
    """`check` validates the environment's configuration: exit 0, or 78 with one JSON line on
    stderr naming the variable; `--print NAME...` then prints those values, space-separated
    (`-` for an unset one). `docs` prints the settings table (`--write` updates the docs)."""
    command, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if command == "check" and (not args or (args[0] == "--print" and args[1:] and set(args[1:]) <= _PRINTABLE)):
        return _check(args[1:])
    if command == "docs" and args in ([], ["--write"]):
        if args:
            DOCS_PATH.write_text(render_docs(DOCS_PATH.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            sys.stdout.write(docs_table())
        return 0
    print(USAGE, file=sys.stderr)
    return EX_USAGE


def _check(names: Iterable[str]) -> int:
    from ..logs import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.propagate = False
    try:
        config = load_config()
    except ConfigError as error:
        log.error(f"configuration error: {error}")
        return EX_CONFIG
    for warning in config.warnings:
        log.warning(warning)
    names = list(names)
    if names:
        print(" ".join("-" if config.value(n) is None else str(config.value(n)) for n in names))
    else:
        print(f"configuration ok: environment={config.ENVIRONMENT} database={config.database_uri_for_logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
