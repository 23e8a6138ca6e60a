#!/usr/bin/env python3
"""Draws benches/summary.svg from criterion's estimates (no dependencies).

Reads <criterion dir>/{pr_read,history}/<function>/<size>/new/estimates.json
(criterion dir: $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion, else
target/criterion) and plots the medians per size on a log scale, one panel
per comparison. Usage: python3 benches/summary.py [out.svg]
"""

import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIZES = [1000, 10000, 50000, 200000]
PANELS = [
    ("All-time PRs: read model vs live", "pr_read", [("read_model", "read model", "#2b8a3e"),
                                                     ("live_sqlite", "live (SQLite)", "#c92a2a")]),
    ("One-year range PRs: day bests vs live", "pr_read", [("range_day_bests", "day bests", "#2b8a3e"),
                                                          ("range_live", "live", "#c92a2a")]),
    ("History pages (20 entries)", "history", [("first_page", "first page", "#1864ab"),
                                               ("deep_page", "halfway (cursor)", "#5f3dc4")]),
]


def criterion_dir():
    if os.environ.get("CRITERION_HOME"):
        return os.environ["CRITERION_HOME"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "criterion")


def median_ns(group, function, size):
    path = os.path.join(criterion_dir(), group, function, str(size), "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def human(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.0f} µs"
    return f"{ns:.0f} ns"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "summary.svg")
    width, panel_h, left, right = 760, 230, 120, 30
    lo, hi = 1e4, 1e9  # 10 µs .. 1 s
    plot_w = width - left - right

    def x(ns):
        return left + plot_w * (math.log10(max(ns, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{panel_h * len(PANELS) + 40}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="20" font-size="14" font-weight="bold">Everfit benches: criterion medians '
           f'(log scale, one user, SQLite, 2 cores)</text>']
    for p, (title, group, series) in enumerate(PANELS):
        top = 40 + p * panel_h
        svg.append(f'<text x="{left}" y="{top + 14}" font-weight="bold">{title}</text>')
        for tick in (1e4, 1e5, 1e6, 1e7, 1e8, 1e9):
            tx = x(tick)
            svg.append(f'<line x1="{tx:.1f}" y1="{top + 22}" x2="{tx:.1f}" y2="{top + panel_h - 30}" stroke="#ddd"/>')
            svg.append(f'<text x="{tx:.1f}" y="{top + panel_h - 16}" text-anchor="middle" fill="#666">{human(tick)}</text>')
        row_h = (panel_h - 60) / len(SIZES)
        bar_h = (row_h - 6) / len(series)
        for i, size in enumerate(SIZES):
            y0 = top + 24 + i * row_h
            svg.append(f'<text x="{left - 8}" y="{y0 + row_h / 2 + 4:.1f}" text-anchor="end">{size:,} entries</text>')
            for j, (fn, label, colour) in enumerate(series):
                ns = median_ns(group, fn, size)
                if ns is None:
                    continue
                y = y0 + j * bar_h
                svg.append(f'<rect x="{left}" y="{y:.1f}" width="{x(ns) - left:.1f}" height="{bar_h - 1:.1f}" fill="{colour}"/>')
                svg.append(f'<text x="{x(ns) + 4:.1f}" y="{y + bar_h - 3:.1f}" font-size="10">{label}: {human(ns)}</text>')
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
