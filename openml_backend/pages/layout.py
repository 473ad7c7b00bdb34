"""What the dataset page shows, from the statistics document (no Flask): the header figures,
the feature rows sorted, searched and cut into pages, and which charts each row gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

FEATURES_PER_PAGE = 50
PREVIEW_ROWS = 20
HEATMAP_MAX_FEATURES = 100
SORT_KEYS = ("position", "name", "type", "missing", "distinct", "min", "mean", "max")
ORDERS = ("asc", "desc")
MAX_SEARCH_CHARS = 200


@dataclass(frozen=True)
class PageQuery:
    """The page's query: sort key and order, page number (from 1) and feature-name search."""

    sort: str = "position"
    order: str = "asc"
    page: int = 1
    search: str = ""


@dataclass(frozen=True)
class FeatureRow:
    """One row of the feature table and the chart it gets (`chart`: histogram, dates,
    categories or None)."""

    position: int
    name: str
    entry: dict
    type: str
    missing: int | None
    distinct: int | None
    min: float | int | str | None
    mean: float | None
    max: float | int | str | None
    chart: str | None
    note: str


def feature_rows(distribution: dict[str, dict]) -> list[FeatureRow]:
    """Every feature of the document in table order."""
    return [_row(position, name, entry) for position, (name, entry) in enumerate(distribution.items())]


def chart_kind(entry: dict) -> str | None:
    """The chart a feature gets: one for every detailed entry with at least one counted value."""
    kind = entry.get("type")
    if kind == "numeric" and entry.get("counts"):
        return "histogram"
    if kind == "date" and entry.get("counts"):
        return "dates"
    if kind in ("nominal", "string") and "categories" in entry and (
            sum(entry["counts"]) + entry.get("other_count", 0)) > 0:
        return "categories"
    return None


def _row(position: int, name: str, entry: dict) -> FeatureRow:
    kind = entry.get("type", "")
    numeric = kind == "numeric"
    if entry.get("absent"):
        note = "declared by OpenML, not in the data"
    elif entry.get("ignored"):
        note = "row id, left out" if entry.get("row_id") else "ignored, left out"
    elif entry.get("detail") is False:
        note = "summary only (beyond the detailed features)"
    else:
        note = ""
    return FeatureRow(
        position=position,
        name=name,
        entry=entry,
        type=kind,
        missing=entry.get("missing"),
        distinct=entry.get("distinct"),
        min=entry.get("min") if numeric or kind == "date" else None,
        mean=entry.get("mean") if numeric else None,
        max=entry.get("max") if numeric or kind == "date" else None,
        chart=chart_kind(entry),
        note=note,
    )


def select_rows(rows: list[FeatureRow], query: PageQuery) -> list[FeatureRow]:
    """The rows whose name contains the search (case-insensitive), sorted by `query.sort`.

    Rows without a value for the sort key come last in either order; ties keep table order.
    """
    needle = query.search.casefold()
    found = [row for row in rows if needle in row.name.casefold()] if needle else list(rows)
    if query.sort == "position":
        return found[::-1] if query.order == "desc" else found
    if query.sort in ("name", "type"):
        return sorted(found, key=lambda row: getattr(row, query.sort).casefold(), reverse=query.order == "desc")
    with_value = [row for row in found if getattr(row, query.sort) is not None]
    without = [row for row in found if getattr(row, query.sort) is None]
    # numbers before ISO date strings: they never compare with each other
    with_value.sort(key=lambda row: (isinstance(getattr(row, query.sort), str), getattr(row, query.sort)),
                    reverse=query.order == "desc")
    return with_value + without


def page_count(n_rows: int) -> int:
    """Pages of FEATURES_PER_PAGE rows (one page when there is no row)."""
    return max(1, -(-n_rows // FEATURES_PER_PAGE))


def page_numbers(current: int, last: int, around: int = 3) -> list[int | None]:
    """The page links to show: the first, the last and `around` pages either side of the
    current one; None marks a gap."""
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    out: list[int | None] = []
    for number in shown:
        if out and number - (out[-1] or 0) > 1:
            out.append(None)
        out.append(number)
    return out


def missing_share(distribution: dict[str, dict], total_rows: int) -> tuple[int, int]:
    """(missing cells, all cells) over the features that have counts (ignored, row-id and absent
    features have none)."""
    counted = [entry["missing"] for entry in distribution.values() if "missing" in entry]
    return sum(counted), total_rows * len(counted)


def targets(distribution: dict[str, dict]) -> list[str]:
    """The target features, in table order."""
    return [name for name, entry in distribution.items() if entry.get("is_target")]


def openml_page_url(server_url: str, dataset_id: int) -> str:
    """The dataset's page on the OpenML site whose API is `server_url`
    (https://www.openml.org/api/v1/xml -> https://www.openml.org/d/61)."""
    parts = urlsplit(server_url)
    path = parts.path.split("/api/", 1)[0].rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}/d/{dataset_id}"


def preview_cell(value: object) -> tuple[str, str]:
    """(text, kind) of a preview cell, its JSON type kept: kind is int, float, bool, text or
    missing."""
    if value is None:
        return "missing", "missing"
    if isinstance(value, bool):
        return ("true" if value else "false"), "bool"
    if isinstance(value, int):
        return str(value), "int"
    if isinstance(value, float):
        return repr(value), "float"
    return str(value), "text"
