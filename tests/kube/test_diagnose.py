"""Rollout failures, scripted in the fake, come back as messages naming the definition key."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.errors import ApplyFailed
from kubelab.kube import Cluster, Diagnosis, apply, diagnose
from tests.kube.conftest import deployment, namespace
from tests.kube.fake_apiserver import FakeKubeAPI
from tests.kube.fake_workloads import (
    CrashLoop,
    ImagePullError,
    NeverReady,
    ProbeFailing,
    QuotaExceeded,
    UnboundVolume,
    Unschedulable,
)


def failed(cluster: Cluster, objects: list[dict[str, Any]], **kwargs: Any) -> list[Diagnosis]:
    with pytest.raises(ApplyFailed) as err:
        apply(cluster, [namespace("lab"), *objects], lab="demo", grace=0, poll=0.05, timeout=5, **kwargs)
    assert str(err.value).startswith("the rollout failed")
    return [d for d in err.value.diagnoses if isinstance(d, Diagnosis)]


def test_insufficient_memory(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "workers", Unschedulable("0/3 nodes are available: 3 Insufficient memory."))
    [d] = failed(cluster, [deployment("workers", memory="4Gi", source="workers.resources")])
    assert (d.reason, d.source, d.ref) == ("insufficient-resources", "workers.resources", "Deployment lab/workers")
    assert str(d) == (
        "workers.resources: Deployment lab/workers: no node has enough free memory for a pod that requests "
        "memory 4Gi (0/3 nodes are available: 3 Insufficient memory.) [2 of 2 pods]; hint: lower the requests in "
        "workers.resources to fit the pool's allocatable memory, use a pool with bigger nodes, or let the pool "
        "autoscale")


def test_insufficient_cpu_and_gpu(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "trainer", Unschedulable("0/2 nodes are available: 1 Insufficient cpu, "
                                                "2 Insufficient nvidia.com/gpu."))
    obj = deployment("trainer", replicas=1, cpu="3", source="workbench.profiles[1]")
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "1"
    [d] = failed(cluster, [obj])
    assert d.message.startswith("no node has enough free CPU and GPU for a pod that requests CPU 3000m, GPU 1 (")
    assert "workbench.profiles[1]" in d.hint


def test_scale_up_is_waited_for_then_times_out(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "hub", Unschedulable("0/1 nodes are available: 1 Insufficient memory.", scale_up=True))
    with pytest.raises(ApplyFailed) as err:
        apply(cluster, [namespace("lab"), deployment("hub", replicas=1, source="workbench")], lab="demo",
              grace=0, poll=0.05, timeout=0.3)
    [d] = err.value.diagnoses
    assert isinstance(d, Diagnosis) and d.reason == "timeout"
    assert d.message.startswith("only 0/1 ready after 0 s (waiting for a new node: 0/1 nodes are available")
    assert "rerun with a longer --timeout; if it never starts, check workbench" in d.hint


def test_quota_exceeded(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "workers", QuotaExceeded())
    [d] = failed(cluster, [deployment("workers", source="workers.resources")])
    assert d.reason == "quota-exceeded"
    assert d.message.startswith('the namespace\'s ResourceQuota refuses new pods: pods "workers-')
    assert "exceeded quota: compute-resources, requested: requests.memory=4Gi" in d.message
    assert d.hint.startswith("lower the requests in workers.resources or the replica count, or raise the quota "
                             "(kubectl describe resourcequota -n lab)")


def test_missing_requests_under_a_quota(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "model-a", QuotaExceeded('pods "{pod}" is forbidden: failed quota: compute-resources: '
                                                "must specify limits.cpu for: main; requests.memory for: main"))
    [d] = failed(cluster, [deployment("model-a", source="models[0]")])
    assert d.reason == "missing-requests"
    assert "must specify limits.cpu for: main" in d.message
    assert d.hint == "give every container in models[0] CPU and memory requests and limits"


def test_image_pull_error(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "model-a", ImagePullError())
    [d] = failed(cluster, [deployment("model-a", replicas=1, image="ghcr.io/x/model:nope", source="models[0].image")])
    assert d.reason == "image-pull"
    assert d.message.startswith('image "ghcr.io/x/model:nope" cannot be pulled (ImagePullBackOff): Failed to pull '
                                'image "ghcr.io/x/model:nope": rpc error')
    assert d.hint.startswith("check the image name and tag in models[0].image")


def test_crash_loop_reports_the_exit_code(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "model-a", CrashLoop(exit_code=3))
    [d] = failed(cluster, [deployment("model-a", replicas=1, source="models[0]")])
    assert d.reason == "crash-loop"
    assert d.message == "container main keeps crashing (last exit code 3, Error; restarted 5 times)"
    assert d.hint == "see why: kubectl logs -n lab deployment/model-a -c main --previous"


def test_out_of_memory_kill_says_raise_the_limit(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "model-a", CrashLoop(exit_code=137, reason="OOMKilled"))
    [d] = failed(cluster, [deployment("model-a", replicas=1, source="models[0].resources")])
    assert "last exit code 137, OOMKilled" in d.message
    assert d.hint == "raise the memory limit in models[0].resources"


def statefulset(name: str, source: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "lab", "annotations": {"kubelab.dev/source": source}},
            "spec": {"replicas": 1, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": f"{name}:1"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "8Gi"}}}}]}}


def test_unbound_volume(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "broker", UnboundVolume())
    [d] = failed(cluster, [statefulset("broker", "tuning.broker")])
    assert (d.reason, d.ref) == ("unbound-volume", "StatefulSet lab/broker")
    assert d.message == ("volume claim data-broker-0 is not bound: no persistent volumes available for this claim "
                         "and no storage class is set")
    assert d.hint.startswith("set a storage class the cluster has in tuning.broker")


def test_statefulset_becomes_ready(cluster: Cluster) -> None:
    result = apply(cluster, [namespace("lab"), statefulset("db", "tuning.store")], lab="demo", poll=0.05)
    assert result.events[-1].action == "ready" and result.events[-1].ref == "StatefulSet lab/db"


def test_spawn_timeout_without_events(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "hub", NeverReady())
    progress: list[str] = []
    with pytest.raises(ApplyFailed) as err:
        apply(cluster, [namespace("lab"), deployment("hub", replicas=1, source="workbench.start_timeout")],
              lab="demo", poll=0.05, timeout=0.2, on_progress=lambda e: progress.append(f"{e.action} {e.detail}"))
    assert "waiting 0/1 ready" in progress
    assert str(err.value).splitlines()[1] == (
        "  workbench.start_timeout: Deployment lab/hub: only 0/1 ready after 0 s (no event says why); hint: a node "
        "scale-up or a large image pull can take minutes: rerun with a longer --timeout; if it never starts, check "
        "workbench.start_timeout")


def test_a_fatal_finding_waits_for_the_grace_period(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "web", ImagePullError(reason="ErrImagePull"))
    with pytest.raises(ApplyFailed) as err:
        apply(cluster, [namespace("lab"), deployment("web", replicas=1)], lab="demo", poll=0.05, grace=60,
              timeout=0.3)
    [d] = err.value.diagnoses
    assert isinstance(d, Diagnosis) and d.reason == "timeout" and "(ErrImagePull)" in d.message


def test_a_failing_readiness_probe_is_waited_for_and_named(cluster: Cluster, fake: FakeKubeAPI) -> None:
    fake.behave("lab", "model-a", ProbeFailing())
    progress: list[str] = []
    with pytest.raises(ApplyFailed) as err:
        apply(cluster, [namespace("lab"), deployment("model-a", replicas=1, source="models[0].probes")],
              lab="demo", poll=0.05, grace=0, timeout=0.3, on_progress=lambda e: progress.append(e.detail))
    [d] = err.value.diagnoses
    assert isinstance(d, Diagnosis) and d.reason == "timeout"  # not fatal: a loading model passes later
    assert "container main runs but is not ready: Readiness probe failed: HTTP probe failed with statuscode: 503" \
        in d.message
    assert any(p.startswith("0/1 ready (container main runs but is not ready") for p in progress)


def test_progress_deadline_exceeded(cluster: Cluster, fake: FakeKubeAPI) -> None:
    apply(cluster, [namespace("lab"), deployment("web", replicas=1, source="models[1]")], lab="demo", wait=False)
    web = fake.get("apps/v1", "Deployment", "web", "lab")
    assert web is not None
    fake.set_status("apps/v1", "Deployment", "web", "lab", {
        "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0,
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                        "message": 'ReplicaSet "web-abc" has timed out progressing.'}]})
    [d] = diagnose(cluster, cluster.get("apps/v1", "Deployment", "web", "lab") or {})
    assert (d.reason, d.fatal) == ("progress-deadline", True)
    assert d.message == 'the rollout stopped making progress: ReplicaSet "web-abc" has timed out progressing.'
