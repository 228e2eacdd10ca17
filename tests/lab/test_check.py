"""Every check of ``kubelab lab check``: its message, its position, and silence on valid files.

Capacity figures used below, by hand from the model in docs/lab.md (GKE tiers, 100Mi eviction threshold,
DigitalOcean system pods 500Mi / 300m):
- s-2vcpu-2gb: 2048Mi - 25 % x 2048Mi (512Mi) - 100Mi = 1436Mi allocatable; - 500Mi = 936Mi free.
  1G = 10^9 bytes = 953.67Mi > 936Mi: the seed's finding. 1.4G = 1335.1Mi <= 1436Mi: its limit is fine.
- s-2vcpu-4gb: 4096Mi - 1024Mi - 100Mi - 500Mi = 2472Mi free = 2.414Gi.
- c-4: CPU 4 - (0.06 + 0.01 + 2 x 0.005) - 0.3 = 3.62 cores free; memory 8192Mi - (1024 + 819.2)Mi - 100Mi
  = 6248.8Mi allocatable = 6.10Gi.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kubelab.lab import Report, starter_text
from tests.lab.conftest import BASE, position

ROOT = Path(__file__).resolve().parents[2]
Check = Callable[[str], tuple[Report, str]]

SEED_000 = """\
apiVersion: kubelab/v1
kind: Lab
metadata: {name: seed-000}
provider: {name: digitalocean, region: nyc1, kubernetes: "1.31"}
pools:
  - {name: users, size: s-2vcpu-2gb, min: 1, max: 11, purpose: [core, users]}
users: {admins: [admin], typical: 3, peak: 10}
auth: {method: native}
workbench:
  image: jupyter/tensorflow-notebook:2023-10-20
  memory: {guarantee: 800M, limit: 1.4G}
  start_timeout: 10m
  https: {hosts: [hub.example.org], contact_email: me@example.org}
"""

GKE = """\
apiVersion: kubelab/v1
kind: Lab
metadata: {name: vision}
provider: {name: gke, region: us-central1, kubernetes: "1.30"}
pools:
  - {name: core, size: e2-standard-2, count: 1, purpose: core}
  - {name: users, size: e2-standard-4, min: 0, max: 5, purpose: users}
  - name: gpu
    size: g2-standard-4
    min: 0
    max: 2
    gpu: {type: nvidia-l4, count: 1}
    purpose: users
    taints: [{key: nvidia.com/gpu, effect: NoSchedule}]
  - {name: spot, size: e2-standard-8, min: 0, max: 10, spot: true, purpose: workers}
auth:
  method: ldap
  ldap:
    server: ldaps://ldap.example.org
    bind_dn_template: ["uid={username},ou=people,dc=example,dc=org"]
    allowed_groups: ["cn=ml,ou=groups,dc=example,dc=org"]
workbench:
  image: quay.io/jupyter/scipy-notebook:2024-12-09
  cpu: {guarantee: "1", limit: "3"}
  memory: {guarantee: 4Gi, limit: 8Gi}
  https: {hosts: [ml.example.org], secret: ml-tls}
  profiles:
    - {name: cpu, display_name: CPU, default: true}
    - name: l4
      display_name: One L4
      image: quay.io/jupyter/pytorch-notebook:cuda12-2024-12-09
      memory: {guarantee: 8Gi, limit: 12Gi}
      gpu: 1
tuning:
  workers:
    autoscaling: {min: 0, max: 20, queue_length: 2}
    resources: {requests: {cpu: "2", memory: 4Gi}, limits: {cpu: "2", memory: 6Gi}}
"""

EKS = """\
apiVersion: kubelab/v1
kind: Lab
metadata: {name: serving}
provider: {name: eks, region: us-east-1, kubernetes: "1.32"}
pools:
  - {name: core, size: t3.large, count: 2, purpose: [core, users]}
  - {name: inference, size: m5.xlarge, min: 1, max: 4, purpose: serving}
