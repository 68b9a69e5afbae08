"""Chart geometry for server-rendered SVG: plain numbers in, rectangles and labels out.

The templates draw what these return; no JavaScript charting, so charts render without a script,
print, and can be read by a screen reader through each shape's <title>.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = "chart-label"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: list[Rect]
    texts: list[Text]
    summary: str  # what the chart says, for the figure's caption and assistive technology


DAILY_W, DAILY_H, DAILY_PAD = 300, 130, 18


def daily_chart(
    days: Sequence[date], opened: Mapping[date, int], resolved: Mapping[date, int], top: int
) -> Chart:
    """Opened and resolved side by side for each day; `top` is shared so small multiples compare."""
    top = max(top, 1)
    plot_h = DAILY_H - 2 * DAILY_PAD
    slot = (DAILY_W - 30) / max(len(days), 1)
    bar = max(slot / 2 - 1, 1)
    rects, texts = [], []
    for i, day in enumerate(days):
        for j, (kind, counts) in enumerate((("opened", opened), ("resolved", resolved))):
            n = counts.get(day, 0)
            h = plot_h * n / top
            rects.append(
                Rect(
                    x=30 + i * slot + j * bar,
                    y=DAILY_PAD + plot_h - h,
                    width=bar,
                    height=h,
                    css=f"bar-{kind}",
                    title=f"{day:%a %d %b}: {n} {kind}",
                )
            )
    texts.append(Text(26, DAILY_PAD + 4, str(top), anchor="end"))
    texts.append(Text(26, DAILY_PAD + plot_h, "0", anchor="end"))
    if days:
        texts.append(Text(30, DAILY_H - 2, f"{days[0]:%d %b}"))
        texts.append(Text(DAILY_W, DAILY_H - 2, f"{days[-1]:%d %b}", anchor="end"))
    total_opened = sum(opened.get(d, 0) for d in days)
    total_resolved = sum(resolved.get(d, 0) for d in days)
    summary = f"{total_opened} opened and {total_resolved} resolved over {len(days)} days"
    return Chart(DAILY_W, DAILY_H, rects, texts, summary)


ROW_H, LABEL_W, BAR_X, BARS_W = 30, 150, 156, 380


def share_chart(rows: Sequence[tuple[str, int, int]]) -> Chart:
    """One horizontal bar per row: the share `kept / total`, coloured by how good it is."""
    rects, texts, parts = [], [], []
    for i, (label, kept, total) in enumerate(rows):
        share = kept / total if total else 0.0
        css = "share-good" if share >= 0.9 else "share-warn" if share >= 0.75 else "share-bad"
        y = i * ROW_H + 4
        rects.append(Rect(BAR_X, y, BARS_W, ROW_H - 10, "share-track", f"{label}: {kept} of {total}"))
        rects.append(
            Rect(BAR_X, y, BARS_W * share, ROW_H - 10, css, f"{label}: {share:.0%} ({kept}/{total})")
        )
        texts.append(Text(LABEL_W, y + 14, label, anchor="end"))
        texts.append(Text(BAR_X + BARS_W + 6, y + 14, f"{share:.0%}"))
        parts.append(f"{label} {share:.0%}")
    return Chart(BAR_X + BARS_W + 50, max(len(rows), 1) * ROW_H, rects, texts, "; ".join(parts))


def stacked_chart(rows: Sequence[tuple[str, Sequence[int]]], buckets: Sequence[str]) -> Chart:
    """One horizontal bar per row, split into buckets; every row shares the same scale."""
    top = max((sum(counts) for _, counts in rows), default=0) or 1
    rects, texts, parts = [], [], []
    for i, (label, counts) in enumerate(rows):
        y = i * ROW_H + 4
        x = float(BAR_X)
        for b, (bucket, n) in enumerate(zip(buckets, counts, strict=True)):
            w = BARS_W * n / top
            if n:
                rects.append(Rect(x, y, w, ROW_H - 10, f"age-{b}", f"{label}: {n} open {bucket}"))
            x += w
        texts.append(Text(LABEL_W, y + 14, label, anchor="end"))
        texts.append(Text(x + 6, y + 14, str(sum(counts))))
        parts.append(f"{label} {sum(counts)}")
    return Chart(BAR_X + BARS_W + 50, max(len(rows), 1) * ROW_H, rects, texts, "; ".join(parts))
