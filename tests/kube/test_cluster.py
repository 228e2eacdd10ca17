"""The Cluster seam against the fake API server: kubeconfig resolution, calls, and every error message."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelab.errors import ClusterError
from kubelab.kube import Cluster, load_config
from tests.kube.conftest import configmap, deployment, namespace
from tests.kube.fake_apiserver import FakeKubeAPI


def test_kubeconfig_from_environment_and_context(fake: FakeKubeAPI, tmp_path: Path) -> None:
    path = fake.kubeconfig(tmp_path / "kc", namespace="team", context="dev")
    config = load_config(environ={"KUBECONFIG": f"{tmp_path / 'missing'}:{path}"})
    assert (config.context, config.namespace, config.source) == ("dev", "team", str(path))
    assert config.server == fake.url


def test_default_kubeconfig_location(fake: FakeKubeAPI, tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    fake.kubeconfig(tmp_path / ".kube" / "config")
    assert load_config(environ={"HOME": str(tmp_path)}).server == fake.url


def test_missing_kubeconfig_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match=r"kubeconfig .*/nope \(from --kubeconfig\) not found; hint: pass"):
        load_config(str(tmp_path / "nope"), environ={})
    with pytest.raises(ClusterError, match=r"\(from KUBECONFIG\) not found"):
        load_config(environ={"KUBECONFIG": str(tmp_path / "a")})


def test_malformed_kubeconfigs(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("clusters: [unclosed\n")
    with pytest.raises(ClusterError, match="cannot be read as YAML"):
        load_config(str(bad), environ={})
    bad.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(ClusterError, match="not a kubeconfig .*'clusters' and 'contexts'"):
        load_config(str(bad), environ={})


def test_unknown_and_missing_context(fake: FakeKubeAPI, tmp_path: Path) -> None:
    path = fake.kubeconfig(tmp_path / "kc", context="dev")
    with pytest.raises(ClusterError, match="no context 'prod'; hint: use one of: dev"):
        load_config(str(path), "prod", environ={})
    path.write_text(path.read_text().replace("current-context: dev", "current-context: null"))
    with pytest.raises(ClusterError, match="no current-context set; hint: pass --context, one of: dev"):
        load_config(str(path), environ={})


def test_refused_credentials(fake: FakeKubeAPI, tmp_path: Path) -> None:
    path = fake.kubeconfig(tmp_path / "kc", token="wrong")
    with Cluster(str(path), environ={}) as c, pytest.raises(ClusterError, match="credentials .* were refused") as e:
        c.get("v1", "Namespace", "default")
    assert e.value.code == 401


def test_unreachable_server(tmp_path: Path) -> None:
    api = FakeKubeAPI().start()
    path = api.kubeconfig(tmp_path / "kc")
    api.stop()
    with Cluster(str(path), environ={}) as c, \
            pytest.raises(ClusterError, match=r"cannot reach the Kubernetes API at http://127.0.0.1:\d+ \(context "
                                              r"fake from .*kc\).*hint: is the cluster up"):
        c.list("v1", "Pod", namespace="default")


def test_get_list_delete(cluster: Cluster) -> None:
    cluster.apply(namespace())
    cluster.apply(configmap("a", {"x": "1"}))
    cluster.apply(configmap("b", {"x": "2"}))
    assert cluster.get("v1", "ConfigMap", "a", "lab")["data"] == {"x": "1"}  # type: ignore[index]
    assert cluster.get("v1", "ConfigMap", "zz", "lab") is None
    assert sorted(o["metadata"]["name"] for o in cluster.list("v1", "ConfigMap", namespace="lab")) == ["a", "b"]
    assert cluster.delete("v1", "ConfigMap", "a", "lab") is True
    assert cluster.delete("v1", "ConfigMap", "a", "lab") is False
    assert [o["metadata"]["name"] for o in cluster.list("v1", "ConfigMap")] == ["b"]


def test_list_by_label_and_events(cluster: Cluster, fake: FakeKubeAPI) -> None:
    cluster.apply(namespace())
    cluster.apply(deployment("web", replicas=3))
    cluster.apply(deployment("api", replicas=1))
    pods = cluster.list("v1", "Pod", namespace="lab", labels="app=web")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)
    assert len(cluster.list("v1", "Pod", namespace="lab", labels="app!=web")) == 1
    assert len(cluster.list("v1", "Pod", namespace="lab", labels="app,!nope")) == 4
    fake.event({**pods[0], "apiVersion": "v1", "kind": "Pod"}, "Killing", "Stopping container main", type_="Normal")
    events = cluster.events("lab", kind="Pod", name=pods[0]["metadata"]["name"])
    assert [e["reason"] for e in events] == ["Killing"]


def test_bad_selector_and_unknown_kind(cluster: Cluster) -> None:
    with pytest.raises(ClusterError, match="selector 'tier=api,a b=c': 'a b=c' is not a selector term; hint: use "
                                           r"app=web, app!=web, app, !app or app in \(web,api\), joined by commas"):
        cluster.list("v1", "Pod", namespace="default", labels="tier=api,a b=c")
    with pytest.raises(ClusterError, match="example.com/v1 Widget: kubelab cannot apply this kind; it handles: "):
        cluster.apply({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_pod_metrics(cluster: Cluster, fake: FakeKubeAPI) -> None:
    cluster.apply(namespace())
    cluster.apply(deployment("web", replicas=2))
    cluster.apply(deployment("api", replicas=1))
    for pod in fake.objects("v1", "Pod", "lab"):
        fake.set_pod_metrics("lab", pod["metadata"]["name"], {"main": ("250m", "100Mi")})
    metrics = cluster.pod_metrics("lab", "app=web")
    assert len(metrics) == 2 and metrics[0]["containers"][0]["usage"] == {"cpu": "250m", "memory": "100Mi"}


def test_watch_sees_current_objects_then_changes(cluster: Cluster, fake: FakeKubeAPI) -> None:
    import threading
    import time

    cluster.apply(namespace())
    cluster.apply(configmap("a", {"x": "1"}))

    def change_later() -> None:
        time.sleep(0.3)
        cluster.apply(configmap("a", {"x": "2"}))
        cluster.apply(configmap("b", {"x": "3"}))
        cluster.delete("v1", "ConfigMap", "a", "lab")

    threading.Thread(target=change_later).start()
    seen = []
    for change, obj in cluster.watch("v1", "ConfigMap", namespace="lab", timeout=1.5):
        seen.append((change, obj["metadata"]["name"], (obj.get("data") or {}).get("x")))
        version = obj["metadata"]["resourceVersion"]
        if len(seen) == 4:
            break
    assert seen == [("ADDED", "a", "1"), ("MODIFIED", "a", "2"), ("ADDED", "b", "3"), ("DELETED", "a", "2")]
    # A quiet watch ends at its timeout (lightkube alone reopens a watch the server closed, forever).
    assert list(cluster.watch("v1", "ConfigMap", namespace="lab", resource_version=version, timeout=0.5)) == []


def test_watch_errors_are_translated(cluster: Cluster) -> None:
    with pytest.raises(ClusterError, match="watch pods: unable to parse requirement: labelSelector 'a in \\(b\\)'"):
        list(cluster.watch("v1", "Pod", labels="a in (b)", timeout=2))
