"""The Kubernetes monitor against the fake API server: requests and usage over the same pods."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelab.errors import ClusterError, MonitorError
from kubelab.kube import Cluster, apply
from kubelab.monitor import KubeTarget, Monitor
from tests.kube.conftest import deployment, namespace
from tests.kube.fake_apiserver import FakeKubeAPI
from tests.kube.fake_workloads import Unschedulable


@pytest.fixture
def fake() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI() as api:
        yield api


@pytest.fixture
def cluster(fake: FakeKubeAPI, tmp_path: Path) -> Iterator[Cluster]:
    with Cluster(str(fake.kubeconfig(tmp_path / "kc", namespace="lab")), environ={}) as c:
        yield c


def test_sums_requests_and_usage_over_the_selected_pods_only(fake: FakeKubeAPI, cluster: Cluster) -> None:
    app = deployment("ml-app", replicas=2, cpu="500m", memory="512Mi")
    app["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] = {"cpu": "1", "memory": "1Gi"}
    apply(cluster, [namespace("lab"), app, deployment("other", replicas=3, cpu="2", memory="2Gi")], lab="t",
          poll=0.05)
    for pod in fake.objects("v1", "Pod", "lab"):
        usage = ("300m", "200Mi") if pod["metadata"]["name"].startswith("ml-app") else ("1500m", "1Gi")
        fake.set_pod_metrics("lab", pod["metadata"]["name"], {"main": usage})
    sample = KubeTarget(cluster, "app=ml-app").read()
    assert sample.n_replica == 2
    assert (sample.cpu_req_core, sample.mem_req_kib) == (1.0, 1024 * 1024)
    assert (sample.cpu_lim_core, sample.mem_lim_kib) == (2.0, 2 * 1024 * 1024)
    assert sample.cpu_use_core == pytest.approx(0.6)
    assert sample.mem_use_kib == 400 * 1024


def test_pending_pods_are_not_replicas(fake: FakeKubeAPI, cluster: Cluster) -> None:
    apply(cluster, [namespace("lab"), deployment("web", replicas=1)], lab="t", poll=0.05)
    fake.behave("lab", "big", Unschedulable())
    apply(cluster, [namespace("lab"), deployment("web", replicas=1), deployment("big", replicas=2)], lab="t",
          wait=False)
    for pod in fake.objects("v1", "Pod", "lab"):
        fake.set_pod_metrics("lab", pod["metadata"]["name"], {"main": ("100m", "10Mi")})
    # Both deployments share no labels; select each.
    assert KubeTarget(cluster, "app=web").read().n_replica == 1
    big = KubeTarget(cluster, "app=big").read()
    assert (big.n_replica, big.cpu_req_core, big.cpu_use_core) == (0, None, None)


def test_monitor_rows_from_the_cluster(fake: FakeKubeAPI, cluster: Cluster) -> None:
    apply(cluster, [namespace("lab"), deployment("web", replicas=2)], lab="t", poll=0.05)
    for pod in fake.objects("v1", "Pod", "lab"):
        fake.set_pod_metrics("lab", pod["metadata"]["name"], {"main": ("250m", "64Mi")})
    rows = Monitor(KubeTarget(cluster, "app=web", "lab"), interval=0.05, duration=0.15).run()
    assert [r.as_row() for r in rows] == [
        {"time": t, "n_replica": 2, "cpu_req_core": 1.0, "mem_req_KB": 1024 * 1024, "cpu_lim_core": 1.0,
         "mem_lim_KB": 1024 * 1024, "cpu_use_core": 0.5, "mem_use_KB": 128 * 1024} for t in (0.05, 0.1, 0.15)]


def test_selector_errors(cluster: Cluster) -> None:
    with pytest.raises(MonitorError, match="no pods match app=nothing in namespace lab; hint: check with kubectl "
                                           "get pods -n lab -l app=nothing"):
        KubeTarget(cluster, "app=nothing")
    with pytest.raises(ClusterError, match="selector 'app=web\\)': 'app=web\\)' is not a selector term"):
        KubeTarget(cluster, "app=web)")


def test_a_cluster_without_the_metrics_api(tmp_path: Path) -> None:
    with FakeKubeAPI(missing=("metrics.k8s.io/v1beta1",)) as fake, \
            Cluster(str(fake.kubeconfig(tmp_path / "kc", namespace="lab")), environ={}) as cluster:
        apply(cluster, [namespace("lab"), deployment("web", replicas=1)], lab="t", poll=0.05)
        target = KubeTarget(cluster, "app=web")
        with pytest.raises(ClusterError, match=f"the metrics API \\(metrics.k8s.io\\) is not available on "
                                               f"{fake.url}; hint: install metrics-server"):
            target.read()


def test_sidecars_count_init_containers_do_not(fake: FakeKubeAPI, cluster: Cluster) -> None:
    app = deployment("web", replicas=1, cpu="500m", memory="256Mi")
    res = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}
    app["spec"]["template"]["spec"]["initContainers"] = [
        {"name": "proxy", "image": "proxy:1", "restartPolicy": "Always", "resources": res},
        {"name": "migrate", "image": "migrate:1", "resources": {"requests": {"cpu": "4", "memory": "4Gi"}}}]
    apply(cluster, [namespace("lab"), app], lab="t", poll=0.05)
    for pod in fake.objects("v1", "Pod", "lab"):
        fake.set_pod_metrics("lab", pod["metadata"]["name"], {"main": ("200m", "100Mi"), "proxy": ("50m", "20Mi")})
    sample = KubeTarget(cluster, "app=web").read()
    assert (sample.cpu_req_core, sample.mem_req_kib) == (0.6, 320 * 1024)
    assert (sample.cpu_use_core, sample.mem_use_kib) == (pytest.approx(0.25), 120 * 1024)
