"""Shared pieces of the recipe tests: the course's recipe, a server with exactly exponential service times."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kubelab.recipe._server import QUANTILES, AllowancePoint, ServerProfile

COURSE = """\
resources:
  requests: {cpu: "1", memory: 2Gi}
  limits: {cpu: "2", memory: 4Gi}
autoscaling:
  minReplicas: 1
  maxReplicas: 5
  targetCPUUtilizationPercentage: 40
"""
"""Seed 001's example recipe."""


class ExponentialServer(ServerProfile):
    """A fake server whose service time is exactly exponential with mean ``mean_s`` at any allowance.

    The queueing checks need exact M/M/· service; the quantile table of a real profile only approximates
    a distribution.
    """

    def __init__(self, mean_s: float, *, idle_cpu: float = 0.0, startup_seconds: float = 10.0) -> None:
        quantiles = tuple(-mean_s * float(np.log(1 - min(q, 0.9999))) + 1e-9 * i for i, q in enumerate(QUANTILES))
        point = AllowancePoint(1.0, quantiles, mean_s, 1.0 / mean_s)
        super().__init__((point,), 100.0, startup_seconds, idle_cpu, "synthetic", "exponential fake")
        object.__setattr__(self, "_mean", mean_s)

    def service_mean(self, cpu: float) -> float:
        return float(self._mean)  # type: ignore[attr-defined]

    def concurrency(self, cpu: float) -> float:
        return 1.0

    def cpu_per_request(self, cpu: float) -> float:
        return float(self._mean)  # type: ignore[attr-defined]

    def sample_service(self, cpu: float, u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(-float(self._mean) * np.log1p(-u))  # type: ignore[attr-defined]
