"""The highest request rate one generator core sustains against a trivial loopback server.

    python bench/loadtest_rate.py [--runs 3] [--seconds 5] [--users 50] [--locust /path/to/venv/bin/locust]

The server (tests/load/http_server.py --trivial: uvloop, a canned 2-byte response per request head) is pinned
to CPU 0, every
generator to CPU 1; each generator runs a closed loop of ``--users`` connections with no think time for
``--seconds`` s, so its rate is what one core (or the server) can do. Candidates, in each run in turn:

- kubelab: ``kubelab loadtest URL -c USERS -t Ns`` (asyncio protocol + httptools parser on uvloop);
- kubelab-asyncio: the same generator on the standard asyncio loop (a candidate stack);
- aiohttp: ``aiohttp.ClientSession`` on uvloop, USERS tasks in a loop (a candidate stack);
- wrk: ``wrk -t1 -cUSERS`` (C, the reference ceiling);
- locust: ``locust --headless`` with one ``FastHttpUser`` class, wait_time ``constant(0)``, one process.

Prints a markdown table of median requests/s and the ratio to locust, with the load average.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, machine, median, table  # noqa: E402

SERVER_CPU, GENERATOR_CPU = 0, 1
_PY = sys.executable

_ENGINE = """
import asyncio, json, os, sys
os.sched_setaffinity(0, {%(cpu)d})
from kubelab.load import build_request, parse_profile
from kubelab.load._generator import Generator
from kubelab.load._stats import summarize
profile = parse_profile("constant", users=%(users)d, duration=%(seconds)f)
gen = Generator(build_request("%(url)s"), profile)
intervals = gen.run(loop_factory=asyncio.new_event_loop)
print(json.dumps(summarize(intervals, gen.elapsed, duration=profile.duration, open_loop=False)[1].transaction_rate))
"""

_AIOHTTP = """
import asyncio, json, os, time
os.sched_setaffinity(0, {%(cpu)d})
import aiohttp, uvloop
async def main():
    count = 0
    end = time.monotonic() + %(seconds)f
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=%(users)d)) as session:
        async def user():
            nonlocal count
            while time.monotonic() < end:
                async with session.get("%(url)s") as resp:
                    await resp.read()
                count += 1
        start = time.monotonic()
        await asyncio.gather(*(user() for _ in range(%(users)d)))
    return count / (time.monotonic() - start)
print(json.dumps(uvloop.run(main())))
"""

_LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

class Trivial(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/")
"""


def _pinned(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") else []


def _kubelab(url: str, users: int, seconds: float) -> float:
    out = subprocess.run([*_pinned(GENERATOR_CPU), _PY, "-m", "kubelab", "loadtest", url, "-c", str(users), "-t",
                          f"{seconds}s", "--format", "json"], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(json.loads(out.stdout)["transaction_rate"])


def _snippet(code: str, url: str, users: int, seconds: float) -> float:
    out = subprocess.run([_PY, "-c", code % {"cpu": GENERATOR_CPU, "users": users, "seconds": seconds, "url": url}],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def _wrk(url: str, users: int, seconds: float) -> float:
    out = subprocess.run([*_pinned(GENERATOR_CPU), "wrk", "-t1", f"-c{users}", f"-d{int(seconds)}s", url],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def _locust(locust: str, url: str, users: int, seconds: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "locustfile.py"
        f.write_text(_LOCUSTFILE)
        subprocess.run([*_pinned(GENERATOR_CPU), locust, "-f", str(f), "--headless", "-u", str(users), "-r",
                        str(users), "-t", f"{int(seconds)}s", "--host", url.rstrip("/"), "--only-summary",
                        "--csv", f"{tmp}/out"], capture_output=True, text=True, check=True, cwd=tmp)
        rows = list(csv.DictReader(open(f"{tmp}/out_stats.csv")))
        return float(next(r for r in rows if r["Name"] == "Aggregated")["Requests/s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--locust", default=shutil.which("locust"), help="the locust executable (own venv is fine)")
    opts = parser.parse_args()
    server = subprocess.Popen([*_pinned(SERVER_CPU), _PY, str(Path(ROOT) / "tests/load/http_server.py"), "--trivial"],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = f"http://127.0.0.1:{int(server.stdout.readline())}/"
    candidates = {
        "kubelab (uvloop + httptools)": lambda: _kubelab(url, opts.users, opts.seconds),
        "kubelab engine on asyncio's loop": lambda: _snippet(_ENGINE, url, opts.users, opts.seconds),
        "aiohttp on uvloop": lambda: _snippet(_AIOHTTP, url, opts.users, opts.seconds),
        "wrk -t1": lambda: _wrk(url, opts.users, opts.seconds),
    }
    if opts.locust:
        candidates["locust FastHttpUser (1 process)"] = lambda: _locust(opts.locust, url, opts.users, opts.seconds)
    results: dict[str, list[float]] = {name: [] for name in candidates}
    loads = []
    try:
        for run in range(opts.runs):
            for name, measure in candidates.items():
                try:
                    results[name].append(measure())
                except (subprocess.CalledProcessError, ImportError) as exc:
                    print(f"{name}: failed: {getattr(exc, 'stderr', exc)}", file=sys.stderr)
                loads.append(os.getloadavg()[0])
                time.sleep(0.5)
            print(f"run {run + 1}/{opts.runs}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in results.items() if v),
                  file=sys.stderr)
    finally:
        server.terminate()
    locust_median = median(results.get("locust FastHttpUser (1 process)") or [float("nan")])
    rows = [{"generator (one core)": name, "median req/s": f"{median(v):,.0f}" if v else "failed",
             "runs": " / ".join(f"{x:,.0f}" for x in v),
             "vs locust": f"{median(v) / locust_median:.2f}x" if v and locust_median == locust_median else ""}
            for name, v in results.items()]
    print(f"{machine()}; load average during the runs {min(loads):.1f}-{max(loads):.1f}; "
          f"{opts.users} connections, {opts.seconds:g} s per run, {opts.runs} runs\n")
    print(table(rows, ["generator (one core)", "median req/s", "runs", "vs locust"]))


if __name__ == "__main__":
    main()
