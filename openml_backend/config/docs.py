"""docs/configuration.md: its table of settings is generated from the declarations."""

from __future__ import annotations

from pathlib import Path

from .settings import ENVIRONMENTS, REQUIRED, SELECTION, SETTINGS, Derived, Setting

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
DOCS_BEGIN = "<!-- BEGIN GENERATED: python -m openml_backend.config docs --write -->"
DOCS_END = "<!-- END GENERATED -->"


def docs_table() -> str:
    """The Markdown table of every declared setting, as docs/configuration.md embeds it."""
    rows = ["| Variable | Type | Development | Production | Testing | Meaning |",
            "| --- | --- | --- | --- | --- | --- |"]
    for setting in SELECTION + SETTINGS:
        name = f"`{setting.name}`"
        if setting.deprecated_alias:
            name += f" (formerly `{setting.deprecated_alias}`)"
        defaults = [_show_default(setting, environment) for environment in ENVIRONMENTS]
        meaning = setting.doc + (" **Secret.**" if setting.secret else "")
        rows.append(f"| {name} | {setting.kind.description} | {' | '.join(defaults)} | {meaning} |")
    return "\n".join(rows) + "\n"


def _show_default(setting: Setting, environment: str) -> str:
    default = setting.default_for(environment)
    if default is REQUIRED:
        return "**required**"
    if default is None:
        return "unset"
    if isinstance(default, Derived):
        return default.text
    if setting.secret:
        return "a committed non-production value"
    return setting.kind.show(default)


def render_docs(current: str) -> str:
    """Return `current` (docs/configuration.md) with the generated block replaced."""
    head, begin, rest = current.partition(DOCS_BEGIN)
    _, end, tail = rest.partition(DOCS_END)
    if not begin or not end:
        raise ValueError(f"{DOCS_PATH.name} lacks the markers {DOCS_BEGIN!r} and {DOCS_END!r}")
    return f"{head}{DOCS_BEGIN}\n{docs_table()}{DOCS_END}{tail}"
