"""Inline SVG charts for the indicator report, drawn in Python so the page needs no script or CDN.

Each chart is plain SVG markup with CSS classes (styled by the report's stylesheet) and ``data-*``
attributes that name what was drawn, so a test can check the rendered page has real data in it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

Point = tuple[float, float]  # (x in fractional years, value)


@dataclass(frozen=True)
class Series:
    key: str  # "actual" or "national": the CSS class and data-series attribute
    label: str
    points: Sequence[Point]
    point_labels: Sequence[str]  # tooltip per point, e.g. "2021: 2.16 %"


@dataclass(frozen=True)
class TargetMark:
    year: float
    value: float
    label: str  # e.g. "Target ≥ 2.6 % by 2025"
    status: str  # met | on_track | at_risk | off_track (CSS class of the path)


def format_number(value: float | None, decimals: int | None = None) -> str:
    """A figure as people read it: thousands separators, at most 2 decimals, no trailing zeros."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if decimals is None:
        decimals = 0 if abs(value) >= 1000 or float(value).is_integer() else 2
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text.replace("-", "−")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 × 10^n apart) covering [low, high]."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


@dataclass(frozen=True)
class _Frame:
    """Maps data coordinates to SVG pixels inside the plot area."""

    x0: float
    x1: float
    y0: float
    y1: float
    left: float
    right: float
    top: float
    bottom: float

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0) * (self.right - self.left)

    def y(self, value: float) -> float:
        return self.bottom - (value - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top)


def _path(frame: _Frame, points: Sequence[Point]) -> str:
    return " ".join(
        f"{'M' if i == 0 else 'L'}{frame.x(x):.1f},{frame.y(y):.1f}" for i, (x, y) in enumerate(points)
    )


def draws_path(latest: Point | None, target: TargetMark | None) -> bool:
    """Whether a chart shows the path to the target: only after the latest figure, and not once met."""
    return latest is not None and target is not None and target.year > latest[0] and target.status != "met"


