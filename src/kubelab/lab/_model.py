"""The lab definition (``lab.yaml``, ``apiVersion: kubelab/v1``, ``kind: Lab``) as frozen pydantic models.

Every model forbids unknown keys. Keys are snake_case except ``apiVersion``. Quantities are ``Quantity``
objects (``.text`` as written, ``.value`` exact: cores for CPU, bytes for memory); durations are ``int``
seconds. ``load_lab(path)`` (in ``_loader.py``) reads and validates a file; ``check_lab`` adds the
semantic checks (fit on the node, spot, GPU, timeouts, exposure).

For the render engineer, the tree and what each part becomes::

    Lab
    ├── api_version "kubelab/v1" (key apiVersion), kind "Lab"
    ├── metadata: name (DNS label: namespace and name prefix), description
    ├── provider: name digitalocean|gke|eks|generic, region, kubernetes '1.31', ha_control_plane
    ├── pools[]: name, size (catalog slug), count | min+max (autoscale), spot, gpu {type, count},
    │            purpose (one or a list of core|users|workers|serving), labels, taints[] {key, value, effect}
    │            → Terraform node pools; pods go to a pool by nodeSelector on POOL_LABEL = pool.name and
    │              tolerate its taints (Lab.pool_for(...) resolves which pool a component lands on)
    ├── users: admins[], allowed[], typical, peak (concurrent servers, for capacity and cost)
    ├── auth: method native|ldap|github|none and the block of that name
    │     native {open_signup, minimum_password_length}
    │     ldap {server, bind_dn_template[], allowed_groups[], start_tls, lookup_dn, user_search_base,
    │           bind_user, bind_password: SecretRef}
    │     github {client_id, client_secret: SecretRef, callback_url, allowed_organizations[]}
    │     SecretRef {secret, key}: a Kubernetes Secret in the lab's namespace; never an inline value
    ├── workbench (JupyterHub): image, cpu {guarantee, limit}, memory {guarantee, limit}, storage
    │     {size, storage_class}, pool, start_timeout (None: derive from the provider's node scale-up),
    │     (a guarantee left out is for render to derive from the node; Lab.workbench_pool(profile) places it)
    │     cull {enabled, idle_timeout, every, max_age}, profiles[] {name, display_name, description,
    │     default, image, cpu, memory, gpu, pool}, https {hosts[], contact_email, secret},
    │     service loadbalancer|nodeport|clusterip
    ├── tuning: broker {kind rabbitmq, image, pool, storage, resources}, store {kind postgresql, …},
    │     workers {image, pool, replicas | autoscaling {min, max, queue_length}, resources, gpu}
    ├── models[]: name, model (path or URI), image, pool, port, replicas | autoscaling
    │     {min, max, target_cpu_percent}, resources, gpu
    └── budget: monthly, currency USD, warn_fraction

``Resources`` is the Kubernetes shape ``{requests: {cpu, memory}, limits: {cpu, memory}}``; the workbench
uses JupyterHub's words (guarantee = request, limit = limit).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from kubelab.lab._auth import Auth, GitHubAuth, LdapAuth, NativeAuth, SecretRef
from kubelab.lab._types import Cpu, DnsName, Duration, FieldError, Hostname, Memory, Version, _Model

__all__ = [
    "MAX_NODES",
    "MAX_REPLICAS",
    "MAX_USERS",
    "POOL_LABEL",
    "Auth",
    "Broker",
    "Budget",
    "CpuScaling",
    "CpuSpec",
    "Cull",
    "GitHubAuth",
    "Gpu",
    "Https",
    "Lab",
    "LdapAuth",
    "MemorySpec",
    "Metadata",
    "ModelDeployment",
    "NativeAuth",
    "Pool",
    "Profile",
    "Provider",
    "QueueScaling",
    "ResourceList",
    "Resources",
    "SecretRef",
    "Stateful",
    "Storage",
    "Store",
    "Taint",
    "Tuning",
    "Users",
    "Workbench",
    "Workers",
]

POOL_LABEL = "kubelab.io/pool"
"""Node label every pool's nodes carry (value: the pool name); pods select their pool with it."""

