"""The apply engine against the fake API server: create, unchanged, configured, prune, dry run, conflicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubelab.errors import ApplyFailed, ClusterError
from kubelab.kube import ApplyEvent, Cluster, apply
from tests.kube.conftest import configmap, deployment, namespace
from tests.kube.fake_apiserver import FakeKubeAPI


def lab_objects(replicas: int = 2) -> list[dict[str, Any]]:
    # Deliberately out of order: the engine applies the namespace first and the workload last.
    return [deployment("workers", replicas=replicas, source="workers"), configmap("settings", {"a": "1"}),
            namespace("lab")]


def actions(result: Any) -> dict[str, str]:
    return {e.ref: e.action for e in result.events if e.action in ("created", "configured", "unchanged", "pruned")}


def test_create_then_unchanged(cluster: Cluster, fake: FakeKubeAPI) -> None:
    seen: list[ApplyEvent] = []
    first = apply(cluster, lab_objects(), lab="demo", poll=0.05, on_progress=seen.append)
    assert actions(first) == {"Namespace lab": "created", "ConfigMap lab/settings": "created",
                              "Deployment lab/workers": "created"}
    assert [e.action for e in seen][:3] == ["created"] * 3
    assert [e.ref for e in seen][:3] == ["Namespace lab", "ConfigMap lab/settings", "Deployment lab/workers"]
    assert seen[-1] == ApplyEvent("ready", "Deployment lab/workers", "workers", "2/2 ready")
    stored = fake.get("apps/v1", "Deployment", "workers", "lab")
    assert stored is not None
    assert stored["metadata"]["labels"]["kubelab.dev/lab"] == "demo"
    assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubelab"
    assert [m["manager"] for m in stored["metadata"]["managedFields"]] == ["kubelab"]
    version = stored["metadata"]["resourceVersion"]

    second = apply(cluster, lab_objects(), lab="demo", poll=0.05)
    assert set(actions(second).values()) == {"unchanged"}
    assert not second.changed
    assert fake.get("apps/v1", "Deployment", "workers", "lab")["metadata"]["resourceVersion"] == version  # type: ignore[index]


def test_a_change_is_configured(cluster: Cluster, fake: FakeKubeAPI) -> None:
    apply(cluster, lab_objects(), lab="demo", poll=0.05)
    result = apply(cluster, lab_objects(replicas=3), lab="demo", poll=0.05)
    assert actions(result)["Deployment lab/workers"] == "configured"
    assert actions(result)["ConfigMap lab/settings"] == "unchanged"
    assert len(fake.objects("v1", "Pod", "lab")) == 3


def test_prune_removes_only_what_left_this_lab(cluster: Cluster, fake: FakeKubeAPI) -> None:
    apply(cluster, [*lab_objects(), configmap("old", {"b": "2"})], lab="demo", poll=0.05)
    apply(cluster, [namespace("other"), configmap("old", {"b": "2"}, namespace="other")], lab="other")
    fake.put(configmap("handmade", {"c": "3"}))  # not made by kubelab: never pruned
    result = apply(cluster, lab_objects(), lab="demo", poll=0.05)
    assert actions(result)["ConfigMap lab/old"] == "pruned"
    assert fake.get("v1", "ConfigMap", "old", "lab") is None
    assert fake.get("v1", "ConfigMap", "handmade", "lab") is not None
    assert fake.get("v1", "ConfigMap", "old", "other") is not None  # another lab's object
    # Dropping the workload deletes it and (background propagation) its pods.
    apply(cluster, [namespace("lab")], lab="demo")
    assert fake.get("apps/v1", "Deployment", "workers", "lab") is None
    assert fake.objects("v1", "Pod", "lab") == []


def test_no_prune_keeps_objects(cluster: Cluster, fake: FakeKubeAPI) -> None:
    apply(cluster, lab_objects(), lab="demo", poll=0.05)
    apply(cluster, [namespace("lab")], lab="demo", prune=False)
    assert fake.get("apps/v1", "Deployment", "workers", "lab") is not None


def test_dry_run_stores_nothing(cluster: Cluster, fake: FakeKubeAPI) -> None:
    result = apply(cluster, lab_objects(), lab="demo", dry_run=True)
    assert set(actions(result).values()) == {"created"}
    assert fake.get("v1", "Namespace", "lab") is None
    assert all("dryRun=All" in url for method, url in fake.requests if method in ("PATCH", "DELETE"))

    apply(cluster, [*lab_objects(), configmap("old", {"b": "2"})], lab="demo", poll=0.05)
    versions = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in fake.objects("v1", "ConfigMap")}
    changed = [deployment("workers", replicas=5, source="workers"), configmap("settings", {"a": "1"}),
               namespace("lab")]
    result = apply(cluster, changed, lab="demo", dry_run=True)
    assert actions(result) == {"Namespace lab": "unchanged", "ConfigMap lab/settings": "unchanged",
                               "Deployment lab/workers": "configured", "ConfigMap lab/old": "pruned"}
    assert fake.get("apps/v1", "Deployment", "workers", "lab")["spec"]["replicas"] == 2  # type: ignore[index]
    assert {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
            for o in fake.objects("v1", "ConfigMap")} == versions


def test_conflict_names_the_field_and_the_manager(cluster: Cluster, fake: FakeKubeAPI) -> None:
    apply(cluster, lab_objects(), lab="demo", poll=0.05)
    # Someone scales by hand with kubectl: they now own .spec.replicas.
    scale = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "workers", "namespace": "lab"},
             "spec": {"replicas": 4}}
    cluster.apply(scale, field_manager="kubectl", force=True)
    with pytest.raises(ApplyFailed) as err:
        apply(cluster, lab_objects(), lab="demo", poll=0.05)
    assert 'workers: Deployment lab/workers: Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: ' \
           ".spec.replicas; hint: another field manager owns these fields: leave them out of workers" in str(err.value)
    assert "--force-conflicts" in str(err.value)
    result = apply(cluster, lab_objects(), lab="demo", force=True, poll=0.05)
    assert actions(result)["Deployment lab/workers"] == "configured"
    assert fake.get("apps/v1", "Deployment", "workers", "lab")["spec"]["replicas"] == 2  # type: ignore[index]


def test_missing_namespace_is_explained(cluster: Cluster) -> None:
    with pytest.raises(ApplyFailed, match='ConfigMap nowhere/x: namespaces "nowhere" not found; hint: add the '
                                          "namespace to the lab"):
        apply(cluster, [configmap("x", {}, namespace="nowhere")], lab="demo")


def test_invalid_objects_are_all_reported_before_anything_is_sent(cluster: Cluster, fake: FakeKubeAPI) -> None:
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
               {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
               {**namespace("lab"), "metadata": {"name": "lab", "namespace": "x"}},
               configmap("twice", {}), configmap("twice", {})]
    with pytest.raises(ClusterError) as err:
        apply(cluster, objects, lab="demo")
    assert str(err.value).splitlines() == [
        "cannot apply:",
        "  object 1 (ConfigMap ?): needs apiVersion, kind and metadata.name",
        "  object 2 (Widget w): kubelab does not apply example.com/v1 Widget",
        "  object 3 (Namespace lab): Namespace is cluster-scoped and takes no metadata.namespace",
        "  object 5 (ConfigMap twice): appears twice",
    ]
    assert not [r for r in fake.requests if r[0] != "GET"]


def test_objects_without_a_namespace_go_to_the_contexts(cluster: Cluster, fake: FakeKubeAPI) -> None:
    apply(cluster, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}], lab="demo")
    assert fake.get("v1", "ConfigMap", "c", "default") is not None


def test_a_namespace_with_foreign_objects_is_kept(cluster: Cluster, fake: FakeKubeAPI) -> None:
    apply(cluster, [namespace("team"), configmap("ours", {}, namespace="team")], lab="demo")
    fake.put(configmap("theirs", {}, namespace="team"))
    fake.put({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "team"}})
    result = apply(cluster, [], lab="demo")
    assert actions(result) == {"ConfigMap team/ours": "pruned"}
    assert result.events[-1].action == "kept" and result.events[-1].ref == "Namespace team"
    assert result.events[-1].detail == ("it holds objects this lab did not make (ConfigMap theirs); delete it "
                                        "yourself if you mean to: kubectl delete namespace team")
    assert fake.get("v1", "ConfigMap", "theirs", "team") is not None
    fake.delete_where(lambda k, _: k[3] == "theirs")
    result = apply(cluster, [], lab="demo")
    assert actions(result) == {"Namespace team": "pruned"}


def test_a_kind_the_cluster_does_not_serve(tmp_path: Path) -> None:
    scaled = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
              "metadata": {"name": "workers", "namespace": "lab", "annotations": {
                  "kubelab.dev/source": "tuning.workers.autoscaling"}},
              "spec": {"scaleTargetRef": {"name": "workers"}, "minReplicaCount": 0}}
    with FakeKubeAPI(missing=("keda.sh/v1alpha1",)) as fake, \
            Cluster(str(fake.kubeconfig(tmp_path / "kc")), environ={}) as cluster, \
            pytest.raises(ApplyFailed) as err:
        apply(cluster, [namespace("lab"), scaled], lab="demo")
    assert str(err.value).splitlines()[1] == (
        "  tuning.workers.autoscaling: ScaledObject lab/workers: the cluster does not serve keda.sh/v1alpha1 "
        "ScaledObject; hint: install what provides it (KEDA: https://keda.sh), or turn off the part of "
        "tuning.workers.autoscaling that needs it")


def test_a_cluster_without_keda_applies_labs_that_do_not_need_it(tmp_path: Path) -> None:
    with FakeKubeAPI(missing=("keda.sh/v1alpha1",)) as fake, \
            Cluster(str(fake.kubeconfig(tmp_path / "kc")), environ={}) as cluster:
        apply(cluster, lab_objects(), lab="demo", poll=0.05)
        result = apply(cluster, [namespace("lab")], lab="demo", poll=0.05)
        assert actions(result)["Deployment lab/workers"] == "pruned"


def test_create_only_secrets_are_never_overwritten(cluster: Cluster, fake: FakeKubeAPI) -> None:
    def secret(password: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {
                    "name": "db", "namespace": "lab", "annotations": {"kubelab.dev/create-only": "true"}},
                "stringData": {"password": password}}

    apply(cluster, [namespace("lab"), secret("first")], lab="demo")
    result = apply(cluster, [namespace("lab"), secret("regenerated")], lab="demo")
    assert [(e.action, e.detail) for e in result.events if e.ref == "Secret lab/db"] == [
        ("unchanged", "create-only: the existing object is kept")]
    assert fake.get("v1", "Secret", "db", "lab")["stringData"] == {"password": "first"}  # type: ignore[index]
    apply(cluster, [namespace("lab")], lab="demo")  # left out of the lab: pruned like anything else
    assert fake.get("v1", "Secret", "db", "lab") is None