def line_chart(
    series: Sequence[Series],
    target: TargetMark | None,
    latest: Point | None,
    unit_suffix: str,
    title: str,
    y_title: str = "",
    x_title: str = "",
    width: int = 560,
    height: int = 250,
) -> str:
    """A line chart of ``series`` with the target, and the straight path from ``latest`` to the target.

    The path is drawn when :func:`draws_path` says so. ``y_title`` (the unit) and ``x_title`` are written
    along the axes.
    """
    drawn = [s for s in series if s.points]
    xs = [x for s in drawn for x, _ in s.points]
    ys = [y for s in drawn for _, y in s.points]
    if latest is not None:
        xs.append(latest[0])
        ys.append(latest[1])
    if target is not None:
        xs.append(target.year)
        ys.append(target.value)
    if not xs:
        raise ValueError(f"nothing to draw in chart {title!r}")
    y_ticks = nice_ticks(min(ys), max(ys))
    x_low, x_high = math.floor(min(xs)), math.ceil(max(xs))
    if x_high - x_low < 2:
        x_low, x_high = x_low - 1, x_high + 1
    frame = _Frame(
        x0=x_low - 0.3, x1=x_high + 0.3, y0=y_ticks[0], y1=y_ticks[-1],
        left=66 if y_title else 52, right=width - 18, top=30, bottom=height - (44 if x_title else 30),
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for tick in y_ticks:
        y = frame.y(tick)
        parts.append(f'<line class="grid" x1="{frame.left}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{frame.left - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(format_number(tick))}{escape(unit_suffix)}</text>"
        )
    step = max(1, math.ceil((x_high - x_low + 1) / 9))
    for year in range(x_low, x_high + 1, step):
        x = frame.x(year)
        parts.append(f'<line class="axis-tick" x1="{x:.1f}" x2="{x:.1f}" y1="{frame.bottom}" y2="{frame.bottom + 4}"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{frame.bottom + 18}" text-anchor="middle">{year}</text>')
    parts.append(f'<line class="axis" x1="{frame.left}" x2="{frame.right}" y1="{frame.bottom}" y2="{frame.bottom}"/>')
    if y_title:
        middle = (frame.top + frame.bottom) / 2
        parts.append(
            f'<text class="axis-title" data-axis="y" x="12" y="{middle:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {middle:.1f})">{escape(y_title)}</text>'
        )
    if x_title:
        parts.append(
            f'<text class="axis-title" data-axis="x" x="{(frame.left + frame.right) / 2:.1f}" y="{height - 6}" '
            f'text-anchor="middle">{escape(x_title)}</text>'
        )

    if target is not None:
        ty = frame.y(target.value)
        parts.append(
            f'<line class="target-line" x1="{frame.left}" x2="{frame.right}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
        )
        if draws_path(latest, target):
            parts.append(
                f'<path class="target-path status-{escape(target.status)}" data-series="path" '
                f'd="{_path(frame, [latest, (target.year, target.value)])}"/>'
            )
    for s in drawn:
        parts.append(
            f'<path class="series series-{escape(s.key)}" data-series="{escape(s.key)}" '
            f'data-points="{len(s.points)}" d="{_path(frame, s.points)}"/>'
        )
        for (x, y), label in zip(s.points, s.point_labels, strict=True):
            parts.append(
                f'<circle class="dot dot-{escape(s.key)}" cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="3.5">'
                f"<title>{escape(s.label)} {escape(label)}</title></circle>"
            )
    if target is not None:
        tx, ty = frame.x(target.year), frame.y(target.value)
        parts.append(
            f'<path class="target-mark" data-series="target" d="M{tx:.1f},{ty - 7:.1f} L{tx + 7:.1f},{ty:.1f} '
            f'L{tx:.1f},{ty + 7:.1f} L{tx - 7:.1f},{ty:.1f} Z"><title>{escape(target.label)}</title></path>'
        )
        anchor = "end" if tx > (frame.left + frame.right) / 2 else "start"
        offset = -10 if anchor == "end" else 10
        parts.append(
            f'<text class="target-label" x="{tx + offset:.1f}" y="{ty - 9:.1f}" text-anchor="{anchor}">'
            f"{escape(target.label)}</text>"
        )
    if latest is not None:
        lx, ly = frame.x(latest[0]), frame.y(latest[1])
        parts.append(f'<circle class="dot-latest" cx="{lx:.1f}" cy="{ly:.1f}" r="5.5"/>')
        parts.append(
            f'<text class="value-label" x="{lx:.1f}" y="{ly - 10:.1f}" text-anchor="middle">'
            f"{escape(format_number(latest[1]))}{escape(unit_suffix)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def progress_bar(
    value: float, target: float, status: str, title: str, axis_title: str = "", width: int = 560, height: int = 46
) -> str:
    """A horizontal bar: how far ``value`` has come towards ``target`` (for counts of new things), with
    ``axis_title`` (what is counted, in which unit) written under the middle of the scale."""
    share = 0.0 if target == 0 else max(0.0, min(value / target, 1.0))
    inner = width - 2
    box = height + (16 if axis_title else 0)
    return (
        f'<svg class="chart progress" viewBox="0 0 {width} {box}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<rect class="progress-track" x="1" y="8" width="{inner}" height="18" rx="9"/>'
        f'<rect class="progress-fill status-{escape(status)}" data-series="progress" x="1" y="8" '
        f'width="{max(inner * share, 18):.1f}" height="18" rx="9"/>'
        f'<text class="tick" x="1" y="{height - 4}">0</text>'
        f'<text class="tick" x="{width - 1}" y="{height - 4}" text-anchor="end">{escape(format_number(target))}</text>'
        f'<text class="value-label" x="{min(max(inner * share, 30), inner - 30):.1f}" y="{height - 4}" '
        f'text-anchor="middle">{escape(format_number(value))} ({share:.0%})</text>'
        + (
            f'<text class="axis-title" data-axis="x" x="{width / 2:.0f}" y="{height + 12}" text-anchor="middle">'
            f"{escape(axis_title)}</text>"
            if axis_title
            else ""
        )
        + "</svg>"
    )
