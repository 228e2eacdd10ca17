"""``kubelab lab cost``: figures checked against hand computation from the list prices in prices.yaml.

The small lab below, by hand (DigitalOcean list prices of 2024-12-01):
- core: 1 x s-2vcpu-4gb at $24.00 in every scenario (the hub's 512Mi goes there).
- users: s-2vcpu-2gb at $18.00, min 0, max 5. A node leaves 936Mi (2048 - 512 - 100 - 500) and a server
  asks 800M = 762.9Mi, so one server per node: idle 0 nodes, typical (2 users) 2 nodes = $36.00, peak
  (4 users) 4 nodes = $72.00; with --users 10, 5 nodes (the max) = $90.00 and 5 servers left over.
- volumes: hub database 1GiB + 10GiB x max(3 allowed, 4 peak) = 41GiB x $0.10 = $4.10
  (with --users 10: 1 + 10 x 10 = 101GiB = $10.10).
- one load balancer $12.00; control plane $0.
- totals: idle 24 + 0 + 4.10 + 12 = $40.10; typical $76.10; peak $112.10; --users 10: 24 + 90 + 10.10 + 12
  = $136.10.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from kubelab.errors import KubelabError, SpecError
from kubelab.lab import cost_file, load_prices, load_sizes, unit_prices
from tests.lab.conftest import position

Cli = Callable[..., CompletedProcess[str]]

SMALL = """\
apiVersion: kubelab/v1
kind: Lab
metadata: {name: small}
provider: {name: digitalocean, region: fra1, kubernetes: "1.31"}
pools:
  - {name: core, size: s-2vcpu-4gb, count: 1, purpose: core}
  - {name: users, size: s-2vcpu-2gb, min: 0, max: 5, purpose: users}
users: {admins: [a], allowed: [a, b, c], typical: 2, peak: 4}
auth: {method: native}
workbench:
  image: quay.io/jupyter/minimal-notebook:2024-12-09
  memory: {guarantee: 800M, limit: 1.4G}
  storage: {size: 10Gi}
  https: {hosts: [lab.example.org], contact_email: a@example.org}