MAX_NODES = 1000
"""Nodes a pool may have (GKE's per-pool limit; DigitalOcean allows 512)."""
MAX_USERS = 10_000
"""Concurrent users a lab may plan for."""
MAX_REPLICAS = 10_000
"""Replicas a workload may scale to."""

Purpose = Literal["core", "users", "workers", "serving"]
ProviderName = Literal["digitalocean", "gke", "eks", "generic"]


def _one_or_many(raw: Any) -> Any:
    return (raw,) if isinstance(raw, str) else raw


class Metadata(_Model):
    """Who the lab is: ``name`` becomes the namespace and the prefix of every object."""

    name: DnsName
    description: str = ""


class Provider(_Model):
    """Where the cluster runs."""

    name: ProviderName
    region: str = Field(min_length=1)
    kubernetes: Version
    ha_control_plane: bool = False


class Gpu(_Model):
    """GPUs on each node of a pool."""

    type: str = Field(min_length=1)
    count: int = Field(default=1, ge=1, le=16)


class Taint(_Model):
    """A node taint; pods of the components placed on the pool get the matching toleration."""

    key: str = Field(min_length=1)
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class Pool(_Model):
    """A node pool: fixed ``count`` nodes, or autoscaled between ``min`` and ``max``."""

    name: DnsName
    size: str = Field(min_length=1)
    count: int | None = Field(default=None, ge=0, le=MAX_NODES)
    min: int | None = Field(default=None, ge=0, le=MAX_NODES)
    max: int | None = Field(default=None, ge=1, le=MAX_NODES)
    spot: bool = False
    gpu: Gpu | None = None
    purpose: Annotated[
        tuple[Purpose, ...],
        BeforeValidator(_one_or_many),
        WithJsonSchema({"anyOf": [{"enum": ["core", "users", "workers", "serving"]},
                                  {"type": "array", "items": {"enum": ["core", "users", "workers", "serving"]}}]}),
    ] = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: tuple[Taint, ...] = ()

    @model_validator(mode="after")
    def _count_or_range(self) -> Pool:
        if self.count is not None and (self.min is not None or self.max is not None):
            raise FieldError("give either count or min/max, not both",
                             "count: N for a fixed pool, min: A and max: B to autoscale", field="count")
        if self.count is None and self.max is None:
            raise FieldError("the pool has no size", "add count: N, or min: A and max: B to autoscale",
                             field="max" if self.min is not None else "count")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise FieldError(f"min {self.min} is above max {self.max}", "min must be at most max", field="min")
        return self

    @property
    def min_nodes(self) -> int:
        """Nodes when idle (``count``, or ``min``, default 0)."""
        return self.count if self.count is not None else (self.min or 0)

    @property
    def max_nodes(self) -> int:
        """Nodes at most (``count``, or ``max``)."""
        return self.count if self.count is not None else (self.max or 0)

    @property
    def autoscales(self) -> bool:
        """Whether the cluster autoscaler may add nodes to this pool."""
        return self.count is None and self.max_nodes > self.min_nodes

    @property
    def gpus(self) -> int:
        """GPUs per node (0 without a GPU)."""
        return self.gpu.count if self.gpu else 0


class Users(_Model):
    """Who may log in, and how many servers run at once (for capacity and cost)."""

    admins: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    typical: int = Field(default=1, ge=0, le=MAX_USERS)
    peak: int | None = Field(default=None, ge=0, le=MAX_USERS)

    @model_validator(mode="after")
    def _typical_below_peak(self) -> Users:
        if self.peak is not None and self.typical > self.peak:
            raise FieldError(f"typical {self.typical} is above peak {self.peak}", "typical must be at most peak",
                             field="typical")
        return self

    @property
    def peak_users(self) -> int:
        """``peak``, or the larger of ``typical`` and the number of allowed users."""
        return self.peak if self.peak is not None else max(self.typical, len(self.allowed))


