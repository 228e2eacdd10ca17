"""Self-contained HTML reports: text, tables and charts in one file that opens anywhere, offline.

Charts are drawn by matplotlib (the ``report`` extra, imported on first chart; its SVG canvas on a bare
``Figure``, never pyplot, so no global backend or figure state changes) and inlined as SVG; the page has no
scripts, no external CSS and no network fetches. Rendering is deterministic: the same report gives the same bytes.

Example::

    report = Report("Load test of http://127.0.0.1:8000/")
    report.text("30 s at 1,000 req/s")
    report.table([{"p50": 1.2, "p99": 4.5}], ["p50", "p99"])
    report.chart("Latency", {"p99": (times, p99s)}, xlabel="time (s)", ylabel="ms", hlines={"SLO": 100})
    report.write("report.html")
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Report", "Series"]

#: One line of a chart: x values and y values of the same length (NaN leaves a gap).
Series = tuple[Sequence[float], Sequence[float]]

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1000px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
p.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .8em 0; font-variant-numeric: tabular-nums; }
th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
figure { margin: 1em 0; } figure svg { width: 100%; height: auto; }
.warn { background: #fff4e0; border-left: 4px solid #e69500; padding: .5em .8em; }
"""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:,.6g}" if abs(value) < 1e15 else f"{value:.3e}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class Report:
    """An HTML report built piece by piece, in order, then written as one self-contained file.

    Args:
        title: The page title and top heading.
        subtitle: A grey line under the title (e.g. the command and the date).
    """

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        self.title = title
        self._parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        if subtitle:
            self._parts.append(f'<p class="sub">{html.escape(subtitle)}</p>')

    def heading(self, text: str) -> Report:
        """A section heading."""
        self._parts.append(f"<h2>{html.escape(text)}</h2>")
        return self

    def text(self, text: str, *, warning: bool = False) -> Report:
        """A paragraph of plain text (escaped); ``warning`` draws it as a highlighted box."""
        css = ' class="warn"' if warning else ""
        self._parts.append(f"<p{css}>{html.escape(text)}</p>")
        return self

    def table(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
              *, title: str | None = None) -> Report:
        """A table of ``rows`` (mappings); ``columns`` picks and orders the keys (default: the first row's)."""
        cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
        out = [f"<h2>{html.escape(title)}</h2>"] if title else []
        out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr></thead>")
        out.append("<tbody>")
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in cols) + "</tr>")
        out.append("</tbody></table>")
        self._parts.append("\n".join(out))
        return self

    def chart(self, title: str, series: Mapping[str, Series], xlabel: str = "", ylabel: str = "", *,
              hlines: Mapping[str, float] | None = None, logy: bool = False, steps: bool = False) -> Report:
        """A line chart, one line per entry of ``series`` (label -> (xs, ys)), as inline SVG.

        Args:
            title: The chart's title.
            series: Label to ``(xs, ys)``; NaN in ``ys`` leaves a gap.
            xlabel: The x axis label.
            ylabel: The y axis label.
            hlines: Label to y value: dashed horizontal reference lines (an objective, a target rate).
            logy: A logarithmic y axis (for latencies spanning decades); values <= 0 are left out.
            steps: Draw each series as steps (a value holds until the next x), as for per-interval counts.

        Raises:
            MissingDependency: matplotlib is not installed (``pip install 'kubelab[report]'``).
            ValueError: a series with xs and ys of different lengths.
        """
        for label, (xs, ys) in series.items():
            if len(xs) != len(ys):
                raise ValueError(f"series {label!r}: {len(xs)} x values but {len(ys)} y values")
        svg = _render_svg(title, series, xlabel, ylabel, dict(hlines or {}), logy, steps)
        self._parts.append(f"<figure>{svg}</figure>")
        return self

    def html(self) -> str:
        """The whole page."""
        body = "\n".join(self._parts)
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>\n"
                f"<body>\n{body}\n</body></html>\n")

    def write(self, path: str | Path) -> Path:
        """Write the page to ``path`` (parent directories are created) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.html(), encoding="utf-8")
        return target


def _render_svg(title: str, series: Mapping[str, Series], xlabel: str, ylabel: str, hlines: dict[str, float],
                logy: bool, steps: bool) -> str:
    from kubelab._deps import require

    require("matplotlib", "report")
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "kubelab", "font.size": 9}):
        fig = Figure(figsize=(9, 3.2), layout="constrained")
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        for label, (xs, ys) in series.items():
            points = [(x, y) for x, y in zip(xs, ys, strict=True) if not (logy and y is not None and y <= 0)]
            px, py = [p[0] for p in points], [p[1] for p in points]
            if steps:
                ax.step(px, py, where="post", label=label, linewidth=1.3)
            else:
                ax.plot(px, py, label=label, linewidth=1.3, marker="." if len(px) < 40 else None)
        for i, (label, y) in enumerate(hlines.items()):
            ax.axhline(y, linestyle="--", linewidth=1, color=f"C{(len(series) + i) % 10}", label=label)
        if logy:
            ax.set_yscale("log")
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if series or hlines:
            ax.legend(loc="best", fontsize=8, frameon=False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
