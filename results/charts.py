"""Horizontal bar charts drawn on the server as SVG: no chart library, no script, and
the same numbers are always given as a table next to the chart.

``bar_chart`` computes the geometry; ``results/_bar_chart.html`` draws it, so that every
word of a chart goes through the templates' translation tags.

Each chart is drawn twice, and the stylesheet shows one (``lists.css``): ``wide`` for a
laptop, the labels in a column of their own left of the bars, and ``narrow`` for a phone,
each label on its own line above its bar, so that a phone's chart is not the laptop's
shrunk to unreadable text. In both, a label is wrapped on words to at most two lines of
a width its column holds at the font's size (an average glyph of the stylesheet's 13 px
sans-serif is under 7 px wide; the budget assumes 7.5); a label longer than that is
abbreviated with "…", and the bar's ``<title>`` (the tooltip and what a screen reader
reads) gives it whole. Labels start at the left edge (``text-anchor: start``), so a label
wider than its estimate runs towards its bar, never off the start of the drawing.
"""

from dataclasses import dataclass, field
from decimal import Decimal

FONT_SIZE = 13
LINE_HEIGHT = 16
CHAR_WIDTH = 7.5
MAX_LINES = 2
BAR_HEIGHT = 22
GAP = 10
PAD = 4


@dataclass(frozen=True)
class Layout:
    """One drawing's measures: its width, the label column's (0: labels above the
    bars), and the room kept right of the longest bar for its value."""

    width: int
    label_width: int
    value_width: int

    @property
    def label_chars(self) -> int:
        room = (self.label_width or self.width) - 2 * PAD
        return int(room // CHAR_WIDTH)

    @property
    def bar_x(self) -> int:
        return self.label_width

    @property
    def span(self) -> int:
        return self.width - self.label_width - self.value_width


WIDE = Layout(width=960, label_width=320, value_width=140)
NARROW = Layout(width=360, label_width=0, value_width=120)


@dataclass
class Line:
    text: str
    y: int


@dataclass
class DrawnBar:
    label: str
    value: Decimal | int
    lines: list[Line]
    y: int
    width: float
    text_y: int
    value_x: float


@dataclass
class Drawing:
    layout: Layout
    bars: list[DrawnBar] = field(default_factory=list)
    height: int = 0

    @property
    def width(self) -> int:
        return self.layout.width

    @property
    def label_x(self) -> int:
        return PAD

    @property
    def bar_x(self) -> int:
        return self.layout.bar_x


@dataclass
class BarChart:
    id: str
    wide: Drawing
    narrow: Drawing
    money: bool = False
    bar_height: int = BAR_HEIGHT

    @property
    def empty(self) -> bool:
        return not self.wide.bars


def wrap_label(label: str, chars: int, max_lines: int = MAX_LINES) -> list[str]:
    """The label on at most ``max_lines`` lines of at most ``chars`` characters, broken
    between words (a word longer than a line is cut); what does not fit ends in "…"."""
    words = str(label).split()
    lines: list[str] = []
    current = ""
    for word in words:
        while len(word) > chars:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[: chars - 1] + "-")
            word = word[chars - 1 :]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= chars:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1]
        if len(last) >= chars:
            last = last[: chars - 1].rstrip()
        kept[-1] = last.rstrip("-") + "…"
        lines = kept
    return lines or [""]


def _draw(items, layout: Layout, top) -> Drawing:
    drawing = Drawing(layout=layout)
    y = GAP
    for label, value in items:
        lines = wrap_label(label, layout.label_chars)
        text_height = len(lines) * LINE_HEIGHT
        if layout.label_width:
            # Label column: the lines centred on the bar, the row as tall as either.
            row = max(BAR_HEIGHT, text_height)
            bar_y = y + (row - BAR_HEIGHT) // 2
            first = y + (row - text_height) // 2 + FONT_SIZE
        else:
            # Labels above: the lines, then the bar under them.
            row = text_height + 2 + BAR_HEIGHT
            bar_y = y + text_height + 2
            first = y + FONT_SIZE
        width = round(float(value) / float(top) * layout.span, 1) if value else 0
        width = max(width, 1 if value else 0)
        drawing.bars.append(
            DrawnBar(
                label=str(label),
                value=value,
                lines=[Line(text, first + i * LINE_HEIGHT) for i, text in enumerate(lines)],
                y=bar_y,
                width=width,
                text_y=bar_y + BAR_HEIGHT // 2 + 5,
                value_x=layout.bar_x + width + 6,
            )
        )
        y += row + GAP
    drawing.height = y
    return drawing


def bar_chart(chart_id: str, items: list[tuple[str, Decimal | int]], *, money: bool = False):
    """A chart of ``(label, value)`` pairs, longest bar the largest value, drawn for a
    laptop and for a phone."""
    items = list(items)
    top = max((value for _, value in items), default=0) or 1
    return BarChart(
        id=chart_id, wide=_draw(items, WIDE, top), narrow=_draw(items, NARROW, top), money=money
    )