budget: {monthly: BUDGET}
"""


def write(tmp_path: Path, budget: float = 200, text: str = SMALL) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(text.replace("BUDGET", str(budget)))
    return path


def test_small_lab_by_hand(tmp_path: Path) -> None:
    report, findings = cost_file(write(tmp_path))
    assert report.users == {"idle": 0, "typical": 2, "peak": 4}
    core, users = report.pools
    assert (core.node_month, core.nodes, core.cost) == (24.0, {"idle": 1, "typical": 1, "peak": 1},
                                                        {"idle": 24.0, "typical": 24.0, "peak": 24.0})
    assert (users.node_month, users.nodes, users.cost) == (18.0, {"idle": 0, "typical": 2, "peak": 4},
                                                           {"idle": 0.0, "typical": 36.0, "peak": 72.0})
    assert report.items == {"volumes": 4.10, "load_balancer": 12.0, "control_plane": 0.0}
    assert report.totals == {"idle": 40.10, "typical": 76.10, "peak": 112.10}
    assert findings == []
    assert {s["date"] for s in report.sources} == {"2024-12-01", "2025-01-15"}
    assert all(s["source"] for s in report.sources)


def test_users_option_sets_the_peak(tmp_path: Path) -> None:
    report, _ = cost_file(write(tmp_path), users=10)
    assert report.pools[1].nodes["peak"] == 5 and report.pools[1].unplaced["peak"] == 5
    assert report.items["volumes"] == 10.10
    assert report.totals["peak"] == 136.10
    assert "5 pod(s) of pool 'users' do not fit at peak (max 5 nodes)" in report.notes


def test_spot_control_plane_and_load_balancer_on_gke(tmp_path: Path) -> None:
    """e2-standard-4 $0.134012/h x 730 = $97.83; spot at 70 % off = $29.35. GKE's fee $0.10/h x 730 = $73.00;
    a forwarding rule $0.025/h x 730 = $18.25. Volumes: hub 1GiB x $0.10 = $0.10."""
    text = (SMALL.replace("digitalocean", "gke").replace("s-2vcpu-4gb", "e2-standard-2")
            .replace("{name: users, size: s-2vcpu-2gb, min: 0, max: 5, purpose: users}",
                     "{name: users, size: e2-standard-4, count: 1, spot: true, purpose: users}")
            .replace("  storage: {size: 10Gi}\n", "").replace("min: 0, max: 5", "count: 1"))
    report, _ = cost_file(write(tmp_path, 500, text))
    core, users = report.pools
    assert core.node_month == 48.91  # 0.067006 x 730 = 48.914
    assert users.node_month == 29.35 and users.spot
    assert report.items == {"volumes": 0.10, "load_balancer": 18.25, "control_plane": 73.0}
    assert report.totals["idle"] == round(48.91 + 29.35 + 0.10 + 18.25 + 73.0, 2)


def test_budget_error_and_warnings(tmp_path: Path) -> None:
    path = write(tmp_path, 70)
    _, findings = cost_file(path)
    where = position(path.read_text(), "70}")
    assert [str(f) for f in findings] == [
        f"error: {path}:{where}: budget.monthly: typical use costs $76.10 a month, over the budget of $70.00; "
        "hint: shrink pools (smaller sizes, lower min), use spot for workers, or raise the budget",
        f"warning: {path}:{where}: budget.monthly: peak use (4 users; workers and models at their maximum) costs "
        "$112.10 a month, over the budget of "
        "$70.00; hint: lower the pools' max to cap the spend"]
    _, findings = cost_file(write(tmp_path, 90))
    assert [f"{f.severity}: {f.problem.message}" for f in findings] == [
        "warning: typical use costs $76.10 a month, 85% of the budget of $90.00",
        "warning: peak use (4 users; workers and models at their maximum) costs $112.10 a month, over the budget "
        "of $90.00"]
    _, findings = cost_file(write(tmp_path, 120))
    assert findings == []


def test_unit_prices_split_like_opencost() -> None:
    """s-2vcpu-4gb: $24 / 730 h = $0.0328767/h; weights 2 x 0.031611 + 4 x 0.004237 = 0.08017;
    core hour 0.0328767 x 0.031611 / 0.08017 = $0.012963; GiB hour 0.0328767 x 0.004237 / 0.08017 = $0.0017376."""
    cpu, gib = unit_prices(load_prices(), "digitalocean", "s-2vcpu-4gb")
    assert cpu == pytest.approx(0.012963, abs=1e-6)
    assert gib == pytest.approx(0.0017376, abs=1e-7)
    with pytest.raises(KubelabError, match="no price for digitalocean size 'x-1'; add it with --prices FILE"):
        unit_prices(load_prices(), "digitalocean", "x-1")


def test_prices_override(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("providers:\n  digitalocean:\n    sizes:\n      prices:\n        s-2vcpu-2gb: {monthly: 10}\n")
    report, _ = cost_file(write(tmp_path), prices)
    assert report.pools[1].node_month == 10.0
    assert report.totals["typical"] == 24 + 20 + 4.10 + 12
    assert report.pools[0].node_month == 24.0  # the rest of the catalog stays


def test_bad_prices_file(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    text = "providers:\n  digitalocean:\n    sizes:\n      prices:\n        s-2vcpu-2gb: {montly: 10}\n"
    prices.write_text(text)
    with pytest.raises(SpecError) as info:
        cost_file(write(tmp_path), prices)
    assert [str(p) for p in info.value.problems] == [
        f"{prices}:{position(text, 'montly')}: providers.digitalocean.sizes.prices.s-2vcpu-2gb.montly: unknown "
        "key 'montly'; hint: did you mean 'monthly'?"]
    with pytest.raises(SpecError, match="nope.yaml: file not found"):
        cost_file(write(tmp_path), tmp_path / "nope.yaml")


def test_size_without_price(tmp_path: Path) -> None:
    text = SMALL.replace("digitalocean", "generic").replace("s-2vcpu-4gb", "2cpu-4Gi").replace(
        "s-2vcpu-2gb", "2cpu-2Gi")
    path = write(tmp_path, 100, text)
    with pytest.raises(SpecError) as info:
        cost_file(path)
    assert str(info.value.problems[0]) == (
        f"{path}:{position(text, '2cpu-4Gi')}: pools[0].size: no price in the catalog for '2cpu-4Gi' (generic); "
        "hint: add it with --prices FILE: providers: {generic: {sizes: {prices: {2cpu-4Gi: {monthly: …}}}}}")


def test_cli_table_json_and_budget_exit(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path)
    result = cli("lab", "cost", "lab.yaml")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "small on digitalocean, USD a month; users: idle 0, typical 2, peak 4"
    assert lines[1].split() == ["POOL", "SIZE", "SPOT", "USD_PER_NODE", "NODES", "IDLE", "TYPICAL", "PEAK"]
    assert lines[3].split() == ["users", "s-2vcpu-2gb", "no", "18.00", "0/2/4", "0.00", "36.00", "72.00"]
    assert lines[7].split() == ["total", "40.10", "76.10", "112.10"]
    assert "list prices as of 2024-12-01, 2025-01-15" in result.stderr
    result = cli("lab", "cost", "lab.yaml", "--users", "10", "--format", "json")
    data = json.loads(result.stdout)
    assert data["totals"]["peak"] == 136.10 and data["users"]["peak"] == 10
    assert data["pools"][1]["cpu_core_hour"] > 0 and data["findings"] == []
    result = cli("lab", "cost", "lab.yaml", "--format", "csv")
    assert result.stdout.splitlines()[0] == "pool,size,spot,usd_per_node,nodes,idle,typical,peak"
    assert result.stdout.splitlines()[-1] == "total,,,,,40.10,76.10,112.10"
    write(tmp_path, 70)
    result = cli("lab", "cost", "lab.yaml")
    assert result.returncode == 1
    assert result.stderr.endswith("error: lab.yaml: over budget\n")
    assert "error: lab.yaml:" in result.stdout


def test_cli_bad_args(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path)
    result = cli("lab", "cost", "lab.yaml", "--users", "-1")
    assert result.returncode == 2 and "-1 is not in the range x>=0" in result.stderr
    result = cli("lab", "cost", "missing.yaml")
    assert (result.returncode, result.stderr) == (1, "error: 1 problem found:\n  missing.yaml: file not found\n")
    result = cli("lab", "cost", "lab.yaml", "--prices", "nope.yaml")
    assert (result.returncode, result.stderr) == (1, "error: 1 problem found:\n  nope.yaml: file not found\n")


def test_catalogs_agree() -> None:
    """Every known size has a list price and every priced size is known (generic has neither)."""
    sizes, prices = load_sizes(), load_prices()
    for provider in ("digitalocean", "gke", "eks"):
        group = prices.providers[provider]
        priced = set(group.sizes.prices) | set(group.gpu_sizes.prices if group.gpu_sizes else {})
        assert priced == set(sizes.names(provider)), provider
        assert group.sizes.source.startswith("https://") and group.fees.date.year >= 2024


def test_seed_000_zero_and_ten_users(tmp_path: Path) -> None:
    """Seed 000: s-2vcpu-2gb ($18) pool 1-11 holding the hub and the users, 800M guarantee.
    A node leaves 936Mi; the hub's 512Mi and a 762.9Mi server do not share one, so 10 users take 10 nodes
    besides the hub's: 11 x $18 = $198, + $12 load balancer + 1GiB hub volume $0.10 = $210.10; idle: one node
    = $18 + $12.10 = $30.10. The difference, $180, is the seed's (58 -> 238 USD for 0 -> 10 users)."""
    from tests.lab.test_check import SEED_000

    report, _ = cost_file(write(tmp_path, 0, SEED_000), users=10)
    assert report.pools[0].nodes == {"idle": 1, "typical": 4, "peak": 11}
    assert (report.totals["idle"], report.totals["peak"]) == (30.10, 210.10)
    assert report.totals["peak"] - report.totals["idle"] == pytest.approx(238 - 58)
