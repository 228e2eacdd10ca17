"""From a ``Lab`` to everything that deploys it: manifests, Secrets, JupyterHub values, Terraform, a README.

``render_lab`` is pure (the definition and the secrets kept from an earlier render in, texts out);
``write_rendered`` (``_write.py``) puts them on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubelab.lab._model import Lab, Pool
from kubelab.lab.render._hub import hub_values
from kubelab.lab.render._meta import Context
from kubelab.lab.render._models import model_objects
from kubelab.lab.render._network import network_objects
from kubelab.lab.render._readme import helm_command, readme
from kubelab.lab.render._secrets import SecretBank
from kubelab.lab.render._sizing import NodeRoom
from kubelab.lab.render._stateful import broker_objects, store_objects
from kubelab.lab.render._terraform import terraform_files
from kubelab.lab.render._workers import worker_objects

__all__ = ["Rendered", "Sizing", "render_lab"]

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Sizing:
    """What the derived settings need to know about nodes: room per pool, and how long a new node takes."""

    room_of: Callable[[Pool], NodeRoom | None] = lambda pool: None
    scale_up_seconds: int = 300
    image_pull_seconds: int = 120

    @classmethod
    def for_lab(cls, lab: Lab) -> Sizing:
        """The capacity model and scale-up times of ``kubelab.lab``'s size catalog for the lab's provider."""
        from kubelab.lab import load_sizes

        sizes = load_sizes()
        provider = lab.provider.name
        model = sizes.providers.get(provider)
        if model is None:
            return cls(lambda pool: sizes.capacity(provider, pool.size))
        return cls(lambda pool: sizes.capacity(provider, pool.size), model.scale_up_seconds, model.image_pull_seconds)


@dataclass(frozen=True)
class Rendered:
    """Everything ``render`` writes, keyed by path relative to the output directory."""

    manifests: dict[str, list[Manifest]]
    """``manifests/NN-what.yaml`` → its objects, in apply order."""
    secrets: dict[str, Manifest]
    """``secrets/NAME.yaml`` → one Secret."""
    hub_values: dict[str, Any] | None
    texts: dict[str, str] = field(default_factory=dict)
    """Other files: ``terraform/*.tf``, ``README.md``, ``.gitignore``."""
    generated: tuple[tuple[str, str], ...] = ()
    """(secret, key) drawn in this render, i.e. not kept from an earlier one."""

    def objects(self) -> list[Manifest]:
        """Every Kubernetes object in apply order: the namespace, the Secrets, then the manifests' objects."""
        files = list(self.manifests.values())
        return [*files[0], *self.secrets.values(), *(o for objs in files[1:] for o in objs)]


def _namespace(ctx: Context, hub: bool) -> Manifest:
    # The zero-to-jupyterhub pods meet "baseline" but not all of "restricted" (the chart does not set
    # seccomp profiles everywhere), so with a hub the namespace enforces baseline and warns on restricted.
    enforce = "baseline" if hub else "restricted"
    meta = ctx.metadata(ctx.namespace, "metadata.name", namespaced=False)
    meta["labels"].update({"pod-security.kubernetes.io/enforce": enforce,
                           "pod-security.kubernetes.io/warn": "restricted",
                           "pod-security.kubernetes.io/audit": "restricted"})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def render_lab(lab: Lab, bank: SecretBank | None = None, sizing: Sizing | None = None) -> Rendered:
    """Render ``lab``, nothing written.

    Args:
        lab: the definition (already checked).
        bank: generated secrets: ``SecretBank(read_secrets(DIR / "secrets"))`` keeps those of an earlier
            render; the default draws all of them anew.
        sizing: node room and scale-up times for the derived JupyterHub settings (default: the size catalog).

    Raises:
        RenderError: something in the definition cannot be rendered (e.g. a model name too long).
    """
    sizing = sizing or Sizing.for_lab(lab)
    bank = bank or SecretBank()
    ctx = Context(lab)
    manifests: dict[str, list[Manifest]] = {"manifests/00-namespace.yaml": [_namespace(ctx, lab.workbench is not None)]}
    secrets: dict[str, Manifest] = {}

    def add(path: str, objects: list[Manifest]) -> None:
        kept = [o for o in objects if o["kind"] != "Secret"]
        for o in objects:
            if o["kind"] == "Secret":  # drawn here (create-only): kept in secrets/ across renders, not in git
                secrets[f"secrets/{o['metadata']['name']}.yaml"] = o
        if kept:
            manifests[path] = kept

    if lab.tuning is not None:
        add("manifests/10-rabbitmq.yaml", broker_objects(ctx, lab.tuning.broker, bank))
        add("manifests/11-postgresql.yaml", store_objects(ctx, lab.tuning.store, bank))
        add("manifests/20-tune-worker.yaml", worker_objects(ctx, lab.tuning.workers))
        add("manifests/30-network-policies.yaml", network_objects(ctx, keda=lab.tuning.workers.autoscaling is not None))
    for i, model in enumerate(lab.models):
        add(f"manifests/40-model-{model.name}.yaml", model_objects(ctx, model, bank, f"models[{i}]"))
    values = None
    if lab.workbench is not None:
        values = hub_values(lab, sizing.room_of, sizing.scale_up_seconds, sizing.image_pull_seconds)
    texts = {f"terraform/{name}": text for name, text in terraform_files(lab).items()}
    texts["README.md"] = readme(lab, helm_command(lab) if values is not None else None, bool(texts))
    texts[".gitignore"] = "# generated passwords and tokens: keep them, but not in git\nsecrets/\n"
    return Rendered(manifests, secrets, values, texts, tuple(bank.generated))
