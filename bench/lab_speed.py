"""Speed of `kubelab lab` on a lab with 10 pools, 50 users and 5 model deployments (goal: check + render +
cost in well under 1 s).

Two measures, medians of --runs runs:
- library: check_file + cost_file (+ every step in STEPS) in one warm interpreter, after one warm-up;
- command: each `kubelab lab …` command in a fresh interpreter, as a user runs it (start-up included),
  as wall time and as CPU time (user + system of the child: what the command costs on an idle core, which
  a shared, loaded machine cannot show in wall time).

    python bench/lab_speed.py [--runs 7] [--nebari /path/to/venv/bin/nebari]

With --nebari, the peer runs in the same loop: `nebari validate` of a config made by `nebari init local`
with the same three profiles (Nebari checks its own schema; it has no capacity, spot or cost checks, so this
compares the latency of validating a definition file, not the same work).

Add a step (render, say) by appending to STEPS and COMMANDS.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import ROOT, machine, median, table


def big_lab() -> str:
    """A lab with 10 pools, 50 allowed users (peak 50), 3 profiles, the tuning stack and 5 models."""
    users = ", ".join(f"user{i:02d}" for i in range(50))
    pools = ["  - {name: core, size: s-4vcpu-8gb, count: 1, purpose: core}"]
    pools += ["  - {name: users, size: s-2vcpu-4gb, min: 1, max: 30, purpose: users}"]
    pools += [f"  - {{name: workers-{i}, size: c-4, min: 0, max: 10, purpose: workers}}" for i in range(3)]
    pools += [f"  - {{name: serving-{i}, size: s-2vcpu-4gb, min: 1, max: 4, purpose: serving}}" for i in range(4)]
    pools += ["  - {name: gpu, size: gpu-4000adax1-20gb, min: 0, max: 2, gpu: {type: nvidia-rtx-4000-ada, "
              "count: 1}, purpose: users, taints: [{key: nvidia.com/gpu, effect: NoSchedule}]}"]
    models = "\n".join(
        f"  - {{name: model-{i}, model: models/m{i}.joblib, pool: serving-{i % 4}, autoscaling: {{min: 1, max: 4}}, "
        "resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: '1', memory: 512Mi}}}" for i in range(5))
    return f"""\