auth: {method: native}
users: {admins: [ops]}
workbench:
  image: quay.io/jupyter/minimal-notebook:2024-12-09
  service: clusterip
models:
  - name: fraud
    model: s3://models/fraud.joblib
    image: ghcr.io/example/kubelab-serve:0.1.0
    replicas: 2
    resources: {requests: {cpu: "1", memory: 2Gi}, limits: {cpu: "2", memory: 4Gi}}
  - name: churn
    model: s3://models/churn.joblib
    autoscaling: {min: 2, max: 8}
    resources: {requests: {cpu: 500m, memory: 1Gi}}
"""

GENERIC = """\
apiVersion: kubelab/v1
kind: Lab
metadata: {name: laptop-cluster}
provider: {name: generic, region: home, kubernetes: "1.33"}
pools:
  - {name: all, size: 8cpu-32Gi, count: 1, purpose: [core, users, workers, serving]}
auth: {method: none}
workbench:
  image: quay.io/jupyter/base-notebook:2024-12-09
  service: clusterip
tuning: {}
"""

TUNING_ONLY = """\
apiVersion: kubelab/v1
kind: Lab
metadata: {name: search}
provider: {name: gke, region: europe-west1, kubernetes: "1.33"}
pools:
  - {name: core, size: e2-medium, count: 1, purpose: core}
  - {name: spot, size: e2-highcpu-4, min: 0, max: 30, spot: true, purpose: workers}
auth: {method: none}
tuning:
  workers:
    image: ghcr.io/example/kubelab:0.1.0
    autoscaling: {min: 0, max: 30, queue_length: 1}
    resources: {requests: {cpu: "3", memory: 2Gi}, limits: {cpu: "3", memory: 2Gi}}
