"""Terraform for the cluster and its node pools on DigitalOcean (the provider of seed 000).

``main.tf`` holds the ``digitalocean_kubernetes_cluster`` with the first core pool inline (DigitalOcean
wants one default pool in the cluster resource) and one ``digitalocean_kubernetes_node_pool`` per other
pool; every node carries ``kubelab.io/pool: <pool>`` (what pods select) and, for the hub's scheduler,
``hub.jupyter.org/node-purpose``. The output is formatted as ``terraform fmt`` would write it (the tests run
``terraform fmt -check``). ``terraform validate`` needs the DigitalOcean provider downloaded by
``terraform init``, so it is left to the user's machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kubelab.lab._model import POOL_LABEL, Lab, Pool

__all__ = ["Block", "terraform_files"]

_PURPOSE_LABEL = "hub.jupyter.org/node-purpose"


@dataclass
class Block:
    """An HCL block: ``type "label" { attributes and blocks }``, rendered in ``terraform fmt`` style."""

    type: str
    labels: tuple[str, ...] = ()
    body: list[tuple[str, str] | Block | None] = field(default_factory=list)
    """Attributes as (name, HCL expression), nested blocks, and None for a blank line."""

    def attr(self, name: str, expr: str) -> Block:
        self.body.append((name, expr))
        return self

    def render(self, indent: int = 0) -> list[str]:
        pad = "  " * indent
        head = " ".join([self.type, *(json.dumps(label) for label in self.labels)])
        lines = [f"{pad}{head} {{"]
        group: list[tuple[str, str]] = []

        def flush() -> None:
            width = max((len(name) for name, _ in group), default=0)
            lines.extend(f"{pad}  {name.ljust(width)} = {expr}" for name, expr in group)
            group.clear()

        for item in self.body:
            if isinstance(item, tuple):
                group.append(item)
                continue
            flush()
            if item is None:
                lines.append("")
            else:
                if lines[-1] != "" and not lines[-1].endswith("{"):
                    lines.append("")
                lines.extend(item.render(indent + 1))
        flush()
        lines.append(f"{pad}}}")
        return lines


def _string(value: str) -> str:
    return json.dumps(value)


def _map(values: dict[str, str]) -> str:
    if not values:
        return "{}"
    return "{ " + ", ".join(f"{_string(k)} = {_string(v)}" for k, v in sorted(values.items())) + " }"


def _pool_body(block: Block, pool: Pool) -> Block:
    labels = {**pool.labels, POOL_LABEL: pool.name}
    if "users" in pool.purpose:
        labels[_PURPOSE_LABEL] = "user"
    elif "core" in pool.purpose:
        labels[_PURPOSE_LABEL] = "core"
    block.attr("name", _string(pool.name)).attr("size", _string(pool.size))
    if pool.autoscales:
        block.attr("auto_scale", "true").attr("min_nodes", str(pool.min_nodes)).attr("max_nodes",
                                                                                      str(pool.max_nodes))
    else:
        block.attr("node_count", str(pool.min_nodes))
    block.attr("labels", _map(labels))
    for taint in pool.taints:
        block.body.append(Block("taint").attr("key", _string(taint.key))
                          .attr("value", _string(taint.value or "true")).attr("effect", _string(taint.effect)))
    return block


def _main(lab: Lab) -> str:
    name = lab.metadata.name
    default = lab.pool_for("core") or lab.pools[0]
    header = [
        Block("terraform", body=[
            ("required_version", _string(">= 1.5")),
            Block("required_providers").attr("digitalocean", '{ source = "digitalocean/digitalocean", '
                                                             'version = "~> 2.44" }'),
        ]),
        Block("provider", ("digitalocean",)).attr("token", "var.do_token"),
        Block("data", ("digitalocean_kubernetes_versions", "lab")).attr(
            "version_prefix", _string(f"{lab.provider.kubernetes}.")),
    ]
    cluster = Block("resource", ("digitalocean_kubernetes_cluster", "lab"), [
        ("name", _string(name)),
        ("region", _string(lab.provider.region)),
        ("version", "data.digitalocean_kubernetes_versions.lab.latest_version"),
        ("ha", "true" if lab.provider.ha_control_plane else "false"),
        ("auto_upgrade", "false"),
        ("surge_upgrade", "true"),
        ("tags", json.dumps(["kubelab", f"kubelab-{name}"])),
        _pool_body(Block("node_pool"), default),
    ])
    blocks = [*header, cluster]
    for pool in lab.pools:
        if pool is default:
            continue
        block = Block("resource", ("digitalocean_kubernetes_node_pool", pool.name))
        block.attr("cluster_id", "digitalocean_kubernetes_cluster.lab.id")
        blocks.append(_pool_body(block, pool))
    notes = "\n".join(f"# pool {p.name}: spot requested, but DigitalOcean has no spot droplets (on-demand price)"
                      for p in lab.pools if p.spot)
    text = "\n\n".join("\n".join(b.render()) for b in blocks) + "\n"
    return f"# Rendered by kubelab from the definition of lab {name}.\n" + (notes + "\n" if notes else "") + "\n" + text


def _variables() -> str:
    variable = Block("variable", ("do_token",), [("description", _string("DigitalOcean API token (export "
                                                                          "TF_VAR_do_token=...)")),
                                                ("type", "string"), ("sensitive", "true")])
    outputs = [
        Block("output", ("cluster_id",)).attr("value", "digitalocean_kubernetes_cluster.lab.id"),
        Block("output", ("kubeconfig_command",)).attr(
            "value", '"doctl kubernetes cluster kubeconfig save ${digitalocean_kubernetes_cluster.lab.id}"'),
    ]
    return "\n\n".join("\n".join(b.render()) for b in [variable, *outputs]) + "\n"


def terraform_files(lab: Lab) -> dict[str, str]:
    """``{file name: text}`` of the Terraform configuration (empty for providers other than DigitalOcean)."""
    if lab.provider.name != "digitalocean":
        return {}
    return {"main.tf": _main(lab), "variables.tf": _variables()}
