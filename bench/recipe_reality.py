"""The queueing model against reality: R local server processes, each under a CPU quota, behind a
round-robin TCP proxy (per connection, as kube-proxy balances), driven by N closed-loop users.

1. profile one server (tests/recipe/burn_server.py: each request burns BURN ms of CPU) with
   ``profile_server`` at the quota;
2. start R servers under that quota and a round-robin proxy, run N keep-alive users with no think time
   for SECONDS, measure throughput, p50 and p99;
3. simulate R fixed replicas with the measured profile and the same N users; print predicted / measured.

    python bench/recipe_reality.py [--replicas 2] [--users 4] [--quota 0.5] [--burn-ms 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, machine  # noqa: E402

from kubelab.recipe import Recipe, Schedule, SimConfig, http_driver, profile_server, simulate  # noqa: E402
from kubelab.recipe._cpulimit import CpuLimit  # noqa: E402

SERVER = [sys.executable, os.path.join(ROOT, "tests", "recipe", "burn_server.py"), "{port}"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proxy(listen: int, backends: list[int]) -> None:
    counter = 0

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal counter
        port = backends[counter % len(backends)]
        counter += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", listen)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--quota", type=float, default=0.5)
    parser.add_argument("--burn-ms", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    command = [*SERVER, str(args.burn_ms)]
    profile = profile_server(command, allowances=(args.quota,), path="/test", window_s=3.0, max_windows=8)

    limits = [CpuLimit(args.quota) for _ in range(args.replicas)]
    ports = [_port() for _ in range(args.replicas)]
    procs = [
        subprocess.Popen(lim.wrap([a.replace("{port}", str(p)) for a in command]))
        for lim, p in zip(limits, ports, strict=True)
    ]
    listen = _port()
    proxy = multiprocessing.Process(target=_proxy, args=(listen, ports), daemon=True)  # its own GIL
    proxy.start()
    try:
        time.sleep(1.0)
        started = time.perf_counter()
        latencies = np.asarray(http_driver(f"http://127.0.0.1:{listen}/test", args.users, args.seconds))
        elapsed = time.perf_counter() - started
    finally:
        proxy.terminate()
        proxy.join()
        for p in procs:
            p.terminate()
            p.wait()
        for lim in limits:
            lim.close()
    measured = {
        "throughput": latencies.size / elapsed,
        "p50": float(np.percentile(latencies, 50)),
        "p99": float(np.percentile(latencies, 99)),
    }
    plan = Recipe(args.quota, args.quota, 256.0, 256.0, args.replicas, args.replicas, 80)
    run = simulate(
        plan,
        profile,
        Schedule.constant(int(max(600, args.seconds)), users=args.users),
        SimConfig(replicas=args.replicas),
    )
    warm = run.arrival > 60
    predicted = {
        "throughput": float(run.throughput[1:].mean()),
        "p50": float(np.percentile(run.latency[warm], 50)),
        "p99": float(np.percentile(run.latency[warm], 99)),
    }
    print(
        f"# {machine()}; {args.replicas} servers x {args.quota:g} core ({profile.method}), "
        f"{args.burn_ms:g} ms CPU/request, {args.users} users, {args.seconds:g} s"
    )
    print("| measure | measured | predicted | predicted / measured |\n|---|---|---|---|")
    for key, unit, scale in (("throughput", "req/s", 1), ("p50", "ms", 1000), ("p99", "ms", 1000)):
        print(
            f"| {key} ({unit}) | {measured[key] * scale:.1f} | {predicted[key] * scale:.1f} | "
            f"{predicted[key] / measured[key]:.2f} |"
        )


if __name__ == "__main__":
    main()
