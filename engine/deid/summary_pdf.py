"""The approval's one-page summary as a PDF, for a hospital's records system.

The same facts as the HTML summary (``signoff.summary_rows``), laid out on one A4
page with matplotlib's PDF backend (already a dependency: no new package).  Long
values (hashes) wrap; beyond what fits, corrections are counted, not dropped
silently, and the JSON record stays the complete account.
"""

from __future__ import annotations

import io
import json
import textwrap

from engine.deid.signoff import correction_lines, summary_rows

A4 = (8.27, 11.69)  # inches
MAX_CORRECTION_LINES = 18


def summary_pdf(record: dict) -> bytes:
    """One A4 page summarising an approval record."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4)
    y = 0.95

    def put(text: str, size: float = 8.5, x: float = 0.07, mono: bool = False, bold: bool = False, width: int = 95) -> None:
        nonlocal y
        for line in textwrap.wrap(text, width) or [""]:
            fig.text(x, y, line, fontsize=size, family="monospace" if mono else "sans-serif",
                     weight="bold" if bold else "normal", va="top")
            y -= size / 72 / A4[1] * 1.45

    put("De-identification approval", 16, bold=True)
    y -= 0.01
    for label, value in summary_rows(record):
        top = y
        put(label, 8.5, bold=True, width=34)
        low, y = y, top
        put(value, 7.5, x=0.40, mono=True, width=72)
        y = min(y, low) - 0.004
    y -= 0.01
    put("Corrections", 11, bold=True)
    lines = correction_lines(record)
    for line in lines[:MAX_CORRECTION_LINES] or ["none"]:
        put("• " + line, 7.5, mono=True, width=110)
    if len(lines) > MAX_CORRECTION_LINES:
        put(f"… and {len(lines) - MAX_CORRECTION_LINES} more: see the JSON record.", 7.5)
    y -= 0.01
    put("Settings", 11, bold=True)
    put(json.dumps(record.get("settings"), separators=(", ", ": ")), 7, mono=True, width=120)
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf", metadata={"Title": "De-identification approval", "Subject": f"audit record {record.get('seq')}"})
    return buf.getvalue()
