"""Horizontal bar charts as values: where each bar, label, grid line and legend item goes, for a template to
draw as inline SVG (templates/report.html). One scale per chart; bars start at 0.

Pure: numbers in, coordinates out. Sizes are in the SVG's own units; the page scales the drawing to its width
(viewBox), so 800 units read well from an 800 px window to 1200 px, and on paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import babel.numbers

__all__ = ["COLOURS", "SINGLE", "Chart", "bar_chart"]

CHART_WIDTH = 800
PLOT_LEFT = 270  # the labels end here, right-aligned
PLOT_RIGHT = 730  # room after the longest bar for its number
BAR = 14
BAR_GAP = 2
ROW_GAP = 10
LEGEND = 28
AXIS = 26
LABEL_CHARS = 38  # what fits left of the bars at 13 units; the full label is the row's <title>
# Okabe and Ito's palette: told apart with every common colour vision deficiency, and in grey print.
COLOURS = {"registered": "#0072B2", "waiting": "#E69F00", "cancelled": "#999999", "present": "#009E73"}
SINGLE = "#0072B2"


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    colour: str
    series: str  # its name, for the bar's <title>
    value: str  # written after the bar; "not recorded" for a figure that is not
    missing: bool = False  # the figure was not recorded: no bar, only the words


@dataclass(frozen=True)
class ChartRow:
    label: str  # shortened to fit
    full_label: str
    y: float  # the middle of the row, where the label sits
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class LegendItem:
    x: float
    colour: str
    label: str


@dataclass(frozen=True)
class Chart:
    id: str
    width: int
    height: float
    plot_left: int
    plot_top: float
    plot_bottom: float
    ticks: tuple[tuple[float, str], ...]  # x, label
    rows: tuple[ChartRow, ...]
    legend: tuple[LegendItem, ...]
    bar: int = BAR  # a bar's thickness


def bar_chart(
    chart_id: str,
    rows: Sequence[tuple[str, Sequence[int | None]]],
    series: Sequence[tuple[str, str]],
    *,
    language: str,
    not_recorded: str = "",
) -> Chart:
    """Horizontal bars: per row (label, one value per series) a group of bars on one scale.
    `series` is (name, colour) each; with more than one they get a legend."""
    top = max((v for _, values in rows for v in values if v is not None), default=0)
    step = _step(top)
    axis_max = max(step, -(-top // step) * step)
    scale = (PLOT_RIGHT - PLOT_LEFT) / axis_max
    legend = _legend(series) if len(series) > 1 else ()
    y = float(LEGEND if legend else 8)
    group = len(series) * BAR + (len(series) - 1) * BAR_GAP
    chart_rows = []
    for label, values in rows:
        bars = tuple(
            Bar(
                y=y + i * (BAR + BAR_GAP),
                width=round((value or 0) * scale, 1),
                colour=colour,
                series=name,
                value=not_recorded if value is None else babel.numbers.format_decimal(value, locale=language),
                missing=value is None,
            )
            for i, ((name, colour), value) in enumerate(zip(series, values, strict=True))
        )
        chart_rows.append(ChartRow(_shorten(label), label, y + group / 2, bars))
        y += group + ROW_GAP
    plot_top, plot_bottom = float(LEGEND if legend else 8) - 4, y - ROW_GAP + 4
    ticks = tuple(
        (round(PLOT_LEFT + value * scale, 1), babel.numbers.format_decimal(value, locale=language))
        for value in range(0, axis_max + 1, step)
    )
    return Chart(
        chart_id,
        CHART_WIDTH,
        plot_bottom + AXIS,
        PLOT_LEFT,
        plot_top,
        plot_bottom,
        ticks,
        tuple(chart_rows),
        legend,
    )


def _step(top: int) -> int:
    """The distance between grid lines: 1, 2 or 5 times a power of ten, for at most five lines past 0."""
    magnitude = 1
    while True:
        for base in (1, 2, 5):
            if top <= 5 * base * magnitude:
                return base * magnitude
        magnitude *= 10


def _legend(series: Sequence[tuple[str, str]]) -> tuple[LegendItem, ...]:
    items, x = [], float(PLOT_LEFT)
    for name, colour in series:
        items.append(LegendItem(x, colour, name))
        x += 12 + 6 + len(name) * 7 + 20  # swatch, gap, the name at about 7 units a letter, space
    return tuple(items)


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"
