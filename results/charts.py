"""Horizontal bar charts drawn on the server as SVG: no chart library, no script, and
the same numbers are always given as a table next to the chart.

``bar_chart`` computes the geometry; ``results/_bar_chart.html`` draws it, so that every
word of a chart goes through the templates' translation tags.
"""

from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 640
LABEL_WIDTH = 200
VALUE_WIDTH = 110
BAR_HEIGHT = 22
GAP = 10
LABEL_CHARS = 30


@dataclass
class Bar:
    label: str
    short_label: str
    value: Decimal | int
    y: int
    width: float
    text_y: int
    value_x: float


@dataclass
class BarChart:
    id: str
    bars: list[Bar] = field(default_factory=list)
    height: int = 0
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT
    money: bool = False

    @property
    def empty(self) -> bool:
        return not self.bars


def _short(label: str) -> str:
    label = str(label)
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def bar_chart(chart_id: str, items: list[tuple[str, Decimal | int]], *, money: bool = False):
    """A chart of ``(label, value)`` pairs, longest bar the largest value."""
    top = max((value for _, value in items), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, (label, value) in enumerate(items):
        y = GAP + index * (BAR_HEIGHT + GAP)
        width = round(float(value) / float(top) * span, 1) if value else 0
        bars.append(
            Bar(
                label=str(label),
                short_label=_short(label),
                value=value,
                y=y,
                width=max(width, 1 if value else 0),
                text_y=y + BAR_HEIGHT // 2 + 5,
                value_x=LABEL_WIDTH + width + 6,
            )
        )
    height = GAP + len(bars) * (BAR_HEIGHT + GAP)
    return BarChart(id=chart_id, bars=bars, height=height, money=money)
