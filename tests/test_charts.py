"""The dashboard's charts: well-formed SVG whatever the labels hold, bars in proportion to their values,
exact figures in every bar's <title>, a legend naming each series, an empty frame instead of a hole,
and thinned week labels on a year of weeks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from responder.web.charts import NOTHING_YET, Series, empty, horizontal_bars, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script>&"\'</svg>'
WEEKS = [f"w{n}" for n in range(1, 53)]


def parse(chart: Markup) -> ET.Element:
    assert isinstance(chart, Markup)
    return ET.fromstring(str(chart))


def bars(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]


def texts(root: ET.Element, cls: str | None = None) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text") if cls is None or e.get("class") == cls]


def tip(bar: ET.Element) -> str:
    title = bar.find(f"{SVG}title")
    assert title is not None, "every bar carries a <title> with its figure"
    return title.text or ""


def test_stacked_bars_draw_each_nonzero_value_in_proportion_with_its_figure() -> None:
    root = parse(stacked_bars("weekly", "Inquiries per week", ["Nov 23", "Nov 30", "Dec 7"],
                              [Series("email", [3, 0, 6]), Series("sms", [1, 2, 0])], unit="inquiries"))
    drawn = {tip(b): float(b.get("height", "")) for b in bars(root)}
    assert set(drawn) == {"Nov 23 · email: 3 inquiries", "Dec 7 · email: 6 inquiries", "Nov 23 · sms: 1 inquiries", "Nov 30 · sms: 2 inquiries"}
    per_unit = drawn["Nov 23 · sms: 1 inquiries"]
    assert drawn["Nov 30 · sms: 2 inquiries"] == pytest.approx(2 * per_unit, abs=0.02)
    assert drawn["Nov 23 · email: 3 inquiries"] == pytest.approx(3 * per_unit, abs=0.02)
    assert drawn["Dec 7 · email: 6 inquiries"] == pytest.approx(6 * per_unit, abs=0.02)
    # a stack: the second series sits on top of the first
    email, sms = (next(b for b in bars(root) if tip(b).startswith(f"Nov 23 · {name}")) for name in ("email", "sms"))
    assert float(sms.get("y", "")) + float(sms.get("height", "")) == pytest.approx(float(email.get("y", "")), abs=0.02)


def test_the_y_axis_has_three_to_five_round_ticks_from_zero_past_the_tallest_bar() -> None:
    for top, expected in ((13, ["0", "5", "10", "15"]), (1, ["0", "1", "2"]), (38, ["0", "10", "20", "30", "40"]),
                          (1204, ["0", "500", "1,000", "1,500"]), (0.9, ["0", "0.25", "0.5", "0.75", "1"])):
        root = parse(stacked_bars("t", "Ticks", ["a", "b"], [Series("s", [top, 0])]))
        assert texts(root, "tick") == expected, top


def test_the_legend_names_every_series_and_a_single_series_needs_none() -> None:
    names = ["new inquiry", "professional referral", "existing client", "crisis", "automated", "solicitation"]
    root = parse(stacked_bars("cats", "By category", ["Nov 30"], [Series(name, [1]) for name in names]))
    legend = [e for e in root.iter(f"{SVG}g") if e.get("class") == "legend"]
    assert ["".join(g.itertext()) for g in legend] == names
    assert len({swatch.get("fill") for g in legend for swatch in g.iter(f"{SVG}rect")}) == len(names)
    single = parse(stacked_bars("one", "Email", ["Nov 30"], [Series("email", [1])]))
    assert not [e for e in single.iter(f"{SVG}g") if e.get("class") == "legend"]


def test_a_year_of_weeks_shows_every_kth_label_ending_on_the_latest() -> None:
    root = parse(stacked_bars("year", "A year", WEEKS, [Series("email", list(range(52)))]))
    shown = texts(root, "x-label")
    assert 4 <= len(shown) <= 13 and shown[-1] == "w52"
    step = WEEKS.index(shown[-1]) - WEEKS.index(shown[-2])
    assert step > 1 and all(WEEKS.index(b) - WEEKS.index(a) == step for a, b in zip(shown, shown[1:], strict=False))
    assert len(bars(root)) == 51  # week 1 is zero: nothing drawn for it
    few = parse(stacked_bars("few", "Four weeks", WEEKS[:4], [Series("email", [1, 2, 3, 4])]))
    assert texts(few, "x-label") == WEEKS[:4]


def test_horizontal_bars_are_in_proportion_with_the_value_unit_and_note_at_the_end() -> None:
    items = [("dr.lee@clinic.example", 1204.0), ("Psychology Today", 12.0), ("website", 1.5), ("walk-in", 0.0)]
    root = parse(horizontal_bars("sources", "Conversions by referral source", items, unit="h", note=["a", "b", "c", "d"]))
    drawn = bars(root)
    assert [tip(b) for b in drawn] == ["dr.lee@clinic.example: 1,204 h · a", "Psychology Today: 12 h · b", "website: 1.5 h · c", "walk-in: 0 h · d"]
    widths = [float(b.get("width", "")) for b in drawn]
    for (_, value), width in zip(items, widths, strict=True):
        assert width == pytest.approx(value / 1204 * widths[0], abs=0.02)
    assert texts(root, "value") == ["1,204 h · a", "12 h · b", "1.5 h · c", "0 h · d"]
    assert "dr.lee@clinic.example" in texts(root)


def test_hostile_labels_come_out_escaped_and_well_formed() -> None:
    charts = [
        stacked_bars("s", HOSTILE, [HOSTILE, "b"], [Series(HOSTILE, [1, 2]), Series("sms", [1, 0])], unit=HOSTILE),
        horizontal_bars("h", HOSTILE, [(HOSTILE, 3.0)], unit=HOSTILE, note=[HOSTILE]),
        empty("e", HOSTILE, HOSTILE),
    ]
    for chart in charts:
        assert "<script" not in chart and "</svg>" not in chart[:-6]
        root = parse(chart)
        assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
        assert root.findtext(f"{SVG}title") == HOSTILE
        assert any(HOSTILE in t for t in texts(root) + [tip(b) for b in bars(root)])


def test_zero_data_gives_the_empty_frame() -> None:
    for chart in (stacked_bars("z", "Weekly", ["Nov 30", "Dec 7"], [Series("email", [0, 0]), Series("sms", [0.0, 0.0])]),
                  stacked_bars("z", "Weekly", [], []), stacked_bars("z", "Weekly", ["Nov 30"], []),
                  stacked_bars("z", "Weekly", [], [Series("email", [])]),
                  horizontal_bars("z", "Sources", []), horizontal_bars("z", "Sources", [("website", 0)])):
        root = parse(chart)
        assert root.get("class") == "chart empty" and not bars(root)
        assert NOTHING_YET in texts(root)
    root = parse(empty("waiting", "Waiting on us", "No conversation is waiting on us."))
    assert texts(root) == ["Waiting on us", "No conversation is waiting on us."]


def test_every_chart_is_a_scalable_image_named_by_its_own_title() -> None:
    charts = [stacked_bars("weekly", "Weekly", ["a"], [Series("email", [1])]), horizontal_bars("sources", "Sources", [("a", 1)]),
              empty("waiting", "Waiting", "Nothing waits")]
    ids: list[str] = []
    for chart in charts:
        root = parse(chart)
        assert root.get("role") == "img" and root.get("width") == "100%" and root.get("height") is None
        assert root.get("viewBox", "").startswith("0 0 400 ")
        title = root.find(f"{SVG}title")
        assert title is not None and root.get("aria-labelledby") == title.get("id") == f"{root.get('id')}-title"
        ids += [e.get("id", "") for e in root.iter() if e.get("id")]
        assert "href" not in chart and "url(" not in chart and "<script" not in chart and "<style" not in chart
    assert len(ids) == len(set(ids)) == 6


def test_bad_input_is_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="chart_id"):
        empty('x" onload="y', "T", "why")
    with pytest.raises(ValueError, match="series 'sms' has 1 values for 2 labels"):
        stacked_bars("c", "T", ["a", "b"], [Series("email", [1, 2]), Series("sms", [1])])
    with pytest.raises(ValueError, match="value 1 of series 'email' is -1"):
        stacked_bars("c", "T", ["a", "b"], [Series("email", [1, -1])])
    with pytest.raises(ValueError, match="value 0 of items"):
        horizontal_bars("c", "T", [("a", float("nan"))])
    with pytest.raises(ValueError, match="2 notes for 1 items"):
        horizontal_bars("c", "T", [("a", 1)], note=["x", "y"])
    with pytest.raises(ValueError, match="9 series"):
        stacked_bars("c", "T", ["a"], [Series(str(n), [1]) for n in range(9)])
