from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from kubelab._report import Report


def _report() -> Report:
    r = Report("Latency <of> /predict", subtitle="kubelab loadtest http://127.0.0.1:1/ --rate 10")
    r.text("Ten & more requests")
    r.text("the generator was the bottleneck", warning=True)
    r.table([{"p50": 1.25, "p99": 1234567.0, "errors": 3, "kind": "<timeout>"}], ["kind", "p50", "p99", "errors"])
    r.chart("p99 over time", {"p99": ([0, 1, 2, 3], [1.0, 2.0, math.nan, 4.0]), "p50": ([0, 1, 2, 3], [1, 1, 1, 1])},
            xlabel="time (s)", ylabel="latency (ms)", hlines={"objective": 3.0}, logy=True)
    r.chart("rate", {"achieved": ([0, 1, 2], [10, 9, 10])}, steps=True)
    return r


def test_page_is_self_contained_and_escaped(tmp_path: Path) -> None:
    path = _report().write(tmp_path / "sub" / "report.html")
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Latency &lt;of&gt; /predict</title>" in page
    assert "Ten &amp; more requests" in page and '<p class="warn">' in page
    assert "<td>&lt;timeout&gt;</td><td>1.25</td><td>1.23457e+06</td><td>3</td>" in page
    assert page.count("<svg") == 2
    # nothing to fetch: no scripts, no external stylesheets, no URLs other than the SVG/XLink namespaces
    assert "<script" not in page and "<link" not in page
    urls = set(re.findall(r"https?://[^\"'\s<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://127.0.0.1:1/"}, urls


def test_chart_text_is_in_the_svg() -> None:
    page = _report().html()
    for text in ("p99 over time", "latency (ms)", "time (s)", "objective", ">rate<"):
        assert text in page, text


def test_rendering_is_deterministic() -> None:
    assert _report().html() == _report().html()


def test_mismatched_series_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"series 'p99': 3 x values but 2 y values"):
        Report("x").chart("c", {"p99": ([1, 2, 3], [1, 2])})


def test_table_columns_default_to_first_row() -> None:
    page = Report("t").table([{"a": 1, "b": None}]).html()
    assert "<th>a</th><th>b</th>" in page and "<td>1</td><td></td>" in page
