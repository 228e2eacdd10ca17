"""Terraform for DigitalOcean: node pools from the definition, formatted as `terraform fmt` wants."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kubelab.lab import loads_lab, starter_text
from kubelab.lab.render import render_lab, render_to_directory
from kubelab.lab.render._terraform import terraform_files
from tests.lab.render_helpers import full_lab

TERRAFORM = shutil.which("terraform")


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed (not in Debian: HashiCorp's own packages)")
@pytest.mark.parametrize("text", [None, starter_text()], ids=["full", "starter"])
def test_terraform_fmt_check_passes(tmp_path: Path, text: str | None) -> None:
    lab = full_lab() if text is None else loads_lab(text)
    render_to_directory(lab, tmp_path)
    assert sorted(p.name for p in (tmp_path / "terraform").iterdir()) == ["main.tf", "variables.tf"]
    done = subprocess.run([str(TERRAFORM), "fmt", "-check", "-diff", "-recursive", str(tmp_path / "terraform")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_cluster_and_its_pools() -> None:
    main = terraform_files(full_lab())["main.tf"]
    cluster = main[main.index('resource "digitalocean_kubernetes_cluster" "lab"'):]
    assert 'name          = "full-lab"' in cluster
    assert 'region        = "fra1"' in cluster
    assert 'version_prefix = "1.31."' in main
    default_pool = cluster[cluster.index("node_pool {"):cluster.index('resource "digitalocean_kubernetes_node_pool"')]
    assert 'name       = "core"' in default_pool and "node_count = 1" in default_pool
    workers = main[main.index('resource "digitalocean_kubernetes_node_pool" "workers"'):]
    workers = workers[:workers.index("\n}\n")]
    for line in ('size       = "c-4"', "auto_scale = true", "min_nodes  = 0", "max_nodes  = 5",
                 'labels     = { "kubelab.io/pool" = "workers", "team" = "ml" }',
                 'key    = "kubelab.io/workers"', 'effect = "NoSchedule"'):
        assert line in workers
    users = main[main.index('resource "digitalocean_kubernetes_node_pool" "users"'):]
    assert '"hub.jupyter.org/node-purpose" = "user"' in users[:users.index("\n}\n")]
    assert main.count('resource "digitalocean_kubernetes_node_pool"') == 4


def test_the_token_is_a_sensitive_variable() -> None:
    variables = terraform_files(full_lab())["variables.tf"]
    assert 'variable "do_token" {' in variables and "sensitive   = true" in variables


def test_other_providers_get_no_terraform_and_a_readme_that_says_so() -> None:
    lab = full_lab(**{"name: digitalocean, region: fra1": "name: generic, region: lab-1",
                      "size: s-2vcpu-4gb": "size: 2cpu-4Gi", "size: s-2vcpu-2gb-amd": "size: 2cpu-2Gi",
                      "size: c-4": "size: 4cpu-8Gi", "size: gpu-4000adax1-20gb": "size: 8cpu-32Gi-1xnvidia-l4"})
    rendered = render_lab(lab)
    assert not [name for name in rendered.texts if name.startswith("terraform/")]
    assert "kubelab renders Terraform for DigitalOcean only" in rendered.texts["README.md"]
    # the node label placement selects on (the same one the Terraform sets on DigitalOcean)
    assert "label each pool's nodes kubelab.io/pool=<pool name>" in rendered.texts["README.md"]