class CpuSpec(_Model):
    """CPU cores a user server is guaranteed and may use at most."""

    guarantee: Cpu | None = None
    limit: Cpu | None = None


class MemorySpec(_Model):
    """Memory a user server is guaranteed and may use at most."""

    guarantee: Memory | None = None
    limit: Memory | None = None


class Storage(_Model):
    """A persistent volume per user (its home directory)."""

    size: Memory
    storage_class: str | None = None


class Cull(_Model):
    """Stopping idle servers (jupyterhub-idle-culler)."""

    enabled: bool = True
    idle_timeout: Duration = 3600
    every: Duration = 600
    max_age: Duration = 0


class Https(_Model):
    """TLS for the hub: Let's Encrypt for ``hosts`` (needs ``contact_email``) or an existing TLS ``secret``."""

    hosts: tuple[Hostname, ...] = Field(min_length=1)
    contact_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                      description="an e-mail address, e.g. admin@example.org")
    secret: DnsName | None = None


class Profile(_Model):
    """A choice on the spawn page; unset fields inherit the workbench's."""

    name: DnsName
    display_name: str = Field(min_length=1)
    description: str = ""
    default: bool = False
    image: str | None = None
    cpu: CpuSpec | None = None
    memory: MemorySpec | None = None
    gpu: int = Field(default=0, ge=0, le=16)
    pool: str | None = None


class Workbench(_Model):
    """JupyterHub and the user servers."""

    image: str = Field(min_length=1)
    cpu: CpuSpec = CpuSpec()
    memory: MemorySpec = MemorySpec()
    storage: Storage | None = None
    pool: str | None = None
    start_timeout: Duration | None = None
    cull: Cull = Cull()
    profiles: tuple[Profile, ...] = ()
    https: Https | None = None
    service: Literal["loadbalancer", "nodeport", "clusterip"] = "loadbalancer"


class ResourceList(_Model):
    """CPU and memory, as in a Kubernetes container's ``requests`` or ``limits``."""

    cpu: Cpu | None = None
    memory: Memory | None = None


class Resources(_Model):
    """A container's ``requests`` (what the scheduler reserves) and ``limits``."""

    requests: ResourceList = ResourceList()
    limits: ResourceList = ResourceList()


class Stateful(_Model):
    """A stateful component: one StatefulSet replica with a volume, never to run on spot nodes."""

    image: str | None = None
    pool: str | None = None
    storage: Memory = Field(default="8Gi", validate_default=True)
    resources: Resources = Resources()


class Broker(Stateful):
    """The tuning broker: RabbitMQ."""

    kind: Literal["rabbitmq"] = "rabbitmq"


class Store(Stateful):
    """The tuning store: PostgreSQL."""

    kind: Literal["postgresql"] = "postgresql"


class _Scaling(_Model):
    """Replicas between ``min`` and ``max``."""

    min: int = Field(default=0, ge=0, le=MAX_REPLICAS)
    max: int = Field(ge=1, le=MAX_REPLICAS)

    @model_validator(mode="after")
    def _order(self) -> _Scaling:
        if self.min > self.max:
            raise FieldError(f"min {self.min} is above max {self.max}", "min must be at most max", field="min")
        return self


class QueueScaling(_Scaling):
    """Workers scaled on queue depth (KEDA): one worker per ``queue_length`` waiting messages; 0 when idle."""

    queue_length: int = Field(default=5, ge=1)


class CpuScaling(_Scaling):
    """A HorizontalPodAutoscaler on CPU utilisation (percent of the CPU request)."""

    min: int = Field(default=1, ge=1, le=MAX_REPLICAS)
    target_cpu_percent: int = Field(default=70, ge=1, le=100)


