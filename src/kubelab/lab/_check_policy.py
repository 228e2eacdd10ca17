"""Checks of intent: unique names, stateful pods off spot nodes, timeouts that agree, and no open door.

Exposure rules: a hub reachable from outside the cluster (``service: loadbalancer`` or ``nodeport``) must
have https and an authenticator that admits only the team; anything less is an error, because the hub runs
any code a logged-in user types.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlparse

from kubelab._yamlfile import KeyPath
from kubelab.lab._check import Checker, CheckFunction

__all__ = ["CHECKS", "SUPPORTED_KUBERNETES"]


def _minutes(seconds: int) -> str:
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds % 60 else f"{seconds // 60}m"


SUPPORTED_KUBERNETES = ("1.30", "1.35")
"""The Kubernetes versions kubelab's rendered manifests are validated against (inclusive)."""


def check_version(c: Checker) -> None:
    """A Kubernetes version outside the range kubelab renders for."""
    low, high = (tuple(int(p) for p in v.split(".")) for v in SUPPORTED_KUBERNETES)
    version = c.lab.provider.kubernetes
    if not low <= tuple(int(p) for p in version.split(".")) <= high:
        c.warning(("provider", "kubernetes"), f"kubelab's manifests are validated for Kubernetes "
                  f"{SUPPORTED_KUBERNETES[0]} to {SUPPORTED_KUBERNETES[1]}, not {version}",
                  f"use a version from {SUPPORTED_KUBERNETES[0]} to {SUPPORTED_KUBERNETES[1]}")


def check_names(c: Checker) -> None:
    """Pool, profile and model names are unique; at most one default profile."""
    lab = c.lab
    groups: list[tuple[KeyPath, list[str]]] = [(("pools",), [p.name for p in lab.pools]),
                                               (("models",), [m.name for m in lab.models])]
    if lab.workbench:
        groups.append((("workbench", "profiles"), [p.name for p in lab.workbench.profiles]))
        defaults = [i for i, p in enumerate(lab.workbench.profiles) if p.default]
        for i in defaults[1:]:
            c.error(("workbench", "profiles", i, "default"), "more than one profile is the default",
                    "keep default: true on one profile")
    for base, names in groups:
        counts = Counter(names)
        for i, name in enumerate(names):
            if counts[name] > 1 and names.index(name) != i:
                c.error((*base, i, "name"), f"name '{name}' is used twice", "give each a different name")


def check_spot(c: Checker) -> None:
    """Stateful components (hub, broker, store) off spot nodes; user servers on spot is a warning."""
    lab = c.lab
    hub = lab.pool_for("core")
    if lab.workbench and hub is not None and hub.spot:
        c.error((*c.pool_path(hub), "spot"), f"the hub (JupyterHub and its database) runs on pool '{hub.name}', "
                "which is spot: a reclaimed node logs every user out and may corrupt the hub database",
                "add a pool with purpose: core and spot: false (a small always-on node)")
    if lab.tuning:
        for key, comp in (("broker", lab.tuning.broker), ("store", lab.tuning.store)):
            pool = lab.pool_for("core", comp.pool)
            if pool is not None and pool.spot:
                what = "RabbitMQ" if key == "broker" else "PostgreSQL"
                c.error(("tuning", key, "pool") if comp.pool else (*c.pool_path(pool), "spot"),
                        f"the {key} ({what}) runs on pool '{pool.name}', which is spot: a reclaimed node stops "
                        "every study until the volume is reattached elsewhere",
                        "put it on a pool with spot: false (purpose: core)")
    if lab.workbench:
        pool = lab.workbench_pool()
        if pool is not None and pool.spot:
            c.warning((*c.pool_path(pool), "spot"), f"user servers run on spot pool '{pool.name}': a reclaimed "
                      "node stops them and loses unsaved notebook state", "use spot: false for the users pool")


