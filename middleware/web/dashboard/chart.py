"""The last 24 hours as a small SVG drawn on the server (pure: an ``Activity`` in, markup out).

Stacked bars: the events received in each hour, coloured by what became of them; a line: the
backlog (events not yet finished) at each hour's end. No script, no inline style: the colours
are classes of ``dashboard.css``, so the Content-Security-Policy stays strict. Hours are told as
"N h ago", which reads the same in every time zone.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from middleware.store import Activity
from middleware.store.activity import OUTCOMES

WIDTH, HEIGHT = 480, 180
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 10, 22


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n not below ``value`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def _ago(hours_ago: int) -> str:
    return "this hour" if hours_ago == 0 else f"{hours_ago} h ago"


def render_svg(activity: Activity) -> Markup:
    """The chart as an ``<svg>`` element with a text summary for screen readers."""
    hours = activity.hours
    count = len(hours) or 1
    top = _nice_ceiling(max([h.total for h in hours] + [h.backlog for h in hours] + [1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / count

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    received = sum(h.total for h in hours)
    backlog_now = hours[-1].backlog if hours else 0
    summary = (
        f"{received} events received in the last {len(hours)} hours; backlog now {backlog_now}"
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(summary)}</title>",
        f'<line class="axis" x1="{LEFT}" y1="{y(0):.1f}" x2="{WIDTH - RIGHT}" y2="{y(0):.1f}"/>',
        f'<line class="grid" x1="{LEFT}" y1="{y(top):.1f}" x2="{WIDTH - RIGHT}" y2="{y(top):.1f}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{y(top) + 4:.1f}" text-anchor="end">{top}</text>',
        f'<text class="tick" x="{LEFT - 4}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
    ]
    points = []
    for i, hour in enumerate(hours):
        x = LEFT + i * slot
        hours_ago = count - 1 - i
        detail = ", ".join(f"{n} {name}" for name, n in hour.received.items() if n) or "none"
        parts.append(
            f'<g class="hour"><title>{escape(_ago(hours_ago))}: received {escape(detail)}; '
            f"backlog {hour.backlog}</title>"
        )
        base = 0
        for outcome in OUTCOMES:
            n = hour.received.get(outcome, 0)
            if n:
                parts.append(
                    f'<rect class="bar bar-{outcome}" x="{x + 1:.1f}" y="{y(base + n):.1f}" '
                    f'width="{max(slot - 2, 1):.1f}" height="{y(base) - y(base + n):.1f}"/>'
                )
                base += n
        # an invisible full-height target, so the hour's tooltip shows over an empty slot too
        parts.append(
            f'<rect class="slot" x="{x:.1f}" y="{TOP}" width="{slot:.1f}" height="{plot_h}"/></g>'
        )
        points.append(f"{x + slot / 2:.1f},{y(hour.backlog):.1f}")
    if points:
        parts.append(f'<polyline class="backlog" points="{" ".join(points)}"/>')
    for i in range(0, count, 6):
        parts.append(
            f'<text class="tick" x="{LEFT + i * slot:.1f}" y="{HEIGHT - 6}">'
            f"{escape(_ago(count - 1 - i))}</text>"
        )
    parts.append(
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">now</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
