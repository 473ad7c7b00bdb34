"""The page's pure parts: SVG charts (pages/svg.py) and what the page shows (pages/layout.py),
without Flask. Expected values are worked out here from the inputs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from openml_backend.pages import layout, svg

SVG_NS = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ET.Element:
    """The chart as XML: it must be well-formed, whatever the dataset's names contain."""
    return ET.fromstring(str(markup))


def test_histogram_marks_the_quartiles_at_their_values() -> None:
    entry = {"bins": [0.0, 2.5, 5.0, 7.5, 10.0], "counts": [1, 4, 2, 0], "quartiles": [2.5, 5.0, 7.5]}
    root = parsed(svg.histogram("c1", "x", entry))
    assert root.attrib["role"] == "img" and root.attrib["aria-labelledby"] == "c1"
    assert root[0].tag == SVG_NS + "title" and root[0].attrib["id"] == "c1"
    bars = root.findall(SVG_NS + "rect")
    assert len(bars) == 3  # the empty bin draws nothing
    heights = [float(bar.attrib["height"]) for bar in bars]
    assert heights[1] == max(heights) and heights[0] == pytest.approx(heights[1] / 4)
    marks = [line for line in root.findall(SVG_NS + "line") if line.attrib["stroke"] == svg.QUARTILE]
    width = float(root.attrib["width"])
    assert [float(m.attrib["x1"]) for m in marks] == pytest.approx([width / 4, width / 2, width * 3 / 4], abs=0.05)
    assert ["stroke-dasharray" in m.attrib for m in marks] == [True, False, True]


def test_a_constant_column_is_one_bar_without_quartile_marks() -> None:
    root = parsed(svg.histogram("c", "k", {"bins": [3.0, 3.0], "counts": [20], "quartiles": [3.0, 3.0, 3.0]}))
    assert len(root.findall(SVG_NS + "rect")) == 1
    assert not [line for line in root.findall(SVG_NS + "line") if line.attrib["stroke"] == svg.QUARTILE]


def test_categories_show_the_top_ones_and_other() -> None:
    entry = {"categories": [f"c{i}" for i in range(12)], "counts": list(range(24, 12, -1)),
             "other_count": 7, "other_distinct": 3}
    bars = svg.category_bars(entry)
    assert bars[:8] == [(f"c{i}", 24 - i) for i in range(8)]
    assert bars[8] == ("other", sum(range(16, 12, -1)) + 7)
    assert svg.category_bars({"categories": ["a"], "counts": [3], "other_count": 0, "other_distinct": 0}) == [("a", 3)]
    root = parsed(svg.categories("c", "f", entry))
    assert len(root.findall(SVG_NS + "rect")) == 9


@pytest.mark.parametrize(("value", "expected"), [(-1.0, 0), (-0.81, 0), (-0.8, 1), (-1e-9, 4), (0.0, 5),
                                                 (0.19, 5), (0.2, 6), (0.999, 9), (1.0, 9)])
def test_colour_classes_are_tenths_of_two(value: float, expected: int) -> None:
    assert svg.colour_class(value) == expected


def test_heatmap_draws_every_cell_and_hatches_nulls() -> None:
    matrix = [[1.0, None, -0.5], [None, None, 0.3], [-0.5, 0.3, 1.0]]
    root = parsed(svg.heatmap(["a", "b", "c"], matrix))
    paths = root.findall(SVG_NS + "path")
    cells = {path.attrib["fill"]: len(re.findall("M", path.attrib["d"])) for path in paths}
    assert sum(cells.values()) == 9
    assert cells[svg.NULL_FILL] == 3
    assert cells[svg.DIVERGING[9]] == 2 and cells[svg.DIVERGING[2]] == 2 and cells[svg.DIVERGING[6]] == 2
    assert root.find(f"{SVG_NS}defs/{SVG_NS}pattern").attrib["id"] == "no-value"
    texts = [t.text for t in root.iter(SVG_NS + "text")]
    assert texts.count("a") == 2 and "no value" in texts and "-1" in texts and "1" in texts


def test_names_are_escaped_in_svg_text_and_titles() -> None:
    name = '<script>alert(1)</script>&"'
    root = parsed(svg.heatmap([name, "x"], [[1.0, 0.5], [0.5, 1.0]]))
    assert any(t.text == svg.short(name) for t in root.iter(SVG_NS + "text"))
    chart = parsed(svg.categories("c", name, {"categories": [name], "counts": [2], "other_count": 0,
                                              "other_distinct": 0}))
    assert name in chart.find(SVG_NS + "title").text
    assert "<script" not in str(svg.histogram("c", name, {"bins": [0.0, 1.0], "counts": [1], "quartiles": None}))


def test_page_numbers_keep_the_ends_and_a_window() -> None:
    assert layout.page_numbers(1, 1) == [1]
    assert layout.page_numbers(1, 401) == [1, 2, 3, 4, None, 401]
    assert layout.page_numbers(200, 401) == [1, None, 197, 198, 199, 200, 201, 202, 203, None, 401]
    assert layout.page_numbers(5, 6) == [1, 2, 3, 4, 5, 6]
    assert layout.page_count(0) == 1 and layout.page_count(50) == 1 and layout.page_count(20001) == 401


def test_sorting_puts_rows_without_a_value_last_in_both_orders() -> None:
    distribution = {
        "n1": {"type": "numeric", "missing": 2, "mean": 5.0, "min": 1, "max": 9, "counts": [1]},
        "cat": {"type": "nominal", "missing": 0, "distinct": 3, "categories": ["a"], "counts": [1],
                "other_count": 0},
        "n2": {"type": "numeric", "missing": 0, "mean": -1.0, "min": -3, "max": 0, "counts": [1]},
        "when": {"type": "date", "missing": 1, "min": "2020-01-01", "max": "2021-01-01"},
        "gone": {"type": "numeric", "ignored": True, "row_id": False, "is_target": False},
    }
    rows = layout.feature_rows(distribution)

    def names(**query) -> list[str]:
        return [row.name for row in layout.select_rows(rows, layout.PageQuery(**query))]

    assert names(sort="mean") == ["n2", "n1", "cat", "when", "gone"]
    assert names(sort="mean", order="desc") == ["n1", "n2", "cat", "when", "gone"]
    assert names(sort="min") == ["n2", "n1", "when", "cat", "gone"]  # numbers, then dates
    assert names(sort="missing", order="desc") == ["n1", "when", "cat", "n2", "gone"]
    assert names(search="N") == ["n1", "n2", "when", "gone"]
    assert names(search="AT") == ["cat"]
    assert [row.chart for row in rows] == ["histogram", "categories", "histogram", None, None]
    assert layout.missing_share(distribution, 10) == (3, 40)


@pytest.mark.parametrize(("server", "expected"), [
    ("https://www.openml.org/api/v1/xml", "https://www.openml.org/d/61"),
    ("https://test.openml.org/api/v1/xml/", "https://test.openml.org/d/61"),
    ("http://127.0.0.1:8081/openml/api/v1/xml", "http://127.0.0.1:8081/openml/d/61"),
])
def test_openml_page_url(server: str, expected: str) -> None:
    assert layout.openml_page_url(server, 61) == expected


def test_preview_cells_keep_their_json_type() -> None:
    assert [layout.preview_cell(v) for v in (3, 3.0, True, None, "3")] == [
        ("3", "int"), ("3.0", "float"), ("true", "bool"), ("missing", "missing"), ("3", "text")]
