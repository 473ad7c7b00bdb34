"""Inline SVG charts of a dataset's statistics: plain functions from a statistics entry
(stats/FORMAT.md) to SVG markup, with no Flask and no JavaScript.

Every chart is `role="img"` with a `<title>` first; every text taken from the dataset is
escaped. Colours: bars in one blue; the correlation heatmap uses ColorBrewer's 10-class RdBu,
a diverging palette that stays distinguishable under the common colour-vision deficiencies
(blue for -1, red for +1), and draws a null coefficient as a grey hatch, never as a colour of
the scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR = "#3f6fa8"
QUARTILE = "#b2182b"
AXIS = "#555555"
# ColorBrewer RdBu, 10 classes, from -1 (dark blue) to +1 (dark red): class k covers
# [-1 + 0.2 k, -1 + 0.2 (k + 1)), the last one closed at +1.
DIVERGING = ("#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0",
             "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f")
NULL_FILL = "url(#no-value)"
TOP_CATEGORIES = 8
LABEL_CHARS = 22

_WIDTH, _HEIGHT = 240, 72
_PLOT_TOP, _PLOT_BOTTOM = 12, 56


def number(value: float | int | None) -> str:
    """A short human form of a statistic: ints as they are, floats to 4 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.4g}"


def short(label: str, limit: int = LABEL_CHARS) -> str:
    """`label` cut to `limit` characters (an ellipsis marks the cut)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _svg(chart_id: str, title: str, width: int, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{chart_id}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        f'<title id="{chart_id}">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def _bars(counts: Sequence[int], left: float, right: float) -> list[str]:
    """Vertical bars of equal width between x = left and right, scaled to the largest count."""
    tallest = max(counts) if counts else 0
    width = (right - left) / max(1, len(counts))
    height = _PLOT_BOTTOM - _PLOT_TOP
    out = []
    for index, count in enumerate(counts):
        if count <= 0 or tallest <= 0:
            continue
        bar = max(1.0, height * count / tallest)
        out.append(f'<rect x="{left + index * width:.1f}" y="{_PLOT_BOTTOM - bar:.1f}" '
                   f'width="{max(0.5, width - 1):.1f}" height="{bar:.1f}" fill="{BAR}"/>')
    return out


def _axis(low_label: str, high_label: str) -> list[str]:
    return [
        f'<line x1="0" y1="{_PLOT_BOTTOM}" x2="{_WIDTH}" y2="{_PLOT_BOTTOM}" stroke="{AXIS}"/>',
        f'<text x="0" y="{_HEIGHT - 2}" font-size="10" fill="{AXIS}">{escape(low_label)}</text>',
        f'<text x="{_WIDTH}" y="{_HEIGHT - 2}" font-size="10" fill="{AXIS}" text-anchor="end">'
        f"{escape(high_label)}</text>",
    ]


def histogram(chart_id: str, feature: str, entry: dict) -> Markup:
    """The histogram of a numeric entry with its quartiles marked (Q1 and Q3 dashed, the median
    solid). Expects at least one count."""
    bins, counts, quartiles = entry["bins"], entry["counts"], entry.get("quartiles") or []
    low, high = bins[0], bins[-1]
    body = _bars(counts, 0, _WIDTH) + _axis(number(low), number(high))
    if high > low:
        for position, value in zip(("Q1", "median", "Q3"), quartiles):
            x = _WIDTH * (value - low) / (high - low)
            dash = "" if position == "median" else ' stroke-dasharray="3 2"'
            body.append(f'<line x1="{x:.1f}" y1="{_PLOT_TOP - 4}" x2="{x:.1f}" y2="{_PLOT_BOTTOM}" '
                        f'stroke="{QUARTILE}" stroke-width="1.5"{dash}/>')
    title = (f"Histogram of {feature}: {sum(counts)} finite values from {number(low)} to {number(high)}"
             + (f"; quartiles {', '.join(number(q) for q in quartiles)}" if quartiles else ""))
    return _svg(chart_id, title, _WIDTH, _HEIGHT, body)


def date_histogram(chart_id: str, feature: str, entry: dict) -> Markup:
    """The histogram over time of a date entry (ISO edges `bins`, `counts`)."""
    counts = entry["counts"]
    first, last = entry["bins"][0], entry["bins"][-1]
    body = _bars(counts, 0, _WIDTH) + _axis(first[:10], last[:10])
    title = f"Histogram over time of {feature}: {sum(counts)} values from {first} to {last}"
    return _svg(chart_id, title, _WIDTH, _HEIGHT, body)


def category_bars(entry: dict, limit: int = TOP_CATEGORIES) -> list[tuple[str, int]]:
    """(label, count) of the bars of a nominal or string entry: the `limit` most frequent
    categories, then "other" summing every category after them (when any value is there)."""
    categories, counts = entry["categories"], entry["counts"]
    bars = list(zip(categories[:limit], counts[:limit]))
    other = sum(counts[limit:]) + entry.get("other_count", 0)
    if other or len(categories) > limit or entry.get("other_distinct", 0):
        bars.append(("other", other))
    return bars


def categories(chart_id: str, feature: str, entry: dict) -> Markup:
    """Horizontal bars of a nominal or string entry: top categories plus "other"."""
    bars = category_bars(entry)
    row, label_width = 14, 96
    height = row * len(bars) + 4
    widest = max((count for _, count in bars), default=0) or 1
    body = []
    for index, (label, count) in enumerate(bars):
        y = 2 + index * row
        length = (_WIDTH - label_width - 40) * count / widest
        body.append(f'<text x="{label_width - 4}" y="{y + 10}" font-size="10" text-anchor="end" fill="#222">'
                    f"{escape(short(label, 16))}</text>")
        fill = AXIS if label == "other" and index == len(bars) - 1 and len(bars) > 1 else BAR
        body.append(f'<rect x="{label_width}" y="{y + 1}" width="{max(1.0, length):.1f}" height="{row - 3}" '
                    f'fill="{fill}"/>')
        body.append(f'<text x="{label_width + length + 3:.1f}" y="{y + 10}" font-size="10" fill="#222">'
                    f"{count}</text>")
    total = sum(count for _, count in bars)
    title = f"Counts of {feature}: {len(bars)} bars, {total} values"
    return _svg(chart_id, title, _WIDTH, height, body)


def colour_class(value: float) -> int:
    """The index in DIVERGING of a coefficient in [-1, 1]."""
    # rounded first so a boundary such as -0.8 lands in the class it starts, not below it
    position = round((value + 1) / 2 * len(DIVERGING), 9)
    return min(len(DIVERGING) - 1, max(0, math.floor(position)))


def heatmap(features: Sequence[str], matrix: Sequence[Sequence[float | None]]) -> Markup:
    """The correlation heatmap: labelled rows and columns, one square per coefficient (a path
    per colour class keeps wide matrices small), null coefficients hatched, and a legend."""
    n = len(features)
    cell = max(5, min(22, 560 // max(1, n)))
    font = max(5, min(11, cell - 2))
    label_width = min(LABEL_CHARS, max((len(f) for f in features), default=1)) * font * 0.6 + 6
    left, top = label_width, label_width
    paths: dict[str, list[str]] = {}
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            fill = NULL_FILL if value is None else DIVERGING[colour_class(value)]
            paths.setdefault(fill, []).append(f"M{left + j * cell:g} {top + i * cell:g}h{cell}v{cell}h-{cell}z")
    size = n * cell
    legend_top = top + size + 16
    width = int(max(left + size, 420) + 4)
    height = legend_top + 44
    body = [
        '<defs><pattern id="no-value" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e6e6e6"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#6b6b6b" stroke-width="2"/></pattern></defs>',
    ]
    body += [f'<path class="cells" fill="{fill}" d="{"".join(d)}"/>' for fill, d in paths.items()]
    for index, name in enumerate(features):
        label = escape(short(name))
        middle = index * cell + cell / 2 + font / 3
        body.append(f'<text x="{left - 3:g}" y="{top + middle:g}" font-size="{font}" text-anchor="end">{label}</text>')
        body.append(f'<text transform="translate({left + middle:g} {top - 3:g}) rotate(-90)" '
                    f'font-size="{font}">{label}</text>')
    body += _legend(legend_top)
    title = (f"Correlation heatmap of {n} numeric features: blue is negative, red is positive, "
             "hatched grey is no value")
    return _svg("heatmap-title", title, width, int(height), body)


def _legend(top: float) -> list[str]:
    swatch = 32
    out = [f'<text x="0" y="{top - 4:g}" font-size="10">Pearson correlation</text>']
    for index, colour in enumerate(DIVERGING):
        out.append(f'<rect x="{index * swatch}" y="{top:g}" width="{swatch}" height="12" fill="{colour}"/>')
    for index in range(0, len(DIVERGING) + 1, 5):
        out.append(f'<text x="{index * swatch}" y="{top + 24:g}" font-size="10" '
                   f'text-anchor="{"start" if index == 0 else "end" if index == len(DIVERGING) else "middle"}">'
                   f"{-1 + index * 2 / len(DIVERGING):g}</text>")
    x = len(DIVERGING) * swatch + 12
    out.append(f'<rect x="{x}" y="{top:g}" width="{swatch}" height="12" fill="{NULL_FILL}" stroke="#6b6b6b"/>')
    out.append(f'<text x="{x}" y="{top + 24:g}" font-size="10">no value</text>')
    return out
