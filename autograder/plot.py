"""A line chart drawn as SVG by our own code: what a lab notebook shows of a metric over
time (lab 7's backlog rising and draining), with no plotting library to install.

    chart = line_chart([("messages waiting", [(0, 0), (1, 16), ...])], title="orders-queue",
                       x_label="seconds since the burst began", y_label="messages",
                       marks=[(30, "burst ends"), (150, "predicted drain")])
    chart            # JupyterLab shows the SVG; a terminal or feedback file the text summary

The SVG is self-contained (no script, no external font), so it renders the same in
JupyterLab, in nbconvert's HTML and in a browser opened on the file.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 52, 48   # the legend is a row between title and plot
COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700")

Points = list[tuple[float, float]]


@dataclass
class Chart:
    series: list[tuple[str, Points]]
    title: str = ""
    x_label: str = ""
    y_label: str = ""
    marks: list[tuple[float, str]] = field(default_factory=list)   # vertical lines at x

    def _bounds(self) -> tuple[float, float, float]:
        xs = [x for _, pts in self.series for x, _ in pts] + [x for x, _ in self.marks]
        ys = [y for _, pts in self.series for _, y in pts]
        x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
        return x0, (x1 if x1 > x0 else x0 + 1.0), _nice(max(ys, default=0.0))

    def svg(self) -> str:
        x0, x1, top = self._bounds()
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

        def px(x: float) -> float:
            return LEFT + (x - x0) / (x1 - x0) * plot_w

        def py(y: float) -> float:
            return TOP + plot_h - (y / top) * plot_h

        out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="eventlab-chart" '
               f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
               f'font-family="sans-serif" font-size="12">',
               f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
               f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14" '
               f'font-weight="bold">{_esc(self.title)}</text>']
        for i in range(5):                       # horizontal grid and y ticks
            value = top * i / 4
            y = py(value)
            out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                       f'stroke="#ddd"/>')
            out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
        for i in range(6):                       # x ticks
            value = x0 + (x1 - x0) * i / 5
            out.append(f'<text x="{px(value):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                       f'text-anchor="middle">{value:.0f}</text>')
        out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 10}" '
                   f'text-anchor="middle">{_esc(self.x_label)}</text>')
        out.append(f'<text x="14" y="{TOP + plot_h / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 14 {TOP + plot_h / 2})">{_esc(self.y_label)}</text>')
        for x, label in self.marks:
            out.append(f'<line class="mark" x1="{px(x):.1f}" y1="{TOP}" x2="{px(x):.1f}" '
                       f'y2="{TOP + plot_h}" stroke="#888" stroke-dasharray="4 3"/>')
            right = px(x) > LEFT + 0.8 * plot_w       # near the right edge: label on the left
            anchor = "end" if right else "start"
            out.append(f'<text x="{px(x) + (-4 if right else 4):.1f}" y="{TOP + 12}" fill="#555" '
                       f'text-anchor="{anchor}">{_esc(label)}</text>')
        key_x = float(LEFT)                      # the legend: one row, left to right
        for n, (label, pts) in enumerate(self.series):
            colour = COLOURS[n % len(COLOURS)]
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            out.append(f'<polyline class="series" data-label="{_esc(label)}" fill="none" '
                       f'stroke="{colour}" stroke-width="2" points="{path}"/>')
            out.append(f'<line x1="{key_x:.1f}" y1="{TOP - 14}" x2="{key_x + 18:.1f}" y2="{TOP - 14}" '
                       f'stroke="{colour}" stroke-width="2"/>')
            out.append(f'<text x="{key_x + 22:.1f}" y="{TOP - 10}" fill="{colour}">{_esc(label)}</text>')
            key_x += 22 + 6.5 * len(label) + 18     # about 6.5 px a character at 12 px
        out.append("</svg>")
        return "\n".join(out)

    def text(self) -> str:
        """The chart in words: each series' peak and where it ends, and the marks."""
        lines = [self.title] if self.title else []
        for label, pts in self.series:
            if not pts:
                lines.append(f"{label}: no data")
                continue
            peak = max(pts, key=lambda p: p[1])
            lines.append(f"{label}: {len(pts)} points, peak {peak[1]:g} at {peak[0]:g}, "
                         f"last {pts[-1][1]:g} at {pts[-1][0]:g}")
        lines += [f"| {label} at {x:g}" for x, label in self.marks]
        return "\n".join(lines)

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return self.text()


def line_chart(series: list[tuple[str, Points]], *, title: str = "", x_label: str = "",
               y_label: str = "", marks: list[tuple[float, str]] | None = None) -> Chart:
    """A chart of one or more series of ``(x, y)`` points (y >= 0), with dashed vertical
    ``marks`` such as "burst ends" or "predicted drain"."""
    for label, pts in series:
        bad = [p for p in pts if len(p) != 2 or not all(math.isfinite(float(v)) for v in p)]
        if bad:
            raise ValueError(f"line_chart: series {label!r} has points that are not two finite "
                             f"numbers: {bad[:3]}")
    return Chart([(label, [(float(x), float(y)) for x, y in pts]) for label, pts in series],
                 title, x_label, y_label, [(float(x), str(t)) for x, t in marks or []])


def _nice(peak: float) -> float:
    """A round top for the y axis at or above ``peak`` (1, 2 or 5 times a power of ten)."""
    if peak <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(peak))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= peak)


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)
