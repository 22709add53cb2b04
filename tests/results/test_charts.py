"""The dashboard's bar charts keep their labels (issue 13): wrapped on words within the
label column's budget, abbreviated with "…" beyond two lines, never cut at the start;
drawn for a laptop and a phone. (That the text fits once drawn is measured in the
browser: tests/browser/test_usability_lists.py.)"""

from results.charts import NARROW, WIDE, bar_chart, wrap_label

LONG = "Latin America and the Caribbean"
LONGER = "Information and communication technologies: policy and administrative management"


def test_a_label_wraps_on_words_within_its_budget():
    assert wrap_label(LONG, 20) == ["Latin America and", "the Caribbean"]
    assert wrap_label("Water", 20) == ["Water"]
    for line in wrap_label(LONGER, WIDE.label_chars):
        assert len(line) <= WIDE.label_chars


def test_a_label_beyond_two_lines_is_abbreviated_at_its_end():
    lines = wrap_label(LONGER, 20)
    assert len(lines) == 2
    assert lines[0] == "Information and"
    assert lines[-1].endswith("…") and len(lines[-1]) <= 20
    # A word longer than a line is cut, not left to overflow.
    assert all(len(line) <= 10 for line in wrap_label("Internationalisation", 10))


def test_both_drawings_keep_every_bar_inside_their_width():
    chart = bar_chart("c", [(LONG, 300), (LONGER, 200), ("Small", 1)], money=True)
    for drawing, layout in ((chart.wide, WIDE), (chart.narrow, NARROW)):
        assert drawing.width == layout.width
        for bar in drawing.bars:
            assert drawing.bar_x + bar.width <= layout.width - layout.value_width
            assert bar.lines[0].text.split()[0] in (LONG + LONGER + "Small")
        # Rows do not overlap: each starts below the last one's bar.
        tops = [bar.y for bar in drawing.bars]
        assert tops == sorted(tops)
    # On the phone the label is above its bar; on the laptop beside it.
    first = chart.narrow.bars[0]
    assert first.lines[-1].y < first.y
    assert chart.wide.bars[0].lines[0].y > chart.wide.bars[0].y
