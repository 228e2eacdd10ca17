from __future__ import annotations

from pathlib import Path

from kubelab.load import TimeScaled, parse_profile
from kubelab.load._files import SIEGE_LOG_COLUMNS, phases, write_siege_log
from kubelab.load._stats import Interval


def _intervals(n: int) -> list[Interval]:
    out = []
    for k in range(n):
        iv = Interval(float(k), 1.0)
        for _ in range(10 * (k + 1)):
            iv.record(100_000, 200 if k else 500, 1000)
        out.append(iv)
    return out


def test_phases_follow_the_steps_of_a_profile() -> None:
    assert phases(parse_profile("step:1,2,3@2s"), 6.0) == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    assert phases(TimeScaled(parse_profile("step:1,2@60s"), 30), 4.0) == [(0.0, 2.0), (2.0, 4.0)]
    assert phases(parse_profile("constant", rate=5, duration=9), 9.2) == [(0.0, 9.2)]
    assert phases(parse_profile("step:1,2,3@2s"), 3.0) == [(0.0, 2.0), (2.0, 4.0)]  # interrupted in phase 2


def test_siege_log_appends_rows_under_one_header(tmp_path: Path) -> None:
    log = tmp_path / "siege.log"
    profile = parse_profile("step:1,2@2s")
    write_siege_log(log, _intervals(4), profile, 4.0, 0.0)
    write_siege_log(log, _intervals(4), profile, 4.0, 0.0)
    lines = log.read_text().splitlines()
    assert [c.strip() for c in lines[0].split(",")] == list(SIEGE_LOG_COLUMNS)
    assert len(lines) == 5
    cells = [c.strip() for c in lines[1].split(",")]
    # phase 1: 10 HTTP 500s then 20 OKs in 2 s, each 0.1 s, 1 kB
    assert cells[1:] == ["30", "2.00", "0.03", "0.100", "15.00", "0.01", "1.50", "20", "0"]
    assert [c.strip() for c in lines[2].split(",")][1] == "70"