budget: {monthly: 800}
"""


def lines(report: Report) -> list[str]:
    return [f"{f.severity}: {f.problem}" for f in report.findings]


def test_valid_files_are_silent(check: Check) -> None:
    example = (ROOT / "examples" / "lab.yaml").read_text(encoding="utf-8")
    starters = [starter_text(p) for p in ("digitalocean", "gke", "eks")]
    for text in (BASE, SEED_000, GKE, EKS, GENERIC, TUNING_ONLY, example, *starters):
        report, _ = check(text)
        assert report.lab is not None
        assert lines(report) == [], text[:200]


def test_seed_000_guarantee_of_1g_on_a_2gb_node(check: Check) -> None:
    text = SEED_000.replace("guarantee: 800M", "guarantee: 1G")
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, '1G,')}: workbench.memory.guarantee: a user server does not fit on pool "
        "'users': it asks for 1G (953Mi) and each s-2vcpu-2gb node has 2Gi, minus 512Mi kube-reserved, 100Mi "
        "eviction threshold and 500Mi of system pods: 936Mi left for pods; hint: lower it to at most 936Mi, or "
        "give pool 'users' a larger size (e.g. s-2vcpu-4gb)"]
    assert not report.ok


def test_seed_000_start_timeout_shorter_than_a_scale_up(check: Check) -> None:
    text = SEED_000.replace("start_timeout: 10m", "start_timeout: 5m")
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, '5m')}: workbench.start_timeout: 5m is shorter than adding a node to pool "
        "'users' on digitalocean (about 6m) and pulling the image (about 2m): spawns will time out while a node is "
        "added; hint: set start_timeout: 10m or more, or leave it out to have it derived"]


def test_fixed_users_pool_needs_no_scale_up_time(check: Check) -> None:
    text = SEED_000.replace("min: 1, max: 11", "count: 3").replace("start_timeout: 10m", "start_timeout: 5m")
    report, _ = check(text)
    assert [f for f in lines(report) if "start_timeout" in f] == []


def test_guarantee_above_limit(check: Check) -> None:
    text = BASE.replace("memory: {guarantee: 1Gi, limit: 2Gi}", "memory: {guarantee: 3Gi, limit: 2Gi}")
    report, file = check(text)
    where = position(text, "3Gi")
    assert lines(report) == [
        f"error: {file}:{where}: workbench.memory.guarantee: a user server: memory guarantee 3Gi is above its "
        "limit 2Gi; hint: Kubernetes rejects a pod whose memory request exceeds its limit; lower the guarantee or "
        "raise the limit",
        f"error: {file}:{where}: workbench.memory.guarantee: a user server does not fit on pool 'users': it asks "
        "for 3Gi and each s-2vcpu-4gb node has 4Gi, minus 1Gi kube-reserved, 100Mi eviction threshold and 500Mi "
        "of system pods: 2.41Gi left for pods; hint: lower it to at most 2.41Gi, or give pool 'users' a larger "
        "size (e.g. s-4vcpu-8gb)"]


def test_request_above_limit_of_a_model(check: Check) -> None:
    text = BASE.replace("requests: {cpu: 250m, memory: 256Mi}", "requests: {cpu: 1500m, memory: 256Mi}")
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, '1500m')}: models[0].resources.requests.cpu: model 'rul': cpu request "
        "1500m is above its limit 1; hint: Kubernetes rejects a pod whose cpu request exceeds its limit; lower the "
        "request or raise the limit"]


def test_worker_that_cannot_fit_its_pool(check: Check) -> None:
    text = BASE.replace('requests: {cpu: "1", memory: 2Gi}, limits: {cpu: "1", memory: 2Gi}',
                        'requests: {cpu: "4", memory: 2Gi}, limits: {cpu: "8", memory: 8Gi}')
    report, file = check(text)
    request, limit = position(text, 'cpu: "4"', offset=5), position(text, 'cpu: "8"', offset=5)
    assert lines(report) == [
        f"error: {file}:{request}: tuning.workers.resources.requests.cpu: a tuning worker does not fit on pool "
        "'workers': it asks for 4 "
        "cores and each c-4 node has 4 cores, minus 0.08 kube-reserved and 0.3 of system pods: 3.62 left for "
        "pods; hint: lower it to at most 3620m, or give pool 'workers' a larger size (e.g. c-8)",
        f"warning: {file}:{limit}: tuning.workers.resources.limits.cpu: a tuning "
        "worker: cpu limit 8 is more than the 4 cores of a c-4 node; hint: lower it to at most 4",
        f"warning: {file}:{position(text, '8Gi')}: tuning.workers.resources.limits.memory: a tuning worker: memory "
        "limit 8Gi is more than each c-4 node gives pods (6.1Gi allocatable); the pod is evicted or OOM-killed before "
        "it reaches it; hint: lower it to at most 6.1Gi"]
    assert not report.ok


def test_gpu_profile_without_gpu_pool(check: Check) -> None:
    text = BASE.replace("  start_timeout: 10m", "  start_timeout: 10m\n  profiles:\n    - {name: gpu, "
                        "display_name: GPU, gpu: 1}")
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, 'gpu: 1', offset=5)}: workbench.profiles[0].gpu: profile 'gpu' asks for 1 "
        "GPU(s) but no pool has a GPU; hint: add a pool with gpu: {type: …, count: 1} and purpose: users (tainted "
        "nvidia.com/gpu), or remove gpu from the profile"]


def test_gpu_profile_on_a_named_pool_without_gpu(check: Check) -> None:
    text = GKE.replace("      gpu: 1\n", "      gpu: 1\n      pool: users\n")
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, 'gpu: 1', offset=5)}: workbench.profiles[1].gpu: profile 'l4' asks for 1 "
        "GPU(s) but nodes of pool 'users' have 0; hint: place it on a pool with enough GPUs (pool: NAME)"]


def test_pool_gpu_disagrees_with_its_size(check: Check) -> None:
    text = GKE.replace("gpu: {type: nvidia-l4, count: 1}", "gpu: {type: nvidia-tesla-t4, count: 2}")
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, '{type: nvidia-tesla-t4')}: pools[2].gpu: 'g2-standard-4' has 1 x "
        "nvidia-l4, not 2 x nvidia-tesla-t4; hint: write gpu: {type: nvidia-l4, count: 1}"]


def test_stateful_components_on_spot(check: Check) -> None:
    text = (BASE.replace("    count: 1\n    purpose: core", "    count: 1\n    spot: true\n    purpose: core")
            .replace("tuning:\n", "tuning:\n  broker: {pool: core}\n"))
    report, file = check(text)
    spot = position(text, "true")
    assert lines(report) == [
        f"error: {file}:{spot}: pools[0].spot: the hub (JupyterHub and its database) runs on pool 'core', which is "
        "spot: a reclaimed node logs every user out and may corrupt the hub database; hint: add a pool with "
        "purpose: core and spot: false (a small always-on node)",
        f"error: {file}:{spot}: pools[0].spot: the store (PostgreSQL) runs on pool 'core', which is spot: a "
        "reclaimed node stops every study until the volume is reattached elsewhere; hint: put it on a pool with "
        "spot: false (purpose: core)",
        f"error: {file}:{position(text, 'core}')}: tuning.broker.pool: the broker (RabbitMQ) runs on pool 'core', "
        "which is spot: a reclaimed node stops every study until the volume is reattached elsewhere; hint: put it "
        "on a pool with spot: false (purpose: core)"]


def test_users_on_spot_is_a_warning(check: Check) -> None:
    text = GKE.replace("min: 0, max: 5, purpose: users", "min: 0, max: 5, spot: true, purpose: users")
    report, file = check(text)
    assert lines(report) == [
        f"warning: {file}:{position(text, 'true')}: pools[1].spot: user servers run on spot pool 'users': a "
        "reclaimed node stops them and loses unsaved notebook state; hint: use spot: false for the users pool"]
    assert report.ok


def test_culling_timeouts(check: Check) -> None:
    text = BASE.replace("  start_timeout: 10m", "  start_timeout: 10m\n  cull: {idle_timeout: 4m, every: 10m, "
                        "max_age: 2m}")
    report, file = check(text)
    idle = position(text, "4m")
    assert lines(report) == [
        f"warning: {file}:{idle}: workbench.cull.idle_timeout: 4m is shorter than the culler's interval (10m): "
        "servers are stopped between 4m and 14m after use; hint: make every at most idle_timeout (e.g. a sixth of "
        "it)",
        f"warning: {file}:{idle}: workbench.cull.idle_timeout: 4m idle culls a server sooner than it may take to "
        "start one (10m); hint: raise idle_timeout (1h is common)",
        f"warning: {file}:{position(text, '2m}')}: workbench.cull.max_age: 2m is shorter than idle_timeout (4m): "
        "servers are stopped by age before they could be idle; hint: raise max_age above idle_timeout, or 0 for no "
        "age limit"]
    assert report.ok


def test_no_culling_on_an_autoscaled_pool(check: Check) -> None:
    text = BASE.replace("  start_timeout: 10m", "  start_timeout: 10m\n  cull: {enabled: false}")
    report, file = check(text)
    assert lines(report) == [
        f"warning: {file}:{position(text, 'false')}: workbench.cull.enabled: idle servers are never stopped, so the "
        "autoscaled users pool never shrinks and idle nodes keep costing; hint: enable culling (enabled: true)"]


def test_open_to_the_internet(check: Check) -> None:
    text = (BASE.replace("  method: github\n  github:\n    client_id: abc\n    client_secret: {secret: github-oauth"
                         ", key: client-secret}\n    callback_url: https://lab.example.org/hub/oauth_callback\n    "
                         "allowed_organizations: [team]\n", "  method: none\n")
            .replace("  https:\n    hosts: [lab.example.org]\n    contact_email: admin@example.org\n", ""))
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, 'none')}: auth.method: no authentication on a hub exposed as loadbalancer: "
        "anyone who finds the address gets a server and runs code in your cluster; hint: use method: github, ldap "
        "or native, or service: clusterip with kubectl port-forward",
        f"error: {file}:{position(text, 'image:')}: workbench.service: the hub is exposed as loadbalancer over "
        "plain HTTP: passwords and tokens cross the internet in clear; hint: add workbench.https: {hosts: "
        "[lab.example.org], contact_email: you@example.org}, or service: clusterip and reach it with kubectl "
        "port-forward"]


def test_github_open_to_any_account_and_wrong_callback(check: Check) -> None:
    text = (BASE.replace("    allowed_organizations: [team]\n", "").replace("  allowed: [alice, bob]\n", "")
            .replace("https://lab.example.org/hub", "https://lab.example.com/hub"))
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, 'client_id')}: auth.github: any GitHub account can log in and run code in "
        "your cluster; hint: list allowed_organizations, or users.allowed",
        f"error: {file}:{position(text, 'https://lab.example.com')}: auth.github.callback_url: host "
        "'lab.example.com' is not one of the hub's hosts (lab.example.org): GitHub would send users elsewhere after "
        "login; hint: use https://lab.example.org/hub/oauth_callback"]


def test_native_open_signup_and_https_without_certificate(check: Check) -> None:
    text = (SEED_000.replace("auth: {method: native}", "auth: {method: native, native: {open_signup: true}}")
            .replace(", contact_email: me@example.org", ""))
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, 'true')}: auth.native.open_signup: anyone can sign up and get a server at "
        "once; hint: set open_signup: false (admins approve accounts) or list users.allowed",
        f"error: {file}:{position(text, '{hosts')}: workbench.https: https needs a certificate: Let's Encrypt needs "
        "contact_email, or name an existing TLS secret; hint: add contact_email: you@example.org (or secret: NAME)"]


def test_ldap_in_clear(check: Check) -> None:
    text = GKE.replace("ldaps://", "ldap://")
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, 'ldap://')}: auth.ldap.server: passwords go to the LDAP server unencrypted; "
        "hint: use ldaps://… or start_tls: true"]


def test_unknown_sizes_with_did_you_mean(check: Check) -> None:
    text = BASE.replace("size: c-4", "size: c-44")
    report, file = check(text)
    assert lines(report) == [f"error: {file}:{position(text, 'c-44')}: pools[2].size: unknown digitalocean size "
                             "'c-44'; hint: did you mean 'c-4'?"]
    text = GENERIC.replace("8cpu-32Gi", "large")
    report, file = check(text)
    assert lines(report) == [f"error: {file}:{position(text, 'large')}: pools[0].size: unknown generic size "
                             "'large'; hint: write a generic size as <cpu>cpu-<memory>, e.g. 4cpu-16Gi or "
                             "8cpu-32Gi-1xnvidia-l4"]


def test_pool_references_and_names(check: Check) -> None:
    text = (BASE.replace("  workers:\n    autoscaling", "  workers:\n    pool: worker\n    autoscaling")
            .replace("purpose: [workers, serving]", "purpose: workers").replace("  - name: users", "  - name: core"))
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, 'name: core', nth=1, offset=6)}: pools[1].name: name 'core' is used "
        "twice; hint: give each a different name",
        f"error: {file}:{position(text, 'worker', nth=3)}: tuning.workers.pool: no pool named 'worker'; hint: did "
        "you mean 'workers'?",
        f"error: {file}:{position(text, 'name: rul')}: models[0]: model 'rul' has no pool: no pool has purpose "
        "serving; hint: add purpose: serving to a pool, or set models[0].pool: NAME"]


def test_peak_beyond_the_pool_and_unpinned_image(check: Check) -> None:
    text = BASE.replace("  peak: 4", "  peak: 20").replace("image: quay.io/jupyter/scipy-notebook:2024-12-09",
                                                           "image: jupyter/scipy-notebook")
    report, file = check(text)
    # s-2vcpu-4gb leaves 2472Mi and 1.63 cores: 2 servers of 1Gi / 500m per node; 20 users need 10 nodes.
    assert lines(report) == [
        f"warning: {file}:{position(text, 'max: 4', offset=5)}: pools[1].max: at its peak of 20 users, a user "
        "server needs 10 nodes of pool 'users' (2 per node) but the pool stops at 4; hint: raise it to 10, or "
        "lower the peak",
        f"warning: {file}:{position(text, 'jupyter/scipy')}: workbench.image: image 'jupyter/scipy-notebook' is not "
        "pinned: no tag changes under you and new nodes may pull a different version; hint: pin a tag, e.g. "
        "quay.io/jupyter/scipy-notebook:2024-12-09"]
    assert report.ok


def test_unparseable_file_reports_problems_as_errors(check: Check) -> None:
    report, file = check(BASE.replace("kind: Lab", "kind: Lob"))
    assert report.lab is None
    assert lines(report) == [f"error: {file}:2:7: kind: 'Lob' is not allowed; hint: did you mean 'Lab'?"]


def test_untainted_gpu_pool_and_idle_pool(check: Check) -> None:
    text = (GKE.replace("    taints: [{key: nvidia.com/gpu, effect: NoSchedule}]\n", "")
            .replace("{name: spot, size: e2-standard-8, min: 0, max: 10", "{name: spot, size: e2-standard-8, "
                     "min: 2, max: 10").replace("purpose: workers}", "purpose: serving}")
            .replace("tuning:\n  workers:\n    autoscaling: {min: 0, max: 20, queue_length: 2}\n    resources: "
                     "{requests: {cpu: \"2\", memory: 4Gi}, limits: {cpu: \"2\", memory: 6Gi}}\n", ""))
    report, file = check(text)
    assert lines(report) == [
        f"warning: {file}:{position(text, 'name: gpu')}: pools[2].taints: pool 'gpu' has GPUs but no "
        "NoSchedule taint: CPU-only pods may land on its expensive nodes and keep them running; hint: add taints: "
        "[{key: nvidia.com/gpu, effect: NoSchedule}]",
        f"warning: {file}:{position(text, 'name: spot', offset=6)}: pools[3].name: nothing runs on pool 'spot', yet "
        "it keeps 2 node(s); hint: remove the pool, give it min: 0, or place a component there (pool: NAME)"]


def test_kubernetes_version_outside_the_rendered_range(check: Check) -> None:
    text = BASE.replace('kubernetes: "1.31"', 'kubernetes: "1.27"')
    report, file = check(text)
    where = position(text, '"1.27')
    assert lines(report) == [
        f"warning: {file}:{where}: provider.kubernetes: kubelab's manifests are validated for "
        "Kubernetes 1.30 to 1.35, not 1.27; hint: use a version from 1.30 to 1.35"]


def test_core_pool_cannot_hold_hub_broker_and_store(check: Check) -> None:
    """s-2vcpu-4gb leaves 2472Mi: the hub (512Mi), a 1.5Gi broker and a 1.5Gi store (3584Mi) need 2 nodes."""
    big = "resources: {requests: {cpu: 250m, memory: 1536Mi}}"
    text = BASE.replace("tuning:\n", f"tuning:\n  broker: {{{big}}}\n  store: {{{big}}}\n")
    report, file = check(text)
    assert lines(report) == [
        f"error: {file}:{position(text, 'count: 1', offset=7)}: pools[0].count: pool 'core' cannot hold what runs "
        "there at rest: 1 of its 3 pods find no room on 1 s-2vcpu-4gb node(s), which leave 2.41Gi and 1.63 cores "
        "each; hint: give it count: 2, a larger size, or move a component to another pool"]
