"""The Kubernetes objects: provenance, pod security, placement, network policies, autoscalers."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.errors import RenderError
from kubelab.lab.render import LAB_LABEL, MANAGED_BY_LABEL, SOURCE_ANNOTATION, render_lab
from tests.lab.render_helpers import find, full_lab, pod_templates, selects

Objects = list[dict[str, Any]]


@pytest.fixture(scope="module")
def objects() -> Objects:
    return render_lab(full_lab()).objects()


def test_every_object_names_its_lab_and_definition_key(objects: Objects) -> None:
    sources = {}
    for obj in objects:
        meta = obj["metadata"]
        assert meta["labels"][MANAGED_BY_LABEL] == "kubelab"
        assert meta["labels"][LAB_LABEL] == "full-lab"
        sources[f"{obj['kind']}/{meta['name']}"] = meta["annotations"][SOURCE_ANNOTATION]
        if obj["kind"] != "Namespace":
            assert meta["namespace"] == "full-lab"
    assert sources == {
        "Namespace/full-lab": "metadata.name",
        "ConfigMap/rabbitmq-config": "tuning.broker",
        "StatefulSet/rabbitmq": "tuning.broker",
        "Service/rabbitmq": "tuning.broker",
        "Secret/rabbitmq": "tuning.broker",
        "StatefulSet/postgresql": "tuning.store",
        "Service/postgresql": "tuning.store",
        "Secret/postgresql": "tuning.store",
        "Deployment/tune-worker": "tuning.workers",
        "TriggerAuthentication/rabbitmq-keda": "tuning.workers.autoscaling",
        "ScaledObject/tune-worker": "tuning.workers.autoscaling",
        "NetworkPolicy/rabbitmq-ingress": "tuning.broker",
        "NetworkPolicy/postgresql-ingress": "tuning.store",
        "NetworkPolicy/tune-worker-no-ingress": "tuning.workers",
        "Deployment/model-rul": "models[0]",
        "Service/model-rul": "models[0]",
        "Secret/model-rul": "models[0]",
        "HorizontalPodAutoscaler/model-rul": "models[0].autoscaling",
        "Deployment/model-classifier": "models[1]",
        "Service/model-classifier": "models[1]",
        "Secret/model-classifier": "models[1]",
    }


def test_objects_come_in_apply_order(objects: Objects) -> None:
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "Namespace"
    assert kinds[1:5] == ["Secret"] * 4  # before the pods that read them
    assert "Secret" not in kinds[5:]


def test_every_container_is_locked_down_with_requests_and_limits(objects: Objects) -> None:
    templates = list(pod_templates(objects))
    assert len(templates) == 5
    for obj, template in templates:
        assert template["metadata"]["annotations"][SOURCE_ANNOTATION] == obj["metadata"]["annotations"][
            SOURCE_ANNOTATION]
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}"
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["runAsNonRoot"] is True, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            for side in ("requests", "limits"):
                assert set(container["resources"][side]) >= {"cpu", "memory"}, where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and tmp[0]["name"] in tmp_volumes, where


def test_workers_run_on_their_pool_with_what_a_trial_needs(objects: Objects) -> None:
    worker = find(objects, "Deployment", "tune-worker")
    spec = worker["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"kubelab.io/pool": "workers"}
    assert spec["tolerations"] == [{"key": "kubelab.io/workers", "effect": "NoSchedule", "operator": "Exists"}]
    [container] = spec["containers"]
    assert container["resources"] == {"requests": {"cpu": "1500m", "memory": "2Gi"},
                                      "limits": {"cpu": "2", "memory": "3Gi"}}
    assert container["args"] == ["kubelab", "tune", "worker", "--broker", "$(KUBELAB_BROKER)",
                                 "--store", "$(KUBELAB_STORE)", "--memory-limit-mb", "2457", "--grace", "100"]
    # 2457 MiB = 80 % of the 3Gi container limit (3072 MiB): a trial's blow-up fails the trial, not the worker
    assert spec["terminationGracePeriodSeconds"] == 120  # > --grace: the worker exits before it is killed
    env = {e["name"]: e.get("valueFrom") for e in container["env"]}
    assert env["KUBELAB_BROKER"] == {"secretKeyRef": {"name": "rabbitmq", "key": "url"}}
    assert env["KUBELAB_STORE"] == {"secretKeyRef": {"name": "postgresql", "key": "url"}}
    assert "replicas" not in worker["spec"]  # KEDA owns them


def test_keda_scales_the_workers_to_zero_on_queue_depth(objects: Objects) -> None:
    scaled = find(objects, "ScaledObject", "tune-worker")["spec"]
    assert scaled["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tune-worker"}
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (0, 10)
    [trigger] = scaled["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == "kubelab.tune"
    assert trigger["metadata"]["value"] == "5"
    auth = find(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    [ref] = auth["spec"]["secretTargetRef"]
    assert ref["parameter"] == "host"
    url = find(objects, "Secret", ref["name"])["stringData"][ref["key"]]
    assert url.startswith("http://kubelab:") and url.endswith("@rabbitmq.full-lab.svc:15672/%2F")


def test_fixed_workers_have_replicas_and_no_keda() -> None:
    lab = full_lab(**{"autoscaling: {min: 0, max: 10, queue_length: 5}": "replicas: 3"})
    objects = render_lab(lab).objects()
    assert find(objects, "Deployment", "tune-worker")["spec"]["replicas"] == 3
    assert not [o for o in objects if o["apiVersion"].startswith("keda.sh/")]
    broker_policy = find(objects, "NetworkPolicy", "rabbitmq-ingress")["spec"]
    assert [rule["ports"] for rule in broker_policy["ingress"]] == [[{"protocol": "TCP", "port": 5672}]]


def test_network_policies_let_only_workers_reach_broker_and_database(objects: Objects) -> None:
    pods = {f"{o['kind']}/{o['metadata']['name']}": t["metadata"]["labels"] for o, t in pod_templates(objects)}
    # a user's notebook and the hub, as the zero-to-jupyterhub chart labels them, in the same namespace
    pods["notebook"] = {"component": "singleuser-server", "app": "jupyterhub", "hub.jupyter.org/network-access-hub":
                        "true"}
    pods["hub"] = {"component": "hub", "app": "jupyterhub"}
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}

    def guarded(policy: str) -> set[str]:
        return {name for name, labels in pods.items() if selects(policies[policy]["podSelector"]["matchLabels"],
                                                                 labels)}

    def allowed(policy: str, port: int) -> set[str]:
        found = set()
        for rule in policies[policy]["ingress"]:
            if {"protocol": "TCP", "port": port} not in rule["ports"]:
                continue
            for peer in rule["from"]:
                if "namespaceSelector" in peer:
                    continue  # another namespace (KEDA): no pod of this one
                found |= {n for n, labels in pods.items() if selects(peer["podSelector"]["matchLabels"], labels)}
        return found

    assert guarded("rabbitmq-ingress") == {"StatefulSet/rabbitmq"}
    assert guarded("postgresql-ingress") == {"StatefulSet/postgresql"}
    assert guarded("tune-worker-no-ingress") == {"Deployment/tune-worker"}
    assert allowed("rabbitmq-ingress", 5672) == {"Deployment/tune-worker"}
    assert allowed("rabbitmq-ingress", 15672) == set()
    assert allowed("postgresql-ingress", 5432) == {"Deployment/tune-worker"}
    assert policies["tune-worker-no-ingress"]["ingress"] == []
    keda = [peer for rule in policies["rabbitmq-ingress"]["ingress"] for peer in rule["from"]
            if "namespaceSelector" in peer]
    assert keda == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
                     "podSelector": {"matchLabels": {"app.kubernetes.io/name": "keda-operator"}}}]


def test_hpa_targets_the_model_deployment(objects: Objects) -> None:
    hpa = find(objects, "HorizontalPodAutoscaler", "model-rul")["spec"]
    target = hpa["scaleTargetRef"]
    deployment = find(objects, target["kind"], target["name"])
    assert target["apiVersion"] == deployment["apiVersion"] == "apps/v1"
    assert "replicas" not in deployment["spec"]  # the HPA owns them
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 4)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"]["cpu"] == "250m"  # utilisation is a share of the request
    assert container["resources"]["limits"] == {"cpu": "250m", "memory": "256Mi"}  # limit = request when unset


def test_models_have_probes_a_service_and_a_token(objects: Objects) -> None:
    deployment = find(objects, "Deployment", "model-classifier")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 9000}]
    assert container["args"] == ["kubelab", "serve", "models/classifier.onnx", "--name", "classifier", "--host",
                                 "0.0.0.0", "--port", "9000"]
    assert pod["spec"]["nodeSelector"] == {"kubelab.io/pool": "serving"}
    service = find(objects, "Service", "model-classifier")["spec"]
    assert selects(service["selector"], pod["metadata"]["labels"])
    assert not selects(service["selector"], find(objects, "Deployment", "model-rul")["spec"]["template"]["metadata"]
                       ["labels"])
    token = {e["name"]: e for e in container["env"]}["KUBELAB_SERVE_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert len(find(objects, "Secret", token["name"])["stringData"][token["key"]]) >= 32


def test_stateful_components_have_volumes_and_stay_on_core(objects: Objects) -> None:
    for name, path in (("rabbitmq", "/var/lib/rabbitmq"), ("postgresql", "/var/lib/postgresql/data")):
        sts = find(objects, "StatefulSet", name)["spec"]
        assert sts["replicas"] == 1 and sts["serviceName"] == name
        assert sts["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "8Gi"
        pod = sts["template"]["spec"]
        assert pod["nodeSelector"] == {"kubelab.io/pool": "core"}
        assert sts["template"]["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts["data"] == path
        assert selects(find(objects, "Service", name)["spec"]["selector"], sts["template"]["metadata"]["labels"])


def test_a_pickled_model_is_allowed_explicitly() -> None:
    lab = full_lab(**{"models/rul.skops": "models/rul.joblib"})
    deployment = find(render_lab(lab).objects(), "Deployment", "model-rul")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"][-1] == "--allow-pickle"


def test_gpu_workers_get_the_gpu_limit_and_toleration() -> None:
    lab = full_lab(**{"    purpose: workers\n": "    purpose: workers\n    gpu: {type: nvidia-l40s}\n",
                      "  workers:\n    autoscaling": "  workers:\n    gpu: 1\n    autoscaling"})
    worker = find(render_lab(lab).objects(), "Deployment", "tune-worker")["spec"]["template"]["spec"]
    assert worker["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in worker["tolerations"]


def test_the_namespace_enforces_pod_security(objects: Objects) -> None:
    labels = find(objects, "Namespace", "full-lab")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"  # the hub's chart pods share it
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    no_hub = full_lab(FULL_WITHOUT_WORKBENCH)
    labels = find(render_lab(no_hub).objects(), "Namespace", "full-lab")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_a_model_name_too_long_for_a_service_is_refused() -> None:
    name = "m" * 60
    with pytest.raises(RenderError) as info:
        render_lab(full_lab(**{"name: classifier": f"name: {name}"}))
    assert str(info.value) == (f"models[1].name: '{name}' is 60 characters; the Service 'model-{name}' would "
                               "exceed 63; hint: use at most 57 characters")


def _without_workbench() -> str:
    from tests.lab.render_helpers import FULL

    start, end = FULL.index("workbench:"), FULL.index("tuning:")
    return FULL[:start] + FULL[end:]


FULL_WITHOUT_WORKBENCH = _without_workbench()
