"""JupyterHub values: derived sizes and timeout (checked by hand), profiles, authentication, https."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.lab import load_sizes
from kubelab.lab.render import Sizing, render_lab, start_timeout, user_size, validate_hub_values
from kubelab.lab.render._hub import split_image
from tests.lab.render_helpers import FULL, full_lab

MI = 2**20


def _values(text: str = FULL, **replace: str) -> dict[str, Any]:
    values = render_lab(full_lab(text, **replace)).hub_values
    assert values is not None
    assert validate_hub_values(values) == []  # every variant passes the chart's schema
    return values


def test_derived_sizes_for_a_2gb_digitalocean_node() -> None:
    """A DigitalOcean s-2vcpu-2gb-amd node, by hand (capacity model of kubelab.lab, docs/lab.md):

    memory 2048Mi - kube-reserved 25 % of 2Gi (512Mi) - eviction threshold 100Mi = 1436Mi allocatable;
    minus 500Mi of DigitalOcean's system pods = 936Mi free for user pods.
    guarantee = min(JupyterHub's 1G = 10^9 B = 953.7Mi, 936Mi) = 936Mi = 981,467,136 B
      (the default 1G would never schedule: seed 000's finding);
    limit = min(2 x 936Mi = 1872Mi, 1436Mi allocatable) = 1436Mi = 1,505,755,136 B (the seed's hand-tuned 1.4G);
    CPU: 2 cores - 0.07 kube-reserved (6 % of the first core + 1 % of the second) = 1.93 allocatable, 1.63 free
    after 0.3 of system pods: guarantee min(0.5, 1.63) = 0.5, limit 1.93.
    start timeout: the pool autoscales (1-11): 360 s DigitalOcean scale-up + 120 s image pull + 60 s server
    start = 540 s, above JupyterHub's 300 s default under which the seed's spawns timed out.
    """
    single = _values()["singleuser"]
    assert single["memory"] == {"guarantee": 936 * MI, "limit": 1436 * MI}
    assert single["memory"] == {"guarantee": 981_467_136, "limit": 1_505_755_136}
    assert single["cpu"] == {"guarantee": 0.5, "limit": 1.93}
    assert single["startTimeout"] == 540
    assert single["nodeSelector"] == {"kubelab.io/pool": "users"}


def test_a_big_node_keeps_jupyterhubs_default_guarantee() -> None:
    """s-4vcpu-8gb: 8192Mi - 1024Mi (25 % of 4Gi) - 819.2Mi (20 % of the next 4Gi) - 100Mi = 6248.8Mi allocatable,
    5748.8Mi free: the 1G default fits; the limit is 2 x 10^9 B (below allocatable), floored to whole MiB."""
    single = _values(**{"size: s-2vcpu-2gb-amd": "size: s-4vcpu-8gb"})["singleuser"]
    assert single["memory"]["guarantee"] == 953 * MI  # 10^9 B floored to MiB
    assert single["memory"]["limit"] == 1906 * MI


def test_written_values_are_kept_as_bytes_not_kubespawner_units() -> None:
    values = _values(**{"  storage: {size: 10Gi}": "  storage: {size: 10Gi}\n  memory: {guarantee: 800M, limit: 1.4G}"
                                                   "\n  cpu: {guarantee: 250m}\n  start_timeout: 12m"})
    single = values["singleuser"]
    assert single["memory"] == {"guarantee": 800_000_000, "limit": 1_400_000_000}  # KubeSpawner's 1.4G is 1.4 GiB
    assert single["cpu"] == {"guarantee": 0.25, "limit": 1.93}
    assert single["startTimeout"] == 720


def test_start_timeout_rules() -> None:
    lab = full_lab(**{"{name: users, size: s-2vcpu-2gb-amd, min: 1, max: 11, purpose: users}":
                      "{name: users, size: s-2vcpu-2gb-amd, count: 3, purpose: users}"})
    assert render_lab(lab).hub_values["singleuser"]["startTimeout"] == 300  # type: ignore[index]
    assert start_timeout(None, None, 360, 120) == 300
    assert start_timeout(90, lab.pools[1], 360, 120) == 90


def test_unknown_node_sizes_derive_nothing() -> None:
    lab = full_lab()
    size = user_size(lab.workbench.cpu, lab.workbench.memory, None)  # type: ignore[union-attr]
    assert (size.mem_guarantee, size.mem_limit, size.cpu_guarantee, size.cpu_limit) == (None, None, None, None)
    values = render_lab(lab, sizing=Sizing()).hub_values
    assert values is not None and values["singleuser"]["memory"] == {"guarantee": None, "limit": None}
    assert validate_hub_values(values) == []


def test_profiles_go_to_their_pools() -> None:
    standard, gpu = _values()["singleuser"]["profileList"]
    assert standard["slug"] == "standard" and standard["default"] is True
    assert standard["kubespawner_override"]["node_selector"] == {"kubelab.io/pool": "users"}
    assert standard["kubespawner_override"]["mem_guarantee"] == 936 * MI
    over = gpu["kubespawner_override"]
    assert over["node_selector"] == {"kubelab.io/pool": "gpu"}
    assert over["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    assert over["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert over["image"] == "quay.io/jupyter/pytorch-notebook:cuda12-2024-12-09"
    assert (over["mem_guarantee"], over["mem_limit"], over["cpu_guarantee"], over["cpu_limit"]) == (
        8 * 2**30, 16 * 2**30, 2.0, 4.0)


def test_hub_pods_name_their_definition_key_but_are_not_kubelabs() -> None:
    values = _values()
    assert values["singleuser"]["extraAnnotations"] == {"kubelab.dev/source": "workbench"}
    assert values["hub"]["annotations"] == {"kubelab.dev/source": "workbench"}
    standard, gpu = values["singleuser"]["profileList"]
    assert gpu["kubespawner_override"]["extra_annotations"] == {"kubelab.dev/source": "workbench.profiles[1]"}
    assert "app.kubernetes.io/managed-by" not in str(values)  # Helm owns them: apply must never prune them


def test_without_storage_and_with_a_storage_class() -> None:
    assert _values(**{"  storage: {size: 10Gi}\n": ""})["singleuser"]["storage"] == {"type": "none"}
    storage = _values(**{"storage: {size: 10Gi}": "storage: {size: 5Gi, storage_class: do-block-storage-xfs}"})
    assert storage["singleuser"]["storage"] == {"capacity": "5Gi", "dynamic": {"storageClass": "do-block-storage-xfs"}}


def test_a_profile_inherits_each_field_it_leaves_out() -> None:
    values = _values(**{"  storage: {size: 10Gi}": "  storage: {size: 10Gi}\n  memory: {limit: 1200Mi}",
                        "      memory: {guarantee: 8Gi, limit: 16Gi}": "      memory: {guarantee: 1Gi}"})
    standard, gpu = values["singleuser"]["profileList"]
    assert standard["kubespawner_override"]["mem_limit"] == 1200 * MI
    assert standard["kubespawner_override"]["mem_guarantee"] == 936 * MI  # derived, below the limit
    assert (gpu["kubespawner_override"]["mem_guarantee"], gpu["kubespawner_override"]["mem_limit"]) == (
        2**30, 1200 * MI)  # its own guarantee, the workbench's limit


def test_github_auth_reads_its_secret_from_kubernetes() -> None:
    hub = _values()["hub"]
    assert hub["config"]["JupyterHub"] == {"authenticator_class": "github"}
    assert hub["config"]["GitHubOAuthenticator"] == {
        "client_id": "Iv1.abc", "oauth_callback_url": "https://lab.example.org/hub/oauth_callback",
        "allowed_organizations": ["lab"]}
    assert hub["config"]["Authenticator"] == {"admin_users": ["alice"], "allowed_users": ["alice", "bob"]}
    assert hub["extraEnv"] == {"OAUTH_CLIENT_SECRET": {"valueFrom": {"secretKeyRef": {
        "name": "github-oauth", "key": "client-secret"}}}}
    assert hub["nodeSelector"] == {"kubelab.io/pool": "core"}


GITHUB = FULL[FULL.index("auth:"):FULL.index("workbench:")]


def test_native_auth() -> None:
    hub = _values(**{GITHUB: "auth: {method: native, native: {minimum_password_length: 12}}\n"})["hub"]
    assert hub["config"]["JupyterHub"] == {"authenticator_class": "nativeauthenticator.NativeAuthenticator"}
    assert hub["config"]["NativeAuthenticator"] == {"open_signup": False, "minimum_password_length": 12}
    assert "extraEnv" not in hub


def test_ldap_auth_with_a_bind_password_from_a_secret() -> None:
    ldap = """auth:
  method: ldap
  ldap:
    server: ldaps://ldap.example.org:636
    lookup_dn: true
    user_search_base: ou=people,dc=example,dc=org
    bind_user: cn=hub,dc=example,dc=org
    bind_password: {secret: ldap, key: password}
    allowed_groups: ["cn=lab,ou=groups,dc=example,dc=org"]
"""
    hub = _values(**{GITHUB: ldap})["hub"]
    assert hub["config"]["LDAPAuthenticator"] == {
        "server_address": "ldap.example.org", "tls_strategy": "on_connect", "lookup_dn": True, "server_port": 636,
        "allowed_groups": ["cn=lab,ou=groups,dc=example,dc=org"], "user_search_base": "ou=people,dc=example,dc=org",
        "lookup_dn_search_user": "cn=hub,dc=example,dc=org"}
    assert hub["extraEnv"]["LDAP_BIND_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "ldap", "key": "password"}
    assert "os.environ['LDAP_BIND_PASSWORD']" in hub["extraConfig"]["kubelab-ldap"]


def test_ldap_with_start_tls() -> None:
    ldap = "auth: {method: ldap, ldap: {server: 'ldap://ldap.example.org', start_tls: true, bind_dn_template: " \
           "['uid={username},ou=people,dc=example,dc=org']}}\n"
    settings = _values(**{GITHUB: ldap})["hub"]["config"]["LDAPAuthenticator"]
    assert settings == {"server_address": "ldap.example.org", "tls_strategy": "before_bind", "lookup_dn": False,
                        "bind_dn_template": ["uid={username},ou=people,dc=example,dc=org"]}


def test_no_auth_is_explicit() -> None:
    text = FULL.replace(GITHUB, "auth: {method: none}\n").replace(
        "  https: {hosts: [lab.example.org], contact_email: admin@example.org}\n", "  service: clusterip\n")
    hub = _values(text)["hub"]
    assert hub["config"]["JupyterHub"] == {"authenticator_class": "dummy"}


def test_https_and_culling() -> None:
    values = _values()
    assert values["proxy"]["https"] == {"enabled": True, "hosts": ["lab.example.org"], "type": "letsencrypt",
                                        "letsencrypt": {"contactEmail": "admin@example.org"}}
    assert values["cull"] == {"enabled": True, "timeout": 3600, "every": 600, "maxAge": 0}
    own = _values(**{"contact_email: admin@example.org": "secret: lab-tls"})["proxy"]["https"]
    assert own == {"enabled": True, "hosts": ["lab.example.org"], "type": "secret", "secret": {"name": "lab-tls"}}


@pytest.mark.parametrize(("image", "expected"), [
    ("quay.io/jupyter/scipy-notebook:2024-12-09", ("quay.io/jupyter/scipy-notebook", "2024-12-09")),
    ("localhost:5000/notebook", ("localhost:5000/notebook", "latest")),
    ("jupyter/base-notebook", ("jupyter/base-notebook", "latest")),
])
def test_split_image(image: str, expected: tuple[str, str]) -> None:
    assert split_image(image) == expected


def test_sizes_come_from_the_shipped_catalog() -> None:
    cap = load_sizes().capacity("digitalocean", "s-2vcpu-2gb-amd")
    assert cap is not None and (cap.allocatable_memory, cap.free_memory) == (1436 * MI, 936 * MI)