def check_pools(c: Checker) -> None:
    """GPU pools are tainted (or CPU pods keep them up); a pool nothing runs on costs its minimum for nothing."""
    lab = c.lab
    used: set[str] = set()
    if lab.workbench:
        used |= {p.name for p in (lab.pool_for("core"), *(lab.workbench_pool(prof) for prof in
                                                          (None, *lab.workbench.profiles))) if p is not None}
    if lab.tuning:
        t = lab.tuning
        used |= {p.name for p in (lab.pool_for("core", t.broker.pool), lab.pool_for("core", t.store.pool),
                                  lab.pool_for("workers", t.workers.pool)) if p is not None}
    used |= {p.name for p in (lab.pool_for("serving", m.pool) for m in lab.models) if p is not None}
    sizes = c.sizes
    for pool in lab.pools:
        path = c.pool_path(pool)
        size = sizes.size(lab.provider.name, pool.size)
        gpus = pool.gpus or (size.gpus if size else 0)
        if gpus and not any(t.effect == "NoSchedule" for t in pool.taints):
            c.warning((*path, "taints"), f"pool '{pool.name}' has GPUs but no NoSchedule taint: CPU-only pods may "
                      "land on its expensive nodes and keep them running",
                      "add taints: [{key: nvidia.com/gpu, effect: NoSchedule}]")
        if pool.name not in used and pool.min_nodes > 0:
            c.warning((*path, "name"), f"nothing runs on pool '{pool.name}', yet it keeps {pool.min_nodes} "
                      "node(s)", "remove the pool, give it min: 0, or place a component there (pool: NAME)")


def check_timeouts(c: Checker) -> None:
    """Start timeout covers a node scale-up; culling settings agree with each other."""
    wb = c.lab.workbench
    if wb is None:
        return
    model = c.sizes.providers.get(c.lab.provider.name)
    pools = {p.name: p for p in (c.lab.workbench_pool(prof) for prof in (None, *wb.profiles)) if p is not None}
    scaling = [p for p in pools.values() if p.autoscales]
    if wb.start_timeout is not None and model is not None and scaling:
        need = model.scale_up_seconds + model.image_pull_seconds
        if wb.start_timeout < need:
            names = ", ".join(f"'{p.name}'" for p in scaling)
            c.error(("workbench", "start_timeout"),
                    f"{_minutes(wb.start_timeout)} is shorter than adding a node to pool {names} on "
                    f"{c.lab.provider.name} (about {_minutes(model.scale_up_seconds)}) and pulling the image "
                    f"(about {_minutes(model.image_pull_seconds)}): spawns will time out while a node is added",
                    f"set start_timeout: {_minutes(-(-need // 300) * 300)} or more, or leave it out to have it "
                    "derived")
    cull = wb.cull
    if not cull.enabled:
        if scaling:
            c.warning(("workbench", "cull", "enabled"), "idle servers are never stopped, so the autoscaled "
                      "users pool never shrinks and idle nodes keep costing", "enable culling (enabled: true)")
        return
    if cull.idle_timeout < cull.every:
        c.warning(("workbench", "cull", "idle_timeout"), f"{_minutes(cull.idle_timeout)} is shorter than the "
                  f"culler's interval ({_minutes(cull.every)}): servers are stopped between "
                  f"{_minutes(cull.idle_timeout)} and {_minutes(cull.idle_timeout + cull.every)} after use",
                  "make every at most idle_timeout (e.g. a sixth of it)")
    if wb.start_timeout is not None and cull.idle_timeout < wb.start_timeout:
        c.warning(("workbench", "cull", "idle_timeout"), f"{_minutes(cull.idle_timeout)} idle culls a server "
                  f"sooner than it may take to start one ({_minutes(wb.start_timeout)})",
                  "raise idle_timeout (1h is common)")
    if cull.max_age and cull.max_age < cull.idle_timeout:
        c.warning(("workbench", "cull", "max_age"), f"{_minutes(cull.max_age)} is shorter than idle_timeout "
                  f"({_minutes(cull.idle_timeout)}): servers are stopped by age before they could be idle",
                  "raise max_age above idle_timeout, or 0 for no age limit")