class _Workload(_Model):
    """A Deployment placed on a pool: fixed ``replicas`` (default 1) or ``autoscaling``."""

    image: str | None = None
    pool: str | None = None
    replicas: int | None = Field(default=None, ge=0, le=MAX_REPLICAS)
    autoscaling: _Scaling | None = None
    resources: Resources = Resources()
    gpu: int = Field(default=0, ge=0, le=16)

    @model_validator(mode="after")
    def _replicas_or_autoscaling(self) -> _Workload:
        if self.replicas is not None and self.autoscaling is not None:
            raise FieldError("give either replicas or autoscaling, not both", "remove one of them", field="replicas")
        return self

    @property
    def min_replicas(self) -> int:
        """Replicas at rest (an autoscaled workload's ``min``)."""
        if self.autoscaling:
            return self.autoscaling.min
        return 1 if self.replicas is None else self.replicas

    @property
    def max_replicas(self) -> int:
        """Replicas at most."""
        return self.autoscaling.max if self.autoscaling else self.min_replicas


class Workers(_Workload):
    """Tuning workers: a Deployment of ``kubelab tune worker``."""

    autoscaling: QueueScaling | None = None


class Tuning(_Model):
    """The tuning stack of ``kubelab tune`` at scale: broker, store and workers."""

    broker: Broker = Broker()
    store: Store = Store()
    workers: Workers = Workers()


class ModelDeployment(_Workload):
    """A model served by ``kubelab serve``: Deployment, Service and (with autoscaling) an HPA."""

    name: DnsName
    model: str = Field(min_length=1)
    port: int = Field(default=8080, ge=1, le=65535)
    autoscaling: CpuScaling | None = None


class Budget(_Model):
    """A monthly budget: over it at typical use is an error; at peak, or past ``warn_fraction``, a warning."""

    monthly: float = Field(gt=0)
    currency: Literal["USD"] = "USD"
    warn_fraction: float = Field(default=0.8, gt=0, le=1)


class Lab(_Model):
    """A whole lab: the root of ``lab.yaml``."""

    api_version: Literal["kubelab/v1"] = Field(alias="apiVersion")
    kind: Literal["Lab"]
    metadata: Metadata
    provider: Provider
    pools: tuple[Pool, ...] = Field(min_length=1)
    users: Users = Users()
    auth: Auth
    workbench: Workbench | None = None
    tuning: Tuning | None = None
    models: tuple[ModelDeployment, ...] = ()
    budget: Budget | None = None

    def pool(self, name: str) -> Pool | None:
        """The pool called ``name``, or None."""
        return next((p for p in self.pools if p.name == name), None)

    def pools_for(self, purpose: str) -> tuple[Pool, ...]:
        """Pools whose ``purpose`` includes ``purpose``, in file order."""
        return tuple(p for p in self.pools if purpose in p.purpose)

    def pool_for(self, purpose: str, explicit: str | None = None) -> Pool | None:
        """Where a component goes: its explicit ``pool``, else the first pool with that purpose.

        The hub and other core pods (``purpose='core'``) fall back to the users pool, then to the first pool.
        """
        if explicit is not None:
            return self.pool(explicit)
        for candidate in (purpose, "users") if purpose == "core" else (purpose,):
            found = self.pools_for(candidate)
            if found:
                return found[0]
        return self.pools[0] if purpose == "core" else None

    def workbench_pool(self, profile: Profile | None = None) -> Pool | None:
        """The pool a user server lands on.

        A profile's own ``pool``; else, for a GPU profile, the first users pool with GPUs (then any pool with
        GPUs); else ``workbench.pool``; else the first pool with purpose ``users``.
        """
        if profile is not None and profile.pool is not None:
            return self.pool(profile.pool)
        if profile is not None and profile.gpu > 0:
            with_gpu = [p for p in self.pools_for("users") if p.gpus] or [p for p in self.pools if p.gpus]
            if with_gpu:
                return with_gpu[0]
        return self.pool_for("users", self.workbench.pool if self.workbench else None)
