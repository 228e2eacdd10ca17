from __future__ import annotations

from pathlib import Path

import pytest

from kubelab.errors import SpecError
from kubelab.lab import Lab, load_lab, loads_lab
from tests.lab.conftest import BASE, position

ROOT = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        loads_lab(text, "lab.yaml")
    return [str(p) for p in info.value.problems]


def test_base_and_example_load() -> None:
    lab = loads_lab(BASE)
    assert isinstance(lab, Lab)
    assert lab.pool("users") is not None and lab.pool("users").autoscales  # type: ignore[union-attr]
    assert lab.workbench is not None and lab.workbench.memory.guarantee is not None
    assert lab.workbench.memory.guarantee.value == 2**30
    assert lab.workbench.start_timeout == 600
    example = load_lab(ROOT / "examples" / "lab.yaml")
    assert [p.name for p in example.pools] == ["core", "users", "workers", "serving"]


def test_unknown_key_at_its_position_with_did_you_mean() -> None:
    text = BASE.replace("  start_timeout: 10m", "  start_timout: 10m")
    assert problems(text) == [f"lab.yaml:{position(text, 'start_timout')}: workbench.start_timout: unknown key "
                              "'start_timout'; hint: did you mean 'start_timeout'?"]


def test_unknown_key_without_close_match_lists_allowed() -> None:
    text = BASE.replace("  region: fra1", "  region: fra1\n  colour: blue")
    assert problems(text) == [f"lab.yaml:{position(text, 'colour')}: provider.colour: unknown key 'colour'; "
                              "hint: allowed keys: name, region, kubernetes, ha_control_plane"]


def test_all_problems_at_once_in_file_order() -> None:
    text = (BASE.replace("  name: digitalocean", "  name: digitalocen")
            .replace("    size: c-4\n    min: 0\n    max: 2", "    size: c-4\n    min: 3\n    count: 2")
            .replace("purpose: [workers, serving]", "purpose: [worker, serving]")
            .replace("client_secret: {secret: github-oauth, key: client-secret}", "client_secret: hunter2")
            .replace("memory: {guarantee: 1Gi, limit: 2Gi}", "memory: {guarantee: 1GB, limit: 2Gi}")
            .replace('kubernetes: "1.31"', "kubernetes: 1.30"))
    assert problems(text) == [
        f"lab.yaml:{position(text, 'digitalocen')}: provider.name: 'digitalocen' is not allowed; "
        "hint: did you mean 'digitalocean'?",
        f"lab.yaml:{position(text, '1.30')}: provider.kubernetes: 1.3 was read as a number; hint: write the "
        "version as a quoted string, e.g. kubernetes: '1.31' (YAML reads 1.30 as 1.3)",
        f"lab.yaml:{position(text, 'worker,')}: pools[2].purpose[0]: 'worker' is not allowed; "
        "hint: did you mean 'workers'?",
        f"lab.yaml:{position(text, 'hunter2')}: auth.github.client_secret: a secret must not be written in the "
        "file; hint: store it in a Kubernetes Secret and reference it: {secret: NAME, key: KEY}",
        f"lab.yaml:{position(text, '1GB')}: workbench.memory.guarantee: '1GB' is not a Kubernetes quantity; "
        "hint: write 1G (Kubernetes suffixes: m, k, M, G, T, Ki, Mi, Gi, Ti)",
    ]


def test_pool_needs_count_or_range() -> None:
    text = BASE.replace("    count: 1\n    purpose: core", "    count: 1\n    max: 3\n    purpose: core")
    assert problems(text) == [f"lab.yaml:{position(text, 'count: 1', offset=7)}: pools[0].count: give either "
                              "count or min/max, not both; hint: count: N for a fixed pool, min: A and max: B to "
                              "autoscale"]
    text = BASE.replace("    count: 1\n    purpose: core", "    purpose: core")
    assert problems(text) == [f"lab.yaml:{position(text, 'name: core')}: pools[0].count: the pool has no size; "
                              "hint: add count: N, or min: A and max: B to autoscale"]
    text = BASE.replace("    min: 1\n    max: 4", "    min: 5\n    max: 4")
    assert problems(text) == [f"lab.yaml:{position(text, '5')}: pools[1].min: min 5 is above max 4; "
                              "hint: min must be at most max"]


