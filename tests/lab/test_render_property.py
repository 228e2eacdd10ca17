"""Any lab that check accepts renders to objects and values that pass their schemas (hypothesis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubelab.lab import check_file
from kubelab.lab.render import render_lab, validate_hub_values, validate_objects

SIZES = ["s-2vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb", "c-4"]


@st.composite
def labs(draw: Any) -> str:
    users_size = draw(st.sampled_from(SIZES))
    autoscale = draw(st.booleans())
    users_pool = f"{{name: users, size: {users_size}, " + ("min: 0, max: 4" if autoscale else "count: 2") + \
        ", purpose: users}"
    gpu_pool = draw(st.booleans())
    pools = ["{name: core, size: s-2vcpu-4gb, count: 1, purpose: core}", users_pool,
             "{name: work, size: c-4, min: 0, max: 3, purpose: [workers, serving], "
             "taints: [{key: dedicated, value: work, effect: NoSchedule}]}"]
    if gpu_pool:
        pools.append("{name: gpu, size: gpu-4000adax1-20gb, min: 0, max: 1, gpu: {type: nvidia-rtx-4000-ada}, "
                     "purpose: users}")
    auth = draw(st.sampled_from([
        "{method: native}",
        "{method: github, github: {client_id: x, client_secret: {secret: gh, key: s}, "
        "callback_url: 'https://lab.example.org/hub/oauth_callback', allowed_organizations: [lab]}}",
        "{method: ldap, ldap: {server: 'ldaps://ldap.example.org', bind_dn_template: ['uid={username},dc=x']}}",
    ]))
    memory = draw(st.sampled_from(["", "  memory: {limit: 800Mi}\n", "  memory: {guarantee: 500M, limit: 900M}\n"]))
    profiles = ""
    if gpu_pool and draw(st.booleans()):
        profiles = ("  profiles:\n    - {name: cpu, display_name: CPU, default: true}\n"
                    "    - {name: gpu, display_name: GPU, gpu: 1, memory: {guarantee: 4Gi, limit: 8Gi}}\n")
    workers = draw(st.sampled_from(["replicas: 1", "autoscaling: {min: 0, max: 5, queue_length: 3}"]))
    models = draw(st.integers(0, 3))
    model_lines = "".join(
        f"  - {{name: m{i}, model: m{i}.onnx, pool: work, "
        + ("autoscaling: {min: 1, max: 3}" if i % 2 else f"replicas: {i}") + "}\n" for i in range(models))
    return f"""\
apiVersion: kubelab/v1
kind: Lab
metadata: {{name: prop}}
provider: {{name: digitalocean, region: fra1, kubernetes: "1.31"}}
pools:
{"".join(f"  - {p}{chr(10)}" for p in pools)}auth: {auth}
workbench:
  image: quay.io/jupyter/scipy-notebook:2024-12-09
  start_timeout: 15m
  https: {{hosts: [lab.example.org], contact_email: a@example.org}}
{memory}{profiles}tuning:
  workers:
    pool: work
    {workers}
    resources: {{requests: {{cpu: 500m, memory: 1Gi}}}}
models:
{model_lines or "  []" + chr(10)}"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=labs())
def test_accepted_labs_render_valid_files(text: str, tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    lab = check_file(path).raise_for_errors()  # every draw is a lab check accepts
    rendered = render_lab(lab)
    assert validate_objects(rendered.objects(), ("1.30", "1.35")) == []
    assert rendered.hub_values is not None and validate_hub_values(rendered.hub_values) == []
