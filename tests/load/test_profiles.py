from __future__ import annotations

import math
from pathlib import Path

import pytest

import kubelab.load as load
from kubelab.errors import LoadTestError, SpecError
from kubelab.load import Constant, Ramp, Sine, Spike, Steps, Target, TimeScaled, parse_duration, parse_profile


def test_public_names_resolve() -> None:
    for name in load.__all__:
        assert getattr(load, name) is not None, name


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("1.5m", 90), ("500ms", 0.5), ("1h", 3600),
                                               ("2min", 120), (" 7 s ", 7)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-3s", "ten", "5 parsecs", "1e3"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(LoadTestError, match="bad duration .*hint: a positive number"):
        parse_duration(text)


def test_constant_takes_the_flag_value_and_duration() -> None:
    p = parse_profile("constant", rate=200, duration=10)
    assert p.duration == 10 and not p.closed
    assert p.tick(0) == p.tick(9.99) == Target(rate=200)
    assert p.tick(10) is None


def test_constant_closed_loop_with_own_value_and_length() -> None:
    p = parse_profile("constant:30@2m", users=10, delay=1.5)
    assert p.duration == 120 and p.closed
    assert p.tick(60) == Target(users=30, delay=1.5)


def test_constant_without_duration_runs_until_stopped() -> None:
    assert parse_profile("constant", rate=5).duration == math.inf


def test_steps_hold_each_value() -> None:
    p = parse_profile("step:10,50,100@60s", rate=1)
    assert p.duration == 180
    assert [p.tick(t) for t in (0, 59.9, 60, 119, 120, 179.9)] == [
        Target(rate=10), Target(rate=10), Target(rate=50), Target(rate=50), Target(rate=100), Target(rate=100)]
    assert p.tick(180) is None


def test_ramp_is_linear_and_rounds_users() -> None:
    p = parse_profile("ramp:10..110@100s")
    assert p.tick(0) == Target(rate=10) and p.tick(50) == Target(rate=60) and p.tick(100) is None
    users = parse_profile("ramp:0..10", users=1, duration=10)
    assert users.tick(4.6) == Target(users=5)


def test_spike() -> None:
    p = parse_profile("spike:base=50,peak=500,at=30s,width=10s", duration=60)
    assert [p.tick(t) for t in (29.9, 30, 39.9, 40)] == [Target(rate=50), Target(rate=500), Target(rate=500),
                                                         Target(rate=50)]


def test_sine() -> None:
    p = parse_profile("sine:mean=50,amp=30,period=300", duration=600)
    assert p.tick(0) == Target(rate=50)
    tick = p.tick(75)
    assert tick is not None and tick.rate == pytest.approx(80)
    tick = p.tick(225)
    assert tick is not None and tick.rate == pytest.approx(20)


def test_each_kind_parses_to_its_profile() -> None:
    assert parse_profile("constant:100@60s") == Constant(Target(rate=100), 60)
    assert parse_profile("constant", users=4, delay=2) == Constant(Target(users=4, delay=2))
    assert parse_profile("step:10,50@1m", users=1, delay=2) == Steps(
        (0, 60), (Target(users=10, delay=2), Target(users=50, delay=2)), 120)
    assert parse_profile("ramp:10..110@100s") == Ramp(10, 110, 100)
    assert parse_profile("ramp:0..10", users=1, delay=1.5, duration=10) == Ramp(0, 10, 10, True, 1.5)
    # keywords in any order, durations with units
    assert parse_profile("spike:width=10s,at=0.5m,peak=500,base=50", duration=60) == Spike(50, 500, 30, 10, 60)
    assert parse_profile("sine:period=5m,amp=3,mean=5", users=1, duration=600) == Sine(5, 3, 300, 600, True, 0.0)
    assert parse_profile("sine:mean=50,amp=30,period=300", rate=1, duration=9) == Sine(50, 30, 300, 9)


def test_csv_profile(tmp_path: Path) -> None:
    f = tmp_path / "load.csv"
    f.write_text("seconds,target\n0,10\n30,40\n# a comment\n60,20\n")
    p = parse_profile(str(f))
    assert p.duration == 90  # the last row holds as long as the gap before it
    assert [p.tick(t) for t in (0, 30, 89)] == [Target(rate=10), Target(rate=40), Target(rate=20)]
    assert parse_profile(f"csv:{f}", users=1, duration=100).tick(95) == Target(users=20)


