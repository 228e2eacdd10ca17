"""Search spaces: the grid (union of each model's Cartesian product) and sampling through optuna.

Random and TPE use optuna's samplers through ask/tell on an in-memory study; kubelab's store stays the
source of truth, and the sampler is rebuilt from stored results when a study resumes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kubelab.tune._spec import Choice, IntRange, Sampled, StudySpec

if TYPE_CHECKING:
    import optuna

__all__ = ["Sampler", "grid", "grid_size"]


def _axis(dim: Choice | IntRange | Sampled) -> list[Any]:
    if isinstance(dim, Choice):
        return list(dim.values)
    if isinstance(dim, IntRange):
        return list(dim.values())
    raise ValueError("continuous dimension in a grid")  # the spec check prevents this


def grid_size(spec: StudySpec) -> int:
    return sum(math.prod(len(_axis(d)) for d in m.space.values()) for m in spec.models)


def grid(spec: StudySpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (model index, params) for every grid point, in a stable order (trial numbers follow it)."""
    for index, model in enumerate(spec.models):
        names = list(model.space)
        for values in itertools.product(*(_axis(model.space[n]) for n in names)):
            yield index, dict(zip(names, values, strict=True))


class Sampler:
    """Ask/tell over optuna's RandomSampler or TPESampler; a categorical 'model' picks among the models."""

    def __init__(self, spec: StudySpec) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        search = spec.search
        sampler: optuna.samplers.BaseSampler
        if search.method == "tpe":
            sampler = optuna.samplers.TPESampler(seed=search.seed, n_startup_trials=search.startup,
                                                 constant_liar=True)
        else:
            sampler = optuna.samplers.RandomSampler(seed=search.seed)
        self.spec = spec
        self.study = optuna.create_study(direction=spec.direction, sampler=sampler)  # type: ignore[arg-type]
        self._pending: dict[int, Any] = {}

    def _distributions(self, index: int) -> dict[str, Any]:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        dists: dict[str, Any] = {}
        for name, dim in self.spec.models[index].space.items():
            key = f"{index}:{name}"
            if isinstance(dim, Choice):
                dists[key] = CategoricalDistribution(dim.values)
            elif isinstance(dim, IntRange):
                dists[key] = IntDistribution(dim.lo, dim.lo + (dim.hi - dim.lo) // dim.step * dim.step, step=dim.step)
            elif dim.kind == "int":
                dists[key] = IntDistribution(int(dim.lo), int(dim.hi))
            else:
                dists[key] = FloatDistribution(dim.lo, dim.hi, log=dim.kind == "loguniform")
        return dists

    def _model_dist(self) -> Any:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(tuple(range(len(self.spec.models))))

    def ask(self, number: int) -> tuple[int, dict[str, Any]]:
        """Sample a (model index, params) for trial ``number``."""
        trial = self.study.ask()
        index = int(trial.suggest_categorical("model", list(range(len(self.spec.models)))))
        from optuna.distributions import CategoricalDistribution, IntDistribution

        params: dict[str, Any] = {}
        for key, dist in self._distributions(index).items():
            name = key.split(":", 1)[1]
            if isinstance(dist, CategoricalDistribution):
                params[name] = trial.suggest_categorical(key, list(dist.choices))
            elif isinstance(dist, IntDistribution):
                params[name] = trial.suggest_int(key, dist.low, dist.high, step=dist.step, log=dist.log)
            else:
                params[name] = trial.suggest_float(key, dist.low, dist.high, log=dist.log)
        self._pending[number] = trial
        return index, params

    def tell(self, number: int, value: float | None) -> None:
        """Report a finished trial (``None``: failed). Trials asked by an earlier run are added whole."""
        import optuna

        trial = self._pending.pop(number, None)
        if trial is not None:
            state = optuna.trial.TrialState.COMPLETE if value is not None else optuna.trial.TrialState.FAIL
            self.study.tell(trial, value if value is not None else None, state=state)

    def add_finished(self, index: int, params: dict[str, Any], value: float | None) -> None:
        """Teach the sampler a result it did not ask for (a resumed study's history)."""
        import optuna

        if value is None or not math.isfinite(value):
            return
        dists = {"model": self._model_dist(), **self._distributions(index)}
        values = {"model": index, **{f"{index}:{k}": v for k, v in params.items()}}
        self.study.add_trial(optuna.trial.create_trial(params=values, distributions=dists, value=value))
