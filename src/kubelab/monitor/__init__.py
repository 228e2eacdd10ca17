"""Sample CPU and memory of local processes or Kubernetes pods into the seed's CSV.

``Monitor`` drives a ``Target`` (``LocalTarget``: processes by pid, port or a launched command, children
included, limits from cgroups; ``KubeTarget``: pods by label selector, usage from the metrics API) and
yields ``Sample`` rows whose columns are ``COLUMNS``.
"""

from __future__ import annotations

from kubelab.monitor._cgroup import CgroupResources, cgroup_membership, cgroup_resources, group_resources
from kubelab.monitor._kube import KubeTarget
from kubelab.monitor._local import LocalTarget, pids_on_port
from kubelab.monitor._monitor import Monitor
from kubelab.monitor._open import open_target
from kubelab.monitor._sample import COLUMNS, Sample, summarize, write_csv
from kubelab.monitor._target import Target

__all__ = [
    "COLUMNS",
    "CgroupResources",
    "KubeTarget",
    "LocalTarget",
    "Monitor",
    "Sample",
    "Target",
    "cgroup_membership",
    "cgroup_resources",
    "group_resources",
    "open_target",
    "pids_on_port",
    "summarize",
    "write_csv",
]