def test_csv_path_may_hold_an_at_sign(tmp_path: Path) -> None:
    f = tmp_path / "load@2x.csv"
    f.write_text("0,10\n5,20\n")
    assert parse_profile(f"csv:{f}").duration == 10


def test_csv_profile_reports_every_bad_row(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("0,10\n5,abc\n6,1\n3,1\n7\n")
    with pytest.raises(SpecError) as info:
        parse_profile(f"csv:{f}")
    message = str(info.value)
    assert "3 problems found" in message
    assert f"{f}:2:1: '5,abc' is not seconds,target" in message
    assert f"{f}:4:1: seconds: 3 does not increase; hint: rows in time order" in message
    assert f"{f}:5:1: '7' is not seconds,target" in message


def test_csv_profile_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LoadTestError, match=r"profile file .*nope.csv: No such file or directory"):
        parse_profile(str(tmp_path / "nope.csv"))


def test_csv_users_must_be_whole(tmp_path: Path) -> None:
    f = tmp_path / "users.csv"
    f.write_text("0,2.5\n")
    with pytest.raises(SpecError, match=r"users.csv:1:3: target: 2.5 is not a whole number of users"):
        parse_profile(str(f), users=1, duration=10)


def test_course_is_seed_001() -> None:
    p = parse_profile("course")
    assert p.duration == 1800 and p.closed
    minutes = [p.tick(60 * m + 30) for m in range(30)]
    assert minutes[0] == Target(users=20, delay=100)
    assert minutes[9] == Target(users=20, delay=3)
    assert minutes[15] == minutes[19] == Target(users=30, delay=1)
    assert minutes[29] == Target(users=20, delay=80)
    assert sum(1 for m in minutes if m == Target(users=20, delay=1)) == 5
    assert p.tick(1800) is None


def test_time_scale_compresses_the_schedule_only() -> None:
    p = TimeScaled(parse_profile("course"), 30)
    assert p.duration == 60
    assert p.tick(2.5) == Target(users=20, delay=100)  # minute 1.25 of the course; delays are not scaled
    assert p.tick(29.5) == Target(users=20, delay=1)  # minute 14.75
    assert p.tick(30.5) == Target(users=30, delay=1)  # minute 15.25
    with pytest.raises(ValueError, match="positive"):
        TimeScaled(p, 0)


@pytest.mark.parametrize(("text", "kwargs", "message"), [
    ("flat:10", {}, r"unknown profile 'flat' in 'flat:10'; hint: one of constant, step, ramp, spike, sine, csv, "
                    r"course$"),
    ("constant", {}, r"bad profile 'constant': no value: .*hint: constant\[:VALUE\]"),
    ("constant:abc", {}, r"bad profile 'constant:abc': value 'abc' is not a number"),
    ("constant:-5", {}, r"value '-5' must be a number >= 0"),
    ("constant:2.5", {"users": 1}, r"'2.5' must be a whole number of users"),
    ("constant:5@soon", {}, r"bad duration 'soon'"),
    ("step:10,50", {}, r"bad profile 'step:10,50': no step length: end with @DURATION; hint: step:V1,V2"),
    ("step:@60s", {}, r"no values"),
    ("ramp:10-100@1m", {}, r"'10-100' is not FROM..TO; hint: ramp:FROM..TO"),
    ("ramp:1..9", {}, r"needs a length: give --duration"),
    ("spike:base=5,peak=50,at=3s", {"duration": 9}, r"missing width; hint: spike:base=B"),
    ("spike:base=5,peak=50,at=3s,width=2s,extra=1", {"duration": 9}, r"'extra=1' is not one of base=, peak="),
    ("spike:base=5,peak=50,at=later,width=2s", {"duration": 9}, r"at 'later' is not a duration"),
    ("sine:mean=10,amp=30,period=60", {"duration": 9}, r"amp 30 exceeds mean 10"),
    ("course:5", {}, r"course takes no arguments"),
    ("course", {"rate": 10}, r"course is closed loop .*drop --rate"),
    ("constant", {"rate": 1, "users": 1}, r"either a rate \(open loop\) or a number of users"),
])
def test_bad_profiles(text: str, kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(LoadTestError, match=message):
        parse_profile(text, **kwargs)  # type: ignore[arg-type]
