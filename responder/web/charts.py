"""Charts for the clinicians' dashboard, drawn on the server as inline SVG.

Why SVG written here: the pages work without JavaScript and their Content-Security-Policy allows no
script, no external font or image. An inline <svg> needs none of them, scales to a phone or a desktop
through its viewBox, and its <title> elements give exact figures on hover and to screen readers.
Every text put in is escaped: labels can be names or addresses taken from mail.

The viewBox is 400 units wide so that 14-15 unit text still reads at 11-12 px in the card of a
360 px phone; the root's max-width (28rem, 1.12 px a unit) keeps desktop text at the body's size. SVG cannot
measure text on the server, so layout uses an estimated width per character.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Okabe and Ito's palette: told apart with every common colour blindness; yellow last (faint on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
NOTHING_YET = "Nothing to show yet."
WIDTH, PAD, FONT, SMALL, HEADING = 400, 8, 15, 14, 17
INK, MUTED, GRID = "#1d2330", "#5a6473", "#d8dde4"
_CHAR = 0.58  # average character width of a sans-serif face, in ems (digits are 0.55, capitals wider)
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


@dataclass(frozen=True)
class Series:
    """One colour in every bar of a stacked chart (a category, or a channel), with one value per label."""

    name: str
    values: Sequence[float]


def _number(value: float) -> str:
    """Compact figures (1.5, 12, 1,204): exact enough for a glance, short enough for a phone."""
    if value == int(value) or abs(value) >= 100:
        return f"{round(value):,}"
    return f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) >= 10 else f"{value:.3g}"


def _amount(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}" if unit else _number(value)


def _width(text: str, size: float) -> float:
    """Estimated width of text in viewBox units, for layout and for thinning labels."""
    return len(text) * size * _CHAR


def _fit(text: str, size: float, room: float) -> str:
    """Text cut with an ellipsis to fit room, as SVG text neither wraps nor clips; the bar's <title> keeps it whole."""
    most = max(1, int(room / (size * _CHAR) + 1e-6))  # the epsilon: text measured to fit exactly still fits
    return text if len(text) <= most else text[: most - 1] + "…"


def _checked(values: Sequence[float], what: str) -> list[float]:
    """The values as floats; a negative or non-finite value is a caller's bug that would draw nonsense."""
    for i, value in enumerate(values):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"charts: value {i} of {what} is {value!r}; a chart needs finite numbers of 0 or more")
    return [float(v) for v in values]


def _heading(title: str) -> tuple[list[str], float]:
    """The title written on the chart, wrapped by hand (SVG text does not wrap); returns the y below it."""
    lines = textwrap.wrap(title, int((WIDTH - 2 * PAD) / (HEADING * _CHAR))) or [""]
    parts = [f'<text x="{PAD}" y="{PAD + HEADING + 22 * i}" font-size="{HEADING}" font-weight="600">{escape(line)}</text>' for i, line in enumerate(lines)]
    return parts, PAD + 22 * len(lines) + 8


def _svg(chart_id: str, title: str, height: float, parts: list[str], kind: str = "chart") -> Markup:
    """The root: role=img named by its <title>, width 100% with no fixed height, so it scales with its container."""
    if not _ID.match(chart_id):
        raise ValueError(f"charts: chart_id {chart_id!r} must be a letter then letters, digits, - or _ (it is an HTML id)")
    root = (f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="{kind}" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" '
            f'style="display:block;max-width:28rem" role="img" aria-labelledby="{chart_id}-title" '
            f'font-family="system-ui, sans-serif" font-size="{FONT}" fill="{INK}"><title id="{chart_id}-title">{escape(title)}</title>')
    return Markup(root + "".join(parts) + "</svg>")


def _bar(x: float, y: float, width: float, height: float, colour: str, tip: str) -> str:
    return (f'<rect class="bar" x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{height:.2f}" fill="{colour}" stroke="#fff" '
            f'stroke-width="0.5"><title>{escape(tip)}</title></rect>')


def empty(chart_id: str, title: str, why: str) -> Markup:
    """A chart frame saying there is nothing to show yet (why), so the page never shows a blank hole."""
    parts, y = _heading(title)
    lines = textwrap.wrap(why, int((WIDTH - 4 * PAD) / (FONT * _CHAR))) or [""]
    box = 30 + 20 * len(lines)
    parts.append(f'<rect x="{PAD}" y="{y}" width="{WIDTH - 2 * PAD}" height="{box}" rx="6" fill="#f5f6f8" stroke="{GRID}" stroke-dasharray="4 4"/>')
    parts += [f'<text x="{WIDTH / 2}" y="{y + 30 + 20 * i}" text-anchor="middle" fill="{MUTED}">{escape(line)}</text>' for i, line in enumerate(lines)]
    return _svg(chart_id, title, y + box + PAD, parts, kind="chart empty")


def _ticks(top: float, whole: bool) -> list[float]:
    """3 to 5 round ticks from 0 reaching top (steps of 1, 2, 2.5 or 5 times a power of ten; whole steps for counts)."""
    magnitude = 10.0 ** math.floor(math.log10(top))
    steps = [f * magnitude for f in (0.25, 0.5, 1, 2, 2.5, 5) if not whole or f * magnitude == int(f * magnitude)]
    step = next(s for s in steps if math.ceil(top / s - 1e-9) <= 4)  # 5 times the magnitude always fits
    return [step * i for i in range(max(2, math.ceil(top / step - 1e-9)) + 1)]


