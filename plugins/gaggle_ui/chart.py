"""The burndown chart, drawn on the server as SVG from the sweep's daily snapshots.

One stacked bar per day (finished work at the bottom, not started on top) and a line
for what remains (every bucket but done and no-change-needed). Each bar segment and
each point carries its numbers in data-* attributes and a <title>, so a reader hovering
it, a screen reader and a test all see the same figures.
"""

from __future__ import annotations

from html import escape

from gaggle.progress import BUCKETS, LABELS

COLORS = {
    "done": "#2e7d32",
    "merged": "#66bb6a",
    "open": "#42a5f5",
    "decision": "#ffb300",
    "attention": "#ef6c00",
    "failed": "#c62828",
    "no-change-needed": "#9e9e9e",
    "not-started": "#cfd8dc",
}
FALLBACK_COLOR = "#b0bec5"  # a bucket added to gaggle.progress later still draws
FINISHED = ("done", "no-change-needed")


def color(bucket: str) -> str:
    return COLORS.get(bucket, FALLBACK_COLOR)


def burndown_svg(
    snapshots: list[dict], width: int = 760, height: int = 260, title: str = "Burndown"
) -> str:
    """`snapshots`: [{"day": "YYYY-MM-DD", "counts": {bucket: n}}], oldest first."""
    if not snapshots:
        return (
            f'<svg class="burndown empty" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'width="{width}" height="60" viewBox="0 0 {width} 60" data-days="0">'
            f"<title>{escape(title)}: no snapshot yet</title>"
            '<text x="10" y="35" font-size="13" fill="#555">No snapshot yet: the nightly '
            "gaggle_status_sweep writes one a day.</text></svg>"
        )
    left, right, top, bottom = 44, 210, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s["counts"].values()) for s in snapshots]
    peak = max(max(totals), 1)
    step = plot_w / len(snapshots)
    bar_w = max(1.0, step * 0.8)

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / peak

    parts = [
        f'<svg class="burndown" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'data-days="{len(snapshots)}" data-first-day="{escape(snapshots[0]["day"])}" '
        f'data-last-day="{escape(snapshots[-1]["day"])}">',
        f"<title>{escape(title)}</title>",
    ]
    for value in sorted({0, peak // 2, peak}):  # axis and grid
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#e0e0e0"/><text x="{left - 6}" y="{y(value) + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#555">{value}</text>'
        )
    points = []
    for i, snapshot in enumerate(snapshots):
        x = left + i * step + (step - bar_w) / 2
        day = escape(snapshot["day"])
        base = 0
        for bucket in BUCKETS:
            count = snapshot["counts"].get(bucket, 0)
            if count:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y(base + count):.1f}" width="{bar_w:.1f}" '
                    f'height="{y(base) - y(base + count):.1f}" fill="{color(bucket)}" '
                    f'data-day="{day}" data-bucket="{bucket}" data-count="{count}">'
                    f"<title>{day} {escape(LABELS.get(bucket, bucket))}: {count}</title></rect>"
                )
            base += count
        remaining = sum(n for b, n in snapshot["counts"].items() if b not in FINISHED)
        points.append((x + bar_w / 2, y(remaining), snapshot["day"], remaining, snapshot))
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py, *_ in points)
    parts.append(f'<polyline class="remaining ink" points="{path}" fill="none" stroke="#212121" '
                 'stroke-width="2"/>')  # fmt: skip
    for px, py, day, remaining, snapshot in points:
        live = bool(snapshot.get("live"))  # today's point: the ledger now, not a snapshot
        mark, now = (' data-live="true"', " (now)") if live else ("", "")
        parts.append(
            f'<circle class="remaining-point" cx="{px:.1f}" cy="{py:.1f}" r="3" '
            f'fill="#212121" data-day="{escape(day)}" data-remaining="{remaining}"'
            f"{mark}><title>{escape(day)}{now}: "
            f"{remaining} remaining</title></circle>"
        )
    labels = {0, len(snapshots) - 1, (len(snapshots) - 1) // 2}
    for i in sorted(labels):
        x = left + i * step + step / 2
        parts.append(
            f'<text x="{x:.1f}" y="{height - 12}" font-size="11" text-anchor="middle" '
            f'fill="#555">{escape(snapshots[i]["day"])}</text>'
        )
    legend_x = width - right + 12
    for i, bucket in enumerate((*reversed(BUCKETS), "remaining")):
        ly = top + i * 17
        mark = (
            f'<line class="ink" x1="{legend_x}" x2="{legend_x + 11}" y1="{ly + 6}" y2="{ly + 6}" '
            'stroke="#212121" stroke-width="2"/>'
            if bucket == "remaining"
            else f'<rect x="{legend_x}" y="{ly}" width="11" height="11" fill="{color(bucket)}"/>'
        )
        label = "Remaining" if bucket == "remaining" else LABELS.get(bucket, bucket)
        parts.append(
            f'{mark}<text x="{legend_x + 16}" y="{ly + 10}" font-size="11" fill="#333">'
            f"{escape(label if len(label) < 30 else label[:28] + '…')}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
