"""JupyterHub Helm values for the zero-to-jupyterhub chart 4.4.0, from the definition's workbench and auth.

Sizes and the start timeout are derived (``_sizing.py``); user servers go to their pool by ``nodeSelector``
on the pool label (profiles to theirs: a GPU profile to a GPU pool, with the ``nvidia.com/gpu`` limit and
the GPU taint tolerated); the hub and proxy go to the core pool. Credentials (OAuth client secret, LDAP
bind password) are read from the Secrets the definition references, never written into the values; the
hub's cookie secret and the proxy token are left to the chart, which generates them once and keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelab._labels import SOURCE_ANNOTATION
from kubelab.lab._model import POOL_LABEL, Auth, CpuSpec, Lab, MemorySpec, Pool, SecretRef, Workbench
from kubelab.lab.render._meta import GPU_RESOURCE, placement
from kubelab.lab.render._sizing import NodeRoom, UserSize, start_timeout, user_size

__all__ = ["hub_values", "split_image"]

Values = dict[str, Any]
RoomOf = Callable[[Pool], NodeRoom | None]

_SERVICE_TYPES = {"loadbalancer": "LoadBalancer", "nodeport": "NodePort", "clusterip": "ClusterIP"}


def split_image(image: str) -> tuple[str, str]:
    """``quay.io/jupyter/scipy-notebook:2024-12-09`` → (name, tag); no tag → ``latest``."""
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, "latest"
    return name, tag


def _size_values(size: UserSize) -> tuple[Values, Values]:
    return ({"guarantee": size.cpu_guarantee, "limit": size.cpu_limit},
            {"guarantee": size.mem_guarantee, "limit": size.mem_limit})


def _profile(lab: Lab, bench: Workbench, index: int, room_of: RoomOf) -> Values:
    profile = bench.profiles[index]
    pool = lab.workbench_pool(profile)  # the placement rule check and cost use too
    # each field the profile leaves out is the workbench's (as check reads it), then derived for the pool
    cpu, memory = profile.cpu or CpuSpec(), profile.memory or MemorySpec()
    cpu = CpuSpec(guarantee=cpu.guarantee or bench.cpu.guarantee, limit=cpu.limit or bench.cpu.limit)
    memory = MemorySpec(guarantee=memory.guarantee or bench.memory.guarantee, limit=memory.limit or bench.memory.limit)
    size = user_size(cpu, memory, room_of(pool) if pool else None)
    override: Values = {"extra_annotations": {SOURCE_ANNOTATION: f"workbench.profiles[{index}]"}}
    if profile.image:
        override["image"] = profile.image
    for key, value in (("cpu_guarantee", size.cpu_guarantee), ("cpu_limit", size.cpu_limit),
                       ("mem_guarantee", size.mem_guarantee), ("mem_limit", size.mem_limit)):
        if value is not None:
            override[key] = value
    if pool is not None:
        where = placement(pool)
        override["node_selector"] = where["nodeSelector"]
        if "tolerations" in where:
            override["tolerations"] = where["tolerations"]
    if profile.gpu:
        override["extra_resource_limits"] = {GPU_RESOURCE: str(profile.gpu)}
    entry: Values = {"display_name": profile.display_name, "slug": profile.name}
    if profile.description:
        entry["description"] = profile.description
    if profile.default:
        entry["default"] = True
    entry["kubespawner_override"] = override
    return entry


def _secret_env(ref: SecretRef) -> Values:
    return {"valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}}


def _auth(lab: Lab, auth: Auth) -> Values:
    users = lab.users
    common: Values = {}
    if users.admins:
        common["admin_users"] = list(users.admins)
    if users.allowed:
        common["allowed_users"] = sorted(set(users.allowed) | set(users.admins))
    config: Values = {"Authenticator": common}
    hub: Values = {"config": config}
    if auth.method == "native" and auth.native is not None:
        config["JupyterHub"] = {"authenticator_class": "nativeauthenticator.NativeAuthenticator"}
        config["NativeAuthenticator"] = {"open_signup": auth.native.open_signup,
                                         "minimum_password_length": auth.native.minimum_password_length}
    elif auth.method == "github" and auth.github is not None:
        gh = auth.github
        config["JupyterHub"] = {"authenticator_class": "github"}
        config["GitHubOAuthenticator"] = {"client_id": gh.client_id, "oauth_callback_url": gh.callback_url}
        if gh.allowed_organizations:
            config["GitHubOAuthenticator"]["allowed_organizations"] = list(gh.allowed_organizations)
        hub["extraEnv"] = {"OAUTH_CLIENT_SECRET": _secret_env(gh.client_secret)}
    elif auth.method == "ldap" and auth.ldap is not None:
        ldap = auth.ldap
        scheme, _, rest = ldap.server.partition("://")
        host, _, port = rest.rstrip("/").partition(":")
        # ldapauthenticator 2 (in the chart's hub image): tls_strategy replaces use_ssl
        tls = "on_connect" if scheme == "ldaps" else "before_bind" if ldap.start_tls else "insecure"
        settings: Values = {"server_address": host, "tls_strategy": tls, "lookup_dn": ldap.lookup_dn}
        if port:
            settings["server_port"] = int(port)
        for key, value in (("bind_dn_template", list(ldap.bind_dn_template)),
                           ("allowed_groups", list(ldap.allowed_groups)),
                           ("user_search_base", ldap.user_search_base), ("lookup_dn_search_user", ldap.bind_user)):
            if value:
                settings[key] = value
        config["JupyterHub"] = {"authenticator_class": "ldapauthenticator.LDAPAuthenticator"}
        config["LDAPAuthenticator"] = settings
        if ldap.bind_password is not None:
            hub["extraEnv"] = {"LDAP_BIND_PASSWORD": _secret_env(ldap.bind_password)}
            hub["extraConfig"] = {"kubelab-ldap": "import os\nc.LDAPAuthenticator.lookup_dn_search_password = "
                                                  "os.environ['LDAP_BIND_PASSWORD']\n"}
    elif auth.method == "none":  # anyone may log in: `check` allows it only behind kubectl port-forward
        config["JupyterHub"] = {"authenticator_class": "dummy"}
    return hub


def _proxy(bench: Workbench, core: Pool | None) -> Values:
    proxy: Values = {"service": {"type": _SERVICE_TYPES[bench.service]}}
    if bench.https is not None:
        https: Values = {"enabled": True, "hosts": list(bench.https.hosts)}
        if bench.https.secret:
            https.update(type="secret", secret={"name": bench.https.secret})
        else:
            https.update(type="letsencrypt", letsencrypt={"contactEmail": bench.https.contact_email})
        proxy["https"] = https
    if core is not None:
        proxy["chp"] = {"nodeSelector": {POOL_LABEL: core.name}}
        proxy["traefik"] = {"nodeSelector": {POOL_LABEL: core.name}}
    return proxy


def hub_values(lab: Lab, room_of: RoomOf, scale_up_seconds: int, image_pull_seconds: int) -> Values:
    """The ``values.yaml`` of the lab's JupyterHub (``lab.workbench`` must be set).

    Args:
        lab: the definition.
        room_of: what a node of a pool offers pods (None for a size kubelab does not know).
        scale_up_seconds: the provider's time to add a node, for the derived start timeout.
        image_pull_seconds: the time to pull a notebook image onto a new node.
    """
    bench = lab.workbench
    assert bench is not None
    users_pool = lab.workbench_pool()
    core = lab.pool_for("core")
    cpu, memory = _size_values(user_size(bench.cpu, bench.memory, room_of(users_pool) if users_pool else None))
    image, tag = split_image(bench.image)
    where = placement(users_pool)
    singleuser: Values = {
        "image": {"name": image, "tag": tag},
        "cpu": cpu,
        "memory": memory,
        "startTimeout": start_timeout(bench.start_timeout, users_pool, scale_up_seconds, image_pull_seconds),
        "nodeSelector": where.get("nodeSelector", {}),
        "extraTolerations": where.get("tolerations", []),
        # user pods are Helm's, not kubelab's (no managed-by label: apply must not prune them), but failure
        # messages about them name the definition key through the same annotation
        "extraAnnotations": {SOURCE_ANNOTATION: "workbench"},
        # the iptables init container needs NET_ADMIN; the chart's NetworkPolicy blocks the metadata server
        "cloudMetadata": {"blockWithIptables": False, "ip": "169.254.169.254"},
        "networkPolicy": {"egressAllowRules": {"cloudMetadataServer": False}},
    }
    if bench.storage is not None:
        singleuser["storage"] = {"capacity": str(bench.storage.size)}
        if bench.storage.storage_class:
            singleuser["storage"]["dynamic"] = {"storageClass": bench.storage.storage_class}
    else:
        singleuser["storage"] = {"type": "none"}
    if bench.profiles:
        singleuser["profileList"] = [_profile(lab, bench, i, room_of) for i in range(len(bench.profiles))]
    hub = _auth(lab, lab.auth)
    hub["annotations"] = {SOURCE_ANNOTATION: "workbench"}
    if core is not None:
        hub["nodeSelector"] = {POOL_LABEL: core.name}
    cull = bench.cull
    return {
        "hub": hub,
        "proxy": _proxy(bench, core),
        "singleuser": singleuser,
        "cull": {"enabled": cull.enabled, "timeout": cull.idle_timeout, "every": cull.every, "maxAge": cull.max_age},
        "scheduling": {"userScheduler": {"nodeSelector": {POOL_LABEL: core.name}} if core else {}},
    }
