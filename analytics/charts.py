"""A line chart of the cycle-time trend, drawn on the server as SVG (as results/charts.py
draws bars): the geometry here, the drawing in ``analytics/_line_chart.html``, and the
same numbers always in a table beside it."""

from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 640
HEIGHT = 260
LEFT = 48
RIGHT = 40
TOP = 16
BOTTOM = 40


@dataclass
class Point:
    x: float
    y: float
    label: str
    value: Decimal


@dataclass
class Series:
    name: str
    css: str
    points: list[Point]

    @property
    def path(self) -> str:
        return "".join(
            f"{'M' if index == 0 else 'L'}{p.x:.1f} {p.y:.1f}"
            for index, p in enumerate(self.points)
        )


@dataclass
class LineChart:
    id: str
    width: int = WIDTH
    height: int = HEIGHT
    series: list[Series] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    reference: tuple[float, str] | None = None
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    base_y: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


def _nice_top(value: float) -> int:
    """The top of the y axis: four equal whole steps above the largest value."""
    for quarter in (1, 2, 5, 10, 15, 20, 25, 50, 75, 100, 150, 200, 250, 500, 1000):
        if value <= quarter * 4:
            return quarter * 4
    return int(value // 4 + 1) * 4


def line_chart(
    chart_id: str,
    labels: list[str],
    series: list[tuple[str, str, list[Decimal | None]]],
    *,
    reference: tuple[int, str] | None = None,
) -> LineChart:
    """``labels`` along the x axis (quarters), each series ``(name, css class, values)``
    (None where there is no value: the line skips it), and an optional horizontal
    reference line ``(value, label)`` (the service standard)."""
    values = [float(v) for _, _, vs in series for v in vs if v is not None]
    if reference is not None:
        values.append(float(reference[0]))
    top = _nice_top(max(values, default=1) or 1)
    span_x = WIDTH - LEFT - RIGHT
    span_y = HEIGHT - TOP - BOTTOM
    step = span_x / max(len(labels) - 1, 1)

    def x_of(index):
        return LEFT + (index * step if len(labels) > 1 else span_x / 2)

    def y_of(value):
        return TOP + span_y - float(value) / top * span_y

    chart = LineChart(id=chart_id)
    every = max(1, len(labels) // 8)
    chart.x_labels = [
        (round(x_of(i), 1), label) for i, label in enumerate(labels) if i % every == 0
    ]
    chart.y_ticks = [(round(y_of(top * k / 4), 1), round(top * k / 4)) for k in range(5)]
    for name, css, vs in series:
        points = [
            Point(x=round(x_of(i), 1), y=round(y_of(v), 1), label=labels[i], value=v)
            for i, v in enumerate(vs)
            if v is not None
        ]
        chart.series.append(Series(name=name, css=css, points=points))
    if reference is not None:
        chart.reference = (round(y_of(reference[0]), 1), reference[1])
    return chart