apiVersion: kubelab/v1
kind: Lab
metadata: {{name: big}}
provider: {{name: digitalocean, region: fra1, kubernetes: "1.31"}}
pools:
{chr(10).join(pools)}
users: {{admins: [user00], allowed: [{users}], typical: 20, peak: 50}}
auth:
  method: github
  github: {{client_id: abc, client_secret: {{secret: gh, key: secret}},
           callback_url: https://lab.example.org/hub/oauth_callback, allowed_organizations: [org]}}
workbench:
  image: quay.io/jupyter/scipy-notebook:2024-12-09
  cpu: {{guarantee: 500m, limit: "2"}}
  memory: {{guarantee: 1Gi, limit: 2Gi}}
  storage: {{size: 10Gi}}
  start_timeout: 10m
  https: {{hosts: [lab.example.org], contact_email: a@example.org}}
  profiles:
    - {{name: small, display_name: Small, default: true}}
    - {{name: large, display_name: Large, memory: {{guarantee: 2Gi, limit: 2Gi}}}}
    - {{name: gpu, display_name: GPU, gpu: 1, memory: {{guarantee: 8Gi, limit: 16Gi}}}}
tuning:
  workers:
    pool: workers-0
    autoscaling: {{min: 0, max: 20}}
    resources: {{requests: {{cpu: "1", memory: 2Gi}}, limits: {{cpu: "1", memory: 2Gi}}}}
models:
{models}
budget: {{monthly: 5000}}
"""


def _check(path: str) -> None:
    from kubelab.lab import check_file

    report = check_file(path)
    assert report.ok and not report.findings, [str(f) for f in report.findings]


def _cost(path: str) -> None:
    from kubelab.lab import cost_file

    cost_file(path)


NEBARI_PROFILES = """\
profiles:
  jupyterlab:
  - display_name: Small
    description: 0.5 cpu / 1 GiB
    default: true
    kubespawner_override: {cpu_limit: 2, cpu_guarantee: 0.5, mem_limit: 2G, mem_guarantee: 1G}
  - display_name: Large
    description: 2 GiB
    kubespawner_override: {cpu_limit: 2, cpu_guarantee: 0.5, mem_limit: 2G, mem_guarantee: 2G}
  - display_name: GPU
    description: one GPU
    kubespawner_override: {cpu_limit: 4, cpu_guarantee: 1, mem_limit: 16G, mem_guarantee: 8G}
"""


def nebari_config(nebari: str) -> str:
    """A Nebari config from `nebari init local` plus three profiles; returns its path."""
    d = tempfile.mkdtemp()
    subprocess.run([nebari, "init", "local", "-p", "big", "-d", "lab.example.org", "--auth-provider", "password",
                    "--disable-prompt"], cwd=d, check=True, capture_output=True)
    path = os.path.join(d, "nebari-config.yaml")
    with open(path, "a", encoding="utf-8") as f:
        f.write(NEBARI_PROFILES)
    return path


STEPS: list[tuple[str, Callable[[str], None]]] = [("check", _check), ("cost", _cost)]
COMMANDS: list[list[str]] = [["lab", "check"], ["lab", "cost"]]


# --- render (lab-render branch): load + render + write into a kept directory (its secrets are reused) ----------
_RENDER_OUT = tempfile.mkdtemp(prefix="kubelab-render-")


def _render(path: str) -> None:
    from kubelab.lab import load_lab
    from kubelab.lab.render import render_to_directory

    render_to_directory(load_lab(path), Path(_RENDER_OUT), force=True)


STEPS.append(("render", _render))
COMMANDS.append(["lab", "render", "--force", "--out", _RENDER_OUT])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--nebari", help="the nebari command of a venv with nebari installed (the peer)")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "src"))
    path = str(Path(tempfile.mkdtemp()) / "big.yaml")
    Path(path).write_text(big_lab(), encoding="utf-8")
    for _, step in STEPS:
        step(path)  # warm-up: imports, catalogs
    library: dict[str, list[float]] = {name: [] for name, _ in STEPS}
    library["all steps"] = []
    commands: dict[str, list[float]] = {" ".join(c): [] for c in COMMANDS}
    cpu: dict[str, list[float]] = {" ".join(c): [] for c in COMMANDS}
    peer_config = nebari_config(args.nebari) if args.nebari else None
    peer: list[float] = []
    peer_cpu: list[float] = []
    for _ in range(args.runs):
        total = 0.0
        for name, step in STEPS:
            t = time.perf_counter()
            step(path)
            library[name].append(time.perf_counter() - t)
            total += library[name][-1]
        library["all steps"].append(total)
        for cmd in COMMANDS:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "kubelab", *cmd, path], check=True, capture_output=True)
            commands[" ".join(cmd)].append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[" ".join(cmd)].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if peer_config:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([args.nebari, "validate", "--config", peer_config], check=True, capture_output=True)
            peer.append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            peer_cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    rows = [{"measure": f"library: {k}", "median ms": f"{median(v) * 1000:.1f}"} for k, v in library.items()]
    rows += [{"measure": f"command: kubelab {k}", "median ms": f"{median(v) * 1000:.1f}"} for k, v in commands.items()]
    rows += [{"measure": f"command CPU time: kubelab {k}", "median ms": f"{median(v) * 1000:.1f}"}
             for k, v in cpu.items()]
    if peer:
        rows.append({"measure": "peer: nebari validate", "median ms": f"{median(peer) * 1000:.1f}"})
        rows.append({"measure": "peer CPU time: nebari validate", "median ms": f"{median(peer_cpu) * 1000:.1f}"})
    print(f"{machine()}; {args.runs} runs; lab: 10 pools, 50 users, 3 profiles, 5 models")
    print(table(rows, ["measure", "median ms"]))


if __name__ == "__main__":
    main()