def test_missing_required_keys() -> None:
    text = BASE.replace("apiVersion: kubelab/v1\nkind: Lab\n", "")
    assert problems(text) == ["lab.yaml:1:1: required key 'apiVersion' is missing; hint: add apiVersion: kubelab/v1",
                              "lab.yaml:1:1: required key 'kind' is missing; hint: add kind: Lab"]
    text = BASE.replace("  method: github\n", "")
    assert problems(text) == [f"lab.yaml:{position(text, 'github:')}: auth: required key 'method' is missing; "
                              "hint: add method: native | ldap | github | none"]
    text = BASE.replace("  region: fra1\n", "")
    assert problems(text) == [f"lab.yaml:{position(text, 'name: digitalocean')}: provider: required key "
                              "'region' is missing; hint: add region: …"]


def test_type_errors_say_what_to_write() -> None:
    text = BASE.replace("    count: 1\n", "    count: one\n")
    assert problems(text) == [f"lab.yaml:{position(text, 'one')}: pools[0].count: 'one': must be a valid integer, "
                              "unable to parse string as an integer; hint: write a whole number"]
    text = BASE.replace("  admins: [alice]", "  admins: alice")
    assert problems(text) == [f"lab.yaml:{position(text, 'alice')}: users.admins: expected a list, got a string; "
                              "hint: write a YAML list: [a, b] or '- a'"]
    text = BASE.replace("  region: fra1", "  region: [fra1]")
    assert problems(text) == [f"lab.yaml:{position(text, '[fra1]')}: provider.region: expected a string, got a "
                              "list; hint: quote it if YAML reads it as something else"]


def test_names_durations_and_auth_blocks() -> None:
    text = BASE.replace("  name: team", "  name: My Team").replace("start_timeout: 10m", "start_timeout: 5 min")
    assert problems(text) == [
        f"lab.yaml:{position(text, 'My Team')}: metadata.name: 'My Team' is not a valid Kubernetes name; "
        "hint: lower-case letters, digits and '-', at most 63 characters, e.g. 'my-team'",
        f"lab.yaml:{position(text, '5 min')}: workbench.start_timeout: '5 min' is not a duration; "
        "hint: write seconds (600) or units d, h, m, s: 10m, 1h30m, 90s",
    ]
    text = BASE.replace("  method: github", "  method: ldap")
    assert problems(text) == [f"lab.yaml:{position(text, 'client_id')}: auth.github: settings for 'github' but "
                              "method is 'ldap'; hint: remove the github block or set method: github"]


def test_not_a_lab() -> None:
    assert problems("") == ["lab.yaml: expected a lab definition (a mapping), got an empty file; "
                            "hint: start from `kubelab lab init lab.yaml`"]
    assert problems("- a\n") == ["lab.yaml:1:1: expected a lab definition (a mapping), got a list; "
                                 "hint: start from `kubelab lab init lab.yaml`"]
    (yaml_problem,) = problems("a: [1,\n")
    assert yaml_problem.startswith("lab.yaml:2:1: not valid YAML: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="nope.yaml: file not found"):
        load_lab(tmp_path / "nope.yaml")


def test_https_hosts_are_host_names() -> None:
    text = BASE.replace("hosts: [lab.example.org]", "hosts: ['https://lab.example.org/hub', 'lab']")
    first, second = position(text, "'https"), position(text, "'lab'")
    assert problems(text) == [
        f"lab.yaml:{first}: workbench.https.hosts[0]: 'https://lab.example.org/hub' is not a "
        "host name; hint: write the host name only: lab.example.org",
        f"lab.yaml:{second}: workbench.https.hosts[1]: 'lab' is not a host name; hint: a DNS "
        "name such as lab.example.org"]


def test_counts_are_bounded() -> None:
    text = BASE.replace("  peak: 4", "  peak: 99999999999")
    assert problems(text) == [f"lab.yaml:{position(text, '99999999999')}: users.peak: 99999999999: must be less "
                              "than or equal to 10000"]
