"""Read a dataset page as a browser would: the feature table's row names, the charts and the
heatmap's cells, from the parsed HTML (not from the page's own code)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class PageParts:
    row_names: list[str] = field(default_factory=list)  # feature table, in the order shown
    chart_titles: list[str] = field(default_factory=list)  # <title> of every svg.chart
    heatmap_cells: int = 0  # squares drawn in the heatmap's paths
    script_tags: int = 0
    texts: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts = PageParts()
        self._in_name = False
        self._in_title = False
        self._name: list[str] = []
        self._title: list[str] = []
        self._in_heatmap = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.parts.script_tags += 1
        if tag == "th" and attributes.get("scope") == "row" and "name" in (attributes.get("class") or ""):
            self._in_name, self._name = True, []
        if tag == "svg" and "chart" in (attributes.get("class") or ""):
            self._in_heatmap = attributes.get("aria-labelledby") == "heatmap-title"
        if tag == "title":
            self._in_title, self._title = True, []
        if tag == "path" and self._in_heatmap and attributes.get("class") == "cells":
            self.parts.heatmap_cells += len(re.findall(r"M", attributes.get("d") or ""))
        if tag == "strong" and self._in_name:
            self._in_name = False
            self.parts.row_names.append("".join(self._name).strip())

    def handle_endtag(self, tag):
        if tag == "th" and self._in_name:
            self._in_name = False
            self.parts.row_names.append("".join(self._name).strip())
        if tag == "title" and self._in_title:
            self._in_title = False
            self.parts.chart_titles.append("".join(self._title))
        if tag == "svg":
            self._in_heatmap = False

    def handle_data(self, data):
        if self._in_name:
            self._name.append(data)
        if self._in_title:
            self._title.append(data)
        self.parts.texts.append(data)


def read_page(html: str) -> PageParts:
    """The parts of a dataset page that tests compare with the statistics."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    # the document's own <title> is not a chart's
    reader.parts.chart_titles = reader.parts.chart_titles[1:]
    return reader.parts


def expected_charts(distribution: dict, names: list[str]) -> int:
    """Charts the statistics call for among `names`: a numeric or date feature with a
    histogram count, a nominal or string feature with a counted value."""
    total = 0
    for name in names:
        entry = distribution[name]
        if entry.get("type") in ("numeric", "date") and entry.get("counts"):
            total += 1
        elif entry.get("type") in ("nominal", "string") and "categories" in entry \
                and sum(entry["counts"]) + entry["other_count"] > 0:
            total += 1
    return total
