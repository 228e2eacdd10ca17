"""Wait for Deployments and StatefulSets to be ready, reporting progress and failing early with reasons."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kubelab.errors import ApplyFailed
from kubelab.kube._diagnose import Diagnosis, diagnose, source_of

if TYPE_CHECKING:
    from kubelab.kube._apply import ApplyEvent
    from kubelab.kube._cluster import Cluster

__all__ = ["rollout_state", "wait_rollout"]

WORKLOADS = ("Deployment", "StatefulSet")


def rollout_state(obj: Mapping[str, Any]) -> tuple[int, int, bool]:
    """(ready, wanted, done) of a Deployment or StatefulSet as read from the cluster (kubectl's rules)."""
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj.get("metadata") or {}
    wanted = int(spec.get("replicas", 1))
    observed = int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 0))
    updated = int(status.get("updatedReplicas", 0))
    if obj.get("kind") == "Deployment":
        ready = int(status.get("availableReplicas", 0))
        done = observed and updated >= wanted and ready >= wanted and int(status.get("replicas", 0)) <= updated
    else:
        ready = int(status.get("readyReplicas", 0))
        done = observed and ready >= wanted and updated >= wanted
    return min(ready, wanted), wanted, done


def wait_rollout(cluster: Cluster, workloads: Sequence[Mapping[str, Any]], *, timeout: float, grace: float,
                 poll: float, on_progress: Callable[[ApplyEvent], None]) -> None:
    """Poll ``workloads`` until all are ready; raise ApplyFailed with every diagnosis when one cannot
    become ready (a fatal finding that persists ``grace`` seconds) or when ``timeout`` passes."""
    from kubelab.kube._apply import ApplyEvent

    start = time.monotonic()
    pending = {(w["kind"], w["metadata"]["namespace"], w["metadata"]["name"]): w for w in workloads}
    fatal_since: dict[tuple[str, str, str], float] = {}
    last_text: dict[tuple[str, str, str], str] = {}
    while pending:
        now = time.monotonic()
        failures: list[Diagnosis] = []
        for key, applied in list(pending.items()):
            kind, ns, name = key
            current = cluster.get(applied["apiVersion"], kind, name, ns)
            ref = f"{kind} {ns}/{name}"
            if current is None:
                raise ApplyFailed(f"{ref} disappeared during the rollout (deleted by someone else?)")
            ready, wanted, done = rollout_state(current)
            if done:
                del pending[key]
                on_progress(ApplyEvent("ready", ref, source_of(applied), f"{ready}/{wanted} ready"))
                continue
            findings = diagnose(cluster, current)
            if any(d.fatal for d in findings):
                since = fatal_since.setdefault(key, now)
                if now - since >= grace:
                    failures.extend(findings)
            else:
                fatal_since.pop(key, None)
            text = f"{ready}/{wanted} ready" + (f" ({findings[0].message})" if findings else "")
            if last_text.get(key) != text:
                last_text[key] = text
                on_progress(ApplyEvent("waiting", ref, source_of(applied), text))
        if failures:
            raise ApplyFailed(_summary(failures), failures)
        if not pending:
            return
        if now - start >= timeout:
            timeouts = []
            for (kind, ns, name), applied in pending.items():
                last = cluster.get(applied["apiVersion"], kind, name, ns) or applied
                ready, wanted, _ = rollout_state(last)
                found = diagnose(cluster, last)
                why = "; ".join(d.message for d in found) or "no event says why"
                key_text = source_of(applied) or f"{kind} {name}"
                timeouts.append(Diagnosis(
                    f"{kind} {ns}/{name}", source_of(applied), "timeout",
                    f"only {ready}/{wanted} ready after {timeout:.0f} s ({why})",
                    "a node scale-up or a large image pull can take minutes: rerun with a longer --timeout; "
                    f"if it never starts, check {key_text}"))
            raise ApplyFailed(_summary(timeouts), timeouts)
        time.sleep(poll)


def _summary(diagnoses: list[Diagnosis]) -> str:
    n = len(diagnoses)
    head = f"the rollout failed ({n} problem{'s' if n != 1 else ''}):"
    return "\n".join([head, *(f"  {d}" for d in diagnoses)])
