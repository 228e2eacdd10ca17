"""kubelab's closed loop against siege's, on the same server in the same test."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from kubelab.load import parse_profile
from kubelab.load._request import build_request
from kubelab.load._run import LoadTest, run_load
from tests.load.conftest import Serve


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("siege") is None, reason="siege is not installed (apt-get install siege)")
def test_closed_loop_agrees_with_siege(serve: Serve) -> None:
    """siege -c 20 -d 0 -t 4S and kubelab -c 20 for siege's elapsed time: transactions and mean response time
    agree within 5 %. The server answers after 250 ms, so both are paced by the server, not by the machine;
    siege's -t timer has whole-second steps (its elapsed time varies run to run), so kubelab runs for
    exactly the elapsed time siege reports. Both drop the requests still in flight at the end."""
    port = serve("--delay-ms", "250")
    url = f"http://127.0.0.1:{port}/"
    out = subprocess.run(["siege", "-c", "20", "-d", "0", "-t", "4S", "--json-output", url], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    siege = json.loads(out[out.index("{"):])
    profile = parse_profile("constant", users=20, duration=siege["elapsed_time"])
    ours = run_load(LoadTest(build_request(url), profile)).summary
    assert ours.transactions == pytest.approx(siege["transactions"], rel=0.05)
    assert ours.response_time == pytest.approx(siege["response_time"], rel=0.05)
    assert ours.failed_transactions == siege["failed_transactions"] == 0
    assert ours.availability == siege["availability"] == 100.0