def check_exposure(c: Checker) -> None:
    """https and authentication for a hub reachable from outside the cluster."""
    lab, wb = c.lab, c.lab.workbench
    auth = lab.auth
    public = wb is not None and wb.service != "clusterip"
    if wb is None:
        return
    if public and auth.method == "none":
        c.error(("auth", "method"), f"no authentication on a hub exposed as {wb.service}: anyone who finds the "
                "address gets a server and runs code in your cluster",
                "use method: github, ldap or native, or service: clusterip with kubectl port-forward")
    if public and wb.https is None:
        c.error(("workbench", "service"), f"the hub is exposed as {wb.service} over plain HTTP: passwords and "
                "tokens cross the internet in clear",
                "add workbench.https: {hosts: [lab.example.org], contact_email: you@example.org}, or "
                "service: clusterip and reach it with kubectl port-forward")
    if wb.https is not None and wb.https.contact_email is None and wb.https.secret is None:
        c.error(("workbench", "https"), "https needs a certificate: Let's Encrypt needs contact_email, or name "
                "an existing TLS secret", "add contact_email: you@example.org (or secret: NAME)")
    allowed = bool(lab.users.allowed)
    if auth.method == "native" and auth.native and auth.native.open_signup and not allowed:
        c.error(("auth", "native", "open_signup"), "anyone can sign up and get a server at once",
                "set open_signup: false (admins approve accounts) or list users.allowed")
    if auth.method == "native" and not lab.users.admins:
        c.warning(("users", "admins"), "native accounts wait for an admin's approval, and there is no admin",
                  "list at least one user in users.admins")
    if auth.method == "github" and auth.github:
        gh = auth.github
        if not gh.allowed_organizations and not allowed:
            c.error(("auth", "github"), "any GitHub account can log in and run code in your cluster",
                    "list allowed_organizations, or users.allowed")
        _check_callback(c, gh.callback_url)
    if auth.method == "ldap" and auth.ldap:
        ldap = auth.ldap
        if ldap.server.startswith("ldap://") and not ldap.start_tls:
            c.error(("auth", "ldap", "server"), "passwords go to the LDAP server unencrypted",
                    "use ldaps://… or start_tls: true")
        if not ldap.bind_dn_template and not ldap.lookup_dn:
            c.error(("auth", "ldap"), "no way to find a user's DN", "add bind_dn_template or lookup_dn: true")
        if ldap.lookup_dn and (ldap.bind_user is None or ldap.bind_password is None or not ldap.user_search_base):
            c.error(("auth", "ldap", "lookup_dn"), "lookup_dn needs bind_user, bind_password and user_search_base",
                    "add them, or use bind_dn_template instead")


def _check_callback(c: Checker, url: str) -> None:
    wb = c.lab.workbench
    parsed = urlparse(url)
    if wb is None or wb.https is None:
        return
    if parsed.scheme != "https":
        c.error(("auth", "github", "callback_url"), "the OAuth callback is plain http while the hub is https",
                f"use https://{wb.https.hosts[0]}/hub/oauth_callback")
    elif parsed.hostname not in wb.https.hosts:
        c.error(("auth", "github", "callback_url"), f"host '{parsed.hostname}' is not one of the hub's hosts "
                f"({', '.join(wb.https.hosts)}): GitHub would send users elsewhere after login",
                f"use https://{wb.https.hosts[0]}/hub/oauth_callback")
    elif not parsed.path.endswith("/hub/oauth_callback"):
        c.warning(("auth", "github", "callback_url"), f"path '{parsed.path}' is not JupyterHub's callback",
                  f"use https://{wb.https.hosts[0]}/hub/oauth_callback")


def check_images(c: Checker) -> None:
    """Images pinned to a tag (``:latest`` or none makes the lab change under you)."""
    lab = c.lab
    images: list[tuple[KeyPath, str | None]] = []
    if lab.workbench:
        images.append((("workbench", "image"), lab.workbench.image))
        images += [(("workbench", "profiles", i, "image"), p.image) for i, p in enumerate(lab.workbench.profiles)]
    if lab.tuning:
        images += [(("tuning", k, "image"), getattr(lab.tuning, k).image) for k in ("broker", "store", "workers")]
    images += [(("models", i, "image"), m.image) for i, m in enumerate(lab.models)]
    for path, image in images:
        if image is None or "@sha256:" in image:
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if tag in ("", "latest"):
            c.warning(path, f"image '{image}' is not pinned: {'latest' if tag else 'no tag'} changes under you "
                      "and new nodes may pull a different version", "pin a tag, e.g. quay.io/jupyter/scipy-"
                      "notebook:2024-12-09")


CHECKS: list[CheckFunction] = [check_version, check_names, check_pools, check_spot, check_timeouts, check_exposure,
                               check_images]
