"""The ``README.md`` of a rendered lab: what is there and the exact commands that apply it, in order."""

from __future__ import annotations

from kubelab._labels import LAB_LABEL, MANAGED_BY, MANAGED_BY_LABEL, SOURCE_ANNOTATION
from kubelab.lab._model import POOL_LABEL, Lab
from kubelab.lab.render._network import KEDA_NAMESPACE
from kubelab.lab.render._validate import CHART_VERSION

__all__ = ["helm_command", "readme"]

CHART_REPO = "https://hub.jupyter.org/helm-chart/"


def helm_command(lab: Lab) -> str:
    """The exact ``helm upgrade --install`` of the lab's JupyterHub, run from the output directory."""
    return (f"helm upgrade --cleanup-on-fail --install jupyterhub jupyterhub --repo {CHART_REPO} "
            f"--version {CHART_VERSION} --namespace {lab.metadata.name} --values jupyterhub/values.yaml "
            "--timeout 15m --wait")


def _user_secrets(lab: Lab) -> list[str]:
    refs = []
    if lab.auth.github is not None:
        refs.append(lab.auth.github.client_secret)
    if lab.auth.ldap is not None and lab.auth.ldap.bind_password is not None:
        refs.append(lab.auth.ldap.bind_password)
    ns = lab.metadata.name
    return [f"kubectl -n {ns} create secret generic {r.secret} --from-literal={r.key}=...   # yours, not generated"
            for r in refs]


def readme(lab: Lab, helm: str | None, terraform: bool) -> str:
    """The README text for the rendered ``lab``."""
    ns = lab.metadata.name
    steps: list[str] = []
    if terraform:
        steps += ["# 1. the cluster and its node pools (DigitalOcean)",
                  "export TF_VAR_do_token=...          # an API token with write scope",
                  "terraform -chdir=terraform init && terraform -chdir=terraform apply",
                  "doctl kubernetes cluster kubeconfig save " + ns, ""]
    else:
        steps += ["# 1. the cluster: kubelab renders Terraform for DigitalOcean only; create the cluster yourself",
                  f"#    and label each pool's nodes {POOL_LABEL}=<pool name> (pods select their pool by it)", ""]
    if lab.tuning is not None and lab.tuning.workers.autoscaling is not None:
        steps += ["# 2. KEDA, which scales the tuning workers on queue depth (once per cluster)",
                  f"helm upgrade --install keda keda --repo https://kedacore.github.io/charts "
                  f"--namespace {KEDA_NAMESPACE} --create-namespace", ""]
    if any(m.autoscaling is not None for m in lab.models):
        steps += ["# 2b. metrics-server, which the model HPAs read CPU use from (skip if `kubectl top nodes` works)",
                  "kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/"
                  "components.yaml", ""]
    steps += ["# 3. the namespace, the generated secrets and the manifests (server-side apply)",
              "kubectl apply --server-side --field-manager kubelab -f manifests/00-namespace.yaml",
              *_user_secrets(lab),
              "kubectl apply --server-side --field-manager kubelab -f secrets/ -f manifests/", ""]
    if helm is not None:
        steps += ["# 4. JupyterHub (zero-to-jupyterhub " + CHART_VERSION + ")", helm, ""]
    if lab.tuning is not None:
        steps += ["# then: submit a study from here (only the workers may reach the broker and the database",
                  "# inside the cluster; a port-forward is not subject to the network policies).",
                  "# The passwords are stringData.password of secrets/rabbitmq.yaml and secrets/postgresql.yaml.",
                  f"kubectl -n {ns} port-forward svc/rabbitmq 5672 &",
                  f"kubectl -n {ns} port-forward svc/postgresql 5432 &",
                  "export KUBELAB_BROKER='amqp://kubelab:BROKER_PASSWORD@localhost:5672/%2F'",
                  "export KUBELAB_STORE='postgresql://kubelab:STORE_PASSWORD@localhost:5432/kubelab'",
                  "kubelab tune run spec.yaml --no-wait && kubelab tune status NAME", ""]
    return f"""# Lab {ns}, rendered by kubelab

Rendered from its definition by `kubelab lab render`; edit the definition and render again rather than
these files. Every object is labelled `{MANAGED_BY_LABEL}: {MANAGED_BY}` and `{LAB_LABEL}: {ns}`,
and annotated `{SOURCE_ANNOTATION}` with the definition key it came from.

| path | what |
|---|---|
| `manifests/` | Kubernetes objects: namespace, RabbitMQ and PostgreSQL, tuning workers, models, network policies |
| `secrets/` | generated passwords and tokens (kept across renders into this directory; not in git) |
| `jupyterhub/values.yaml` | values for the zero-to-jupyterhub chart {CHART_VERSION} |
| `terraform/` | the cluster and node pools on DigitalOcean |

## Apply

`kubelab lab apply LAB.yaml` does step 3 through the Kubernetes API. By hand, from this directory:

```bash
{chr(10).join(steps).rstrip()}
```

Render again into this same directory to keep the generated passwords (`secrets/`): a new directory
means new passwords, and applying those would lock the running broker and database out of their data.
"""