def _legend(series: Sequence[Series], y: float) -> tuple[list[str], float]:
    """A swatch and a name per series, flowed into rows that fit the width; returns the y below it."""
    parts, x = [], float(PAD)
    for s, colour in zip(series, PALETTE, strict=False):
        name = _fit(s.name, SMALL, WIDTH - 2 * PAD - 19)
        if x > PAD and x + 19 + _width(name, SMALL) > WIDTH - PAD:
            x, y = PAD, y + 21
        parts.append(f'<g class="legend"><rect x="{x:.1f}" y="{y + 2}" width="13" height="13" fill="{colour}"/>'
                     f'<text x="{x + 18:.1f}" y="{y + 13.5}" font-size="{SMALL}">{escape(name)}</text></g>')
        x += 19 + _width(name, SMALL) + 14
    return parts, y + 27


def stacked_bars(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], unit: str = "") -> Markup:
    """Vertical stacked bars: one bar per label (e.g. a week "Nov 30"), one colour per series; y axis with 3-5 round ticks from 0."""
    if len(series) > len(PALETTE):
        raise ValueError(f"charts: {len(series)} series in {chart_id!r}; at most {len(PALETTE)} colours can be told apart")
    values = [_checked(s.values, f"series {s.name!r}") for s in series]
    for s, vs in zip(series, values, strict=True):
        if len(vs) != len(labels):
            raise ValueError(f"charts: series {s.name!r} has {len(vs)} values for {len(labels)} labels")
    totals = [sum(column) for column in zip(*values, strict=True)]
    if not totals or max(totals) == 0:
        return empty(chart_id, title, NOTHING_YET)
    parts, y = _heading(title)
    if len(series) > 1:
        legend, y = _legend(series, y)
        parts += legend
    ticks = _ticks(max(totals), whole=all(v == int(v) for vs in values for v in vs))
    left = PAD + max(_width(_number(t), SMALL) for t in ticks) + 6
    short = [_fit(label, SMALL, 90) for label in labels]  # x labels are weeks or days; anything longer is cut
    widest = max(_width(label, SMALL) for label in short)
    right = WIDTH - PAD - widest / 2
    if unit:
        parts.append(f'<text x="{PAD}" y="{y + 9}" font-size="{SMALL}" fill="{MUTED}">{escape(unit)}</text>')
        y += 18
    base, scale = y + 186, 180 / ticks[-1]
    for t in ticks:
        parts.append(f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{base - t * scale:.2f}" y2="{base - t * scale:.2f}" stroke="{MUTED if t == 0 else GRID}"/>'
                     f'<text class="tick" x="{left - 6:.1f}" y="{base - t * scale + 4.5:.2f}" text-anchor="end" font-size="{SMALL}" fill="{MUTED}">{_number(t)}</text>')
    slot = (right - left) / len(labels)
    bar = min(slot * 0.75, 48)  # a few weeks should not make slabs
    every = max(1, math.ceil((widest + 8) / slot))  # show every k-th label, counted back from the latest
    for i, label in enumerate(labels):
        bottom = base
        for s, vs, colour in zip(series, values, PALETTE, strict=False):
            if vs[i] > 0:
                bottom -= vs[i] * scale
                parts.append(_bar(left + slot * (i + 0.5) - bar / 2, bottom, bar, vs[i] * scale, colour, f"{label} · {s.name}: {_amount(vs[i], unit)}"))
        if (len(labels) - 1 - i) % every == 0:
            parts.append(f'<text class="x-label" x="{left + slot * (i + 0.5):.2f}" y="{base + 17}" text-anchor="middle" font-size="{SMALL}">{escape(short[i])}</text>')
    return _svg(chart_id, title, base + 17 + PAD, parts)


def horizontal_bars(chart_id: str, title: str, items: Sequence[tuple[str, float]], unit: str = "", note: Sequence[str] | None = None) -> Markup:
    """One bar per item (e.g. a referral source and its conversions, or a conversation's waiting time), longest scale first as given;
    value written at the bar's end with the unit. `note`, if given, is one extra text per item written after the value (e.g. "3 of 7 referrals").

    Each label sits on its own line above its bar, so a long name or address gets the whole width on a phone.
    """
    if note is not None and len(note) != len(items):
        raise ValueError(f"charts: {len(note)} notes for {len(items)} items in {chart_id!r}")
    values = _checked([value for _, value in items], f"items of {chart_id!r}")
    if not values or max(values) == 0:
        return empty(chart_id, title, NOTHING_YET)
    parts, y = _heading(title)
    amounts = [_amount(v, unit) for v in values]
    notes = [f" · {n}" for n in note] if note is not None else [""] * len(items)
    reserve = max(_width(a + n, FONT) for a, n in zip(amounts, notes, strict=True)) + 6
    room = max(WIDTH - 2 * PAD - reserve, (WIDTH - 2 * PAD) / 3)
    for (label, value), amount, extra in zip(items, amounts, notes, strict=True):
        width = value / max(values) * room
        end = PAD + width + 6
        parts.append(f'<text x="{PAD}" y="{y + 15}">{escape(_fit(label, FONT, WIDTH - 2 * PAD))}</text>'
                     + _bar(PAD, y + 21, width, 17, PALETTE[0], f"{label}: {amount}{extra}")
                     + f'<text class="value" x="{end:.2f}" y="{y + 35}"><tspan font-weight="600">{escape(amount)}</tspan>'
                     + f'<tspan fill="{MUTED}">{escape(_fit(extra, FONT, WIDTH - PAD - end - _width(amount, FONT)))}</tspan></text>')
        y += 49
    return _svg(chart_id, title, y + PAD - 4, parts)
