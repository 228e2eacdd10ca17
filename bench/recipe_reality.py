"""The queueing model against reality: R local server processes, each under a CPU quota, behind a
round-robin TCP proxy (per connection, as kube-proxy balances), driven by closed-loop users — the setup of
tests/recipe/test_reality.py (shared code: ``kubelab.recipe._local``), with figures printed.

1. profile one server (tests/recipe/burn_server.py: each request burns BURN ms of CPU) at the quota, through
   the same load generator and proxy, with the quota lifted and under it;
2. for each replica count R: start R servers under the quota behind a round-robin proxy, run its USERS
   with no think time for SECONDS after a 1 s warm-up, measure throughput, p50, p99;
3. simulate R fixed replicas with the profile and the same users: the CFS model (each replica throttled
   per 100 ms period, its periods starting where they were measured to start: ``Measured.phases``, shown
   relative to the first replica's), the same with the phases spread evenly (the simulator's default),
   and the older model (service times drawn independently from the distribution measured under the
   quota); print predicted / measured.

    python bench/recipe_reality.py [--replicas 1,2] [--users 2,4] [--quota 0.5] [--burn-ms 5]
                                   [--seconds 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, machine  # noqa: E402

from kubelab.recipe._local import LoadRig, LocalReplicas, predict_closed_loop  # noqa: E402
from kubelab.recipe._profile import profile_server  # noqa: E402

SERVER = [sys.executable, os.path.join(ROOT, "tests", "recipe", "burn_server.py"), "{port}"]
KEYS = (("throughput", "req/s", 1.0), ("p50", "ms", 1000.0), ("p99", "ms", 1000.0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--users", default="2,4", help="users for each replica count, in order")
    parser.add_argument("--quota", type=float, default=0.5)
    parser.add_argument("--burn-ms", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    command = [*SERVER, str(args.burn_ms)]
    print("| run | replicas | users | phases (ms) | measure | measured | CFS model | ratio | ratio, phases spread "
          "evenly | older model | ratio | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run in range(1, args.runs + 1):
        with LoadRig() as rig:
            profile = profile_server(
                command, allowances=(args.quota,), path="/test", driver=rig.driver, window_s=1.0, max_windows=6,
                shares=rig.shares,
            )
            counts = [int(r) for r in args.replicas.split(",")]
            for replicas, users in zip(counts, [int(u) for u in args.users.split(",")], strict=True):
                with LocalReplicas(command, replicas, args.quota, rig=rig) as local:
                    result = local.closed_loop("/test", users, args.seconds, seed=run)
                    measured, method = result.as_dict(), local.method
                load = os.getloadavg()[0]
                phases = "/".join(f"{p * 1000:.0f}" for p in result.phases)
                at = result.phases
                cfs = predict_closed_loop(profile, replicas, args.quota, users, seed=run, phases=at).as_dict()
                even = predict_closed_loop(profile, replicas, args.quota, users, seed=run).as_dict()
                older = predict_closed_loop(profile, replicas, args.quota, users, seed=run, cfs_throttling=False)
                for key, unit, scale in KEYS:
                    m, p, o = measured[key] * scale, cfs[key] * scale, older.as_dict()[key] * scale
                    e = even[key] * scale
                    print(f"| {run} | {replicas} | {users} | {phases} | {key} ({unit}) | {m:.1f} | {p:.1f} | "
                          f"{p / m:.2f} | {e / m:.2f} | {o:.1f} | {o / m:.2f} | {load:.2f} |")
    print(f"\n# {machine()}; servers x {args.quota:g} core ({method}), {args.burn_ms:g} ms CPU/request, "
          f"users {args.users}, no think time, {args.seconds:g} s after a 1 s warm-up")


if __name__ == "__main__":
    main()
