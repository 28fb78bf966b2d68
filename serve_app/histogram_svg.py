"""A test's score distribution as a standalone SVG bar chart: hand-written, valid XML, text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from serve_app.schemas import ScoreBin

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 40, 60  # margins around the plot area


def _ticks(top: int) -> list[int]:
    """Whole-number y ticks from 0 to `top`, at most about six of them."""
    step = max(1, -(-top // 5))
    return list(range(0, top + 1, step))


def score_histogram_svg(title: str, bins: Sequence[ScoreBin]) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    ticks = _ticks(max([b.count for b in bins] + [1]))
    scale_top = max(ticks[-1], 1)
    bar_w = plot_w / max(len(bins), 1)
    base = TOP + plot_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="{WIDTH / 2:.0f}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    for tick in ticks:
        y = base - plot_h * tick / scale_top
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for position, score_bin in enumerate(bins):
        height = plot_h * score_bin.count / scale_top
        x = LEFT + position * bar_w
        label = f"{score_bin.low}-{score_bin.high}"
        parts.append(
            f'<rect class="bar" x="{x + 2:.1f}" y="{base - height:.1f}" width="{bar_w - 4:.1f}" '
            f'height="{height:.1f}" fill="#3b6fb6"><title>{label}%: {score_bin.count}</title></rect>'
        )
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{base + 16}" text-anchor="middle">{label}</text>')
    parts += [
        f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#333"/>',
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 18}" text-anchor="middle">Percentage score</text>',
        f'<text x="16" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 16 {TOP + plot_h / 2:.0f})">Finished attempts</text>',
        "</svg>\n",
    ]
    return "\n".join(parts)
