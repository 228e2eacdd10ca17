"""The Python API for notebooks and scripts: the same operations as ``kubelab tune``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubelab.errors import StudyError
from kubelab.store import STATUSES, Store, Study, TrialRow, get_store

if TYPE_CHECKING:  # the listing commands must not pay for the spec parser and the coordinator
    from kubelab.tune._run import Progress, RunResult
    from kubelab.tune._spec import StudySpec

__all__ = ["load_spec", "results", "run", "status"]


def load_spec(spec: str | Path | Mapping[str, Any] | StudySpec, base_dir: str | Path = ".") -> StudySpec:
    """A spec from a YAML file path, a mapping (as written in YAML), or an already parsed StudySpec."""
    from kubelab._yamlfile import Locator
    from kubelab.tune._spec import StudySpec, parse_data, parse_file

    if isinstance(spec, StudySpec):
        return spec
    if isinstance(spec, Mapping):
        return parse_data(dict(spec), Locator("<spec>"), base_dir)
    return parse_file(spec)


def _store(store: str | Store | None) -> Store:
    return store if isinstance(store, Store) else get_store(store)


def run(spec: str | Path | Mapping[str, Any] | StudySpec, *, store: str | Store | None = None,
        workers: int | None = None, broker: str | None = None, chunk_size: int | None = None,
        wait: bool = True, on_progress: Callable[[Progress], None] | None = None) -> RunResult:
    """Create or resume a study and run it to the end.

    Args:
        spec: a spec file, a mapping with the same keys, or a parsed StudySpec.
        store: store URL (default ``KUBELAB_STORE`` or ``sqlite:///.kubelab/kubelab.db``) or a Store.
        workers: local worker processes (default: one per core; 0 with a broker: remote workers only).
        broker: ``amqp://...`` to dispatch through RabbitMQ; default: the embedded broker in the store.
        chunk_size: trials per chunk for a new study (default: from the study's size).
        wait: False returns right after enqueuing.
        on_progress: called about 4 times a second with a Progress snapshot.

    Returns:
        RunResult with the counts by status and the leaderboard.
    """
    from kubelab.tune._executor import default_workers, start_executors

    n_workers = default_workers() if workers is None else workers
    # trial processes boot while the spec is read and the store opened
    executors = start_executors(n_workers) if wait and n_workers > 0 else []
    broker_obj = None
    try:
        from kubelab.tune._run import run_study

        parsed = load_spec(spec)
        opened = _store(store)
        if broker:
            from kubelab.broker import get_broker

            broker_obj = get_broker(broker)
            broker_obj.connect()  # a wrong URL or a server that is not there fails here, not in a retry loop
        return run_study(parsed, opened, workers=n_workers, broker=broker_obj, chunk_size=chunk_size, wait=wait,
                         on_progress=on_progress, executors=executors)
    finally:
        for executor in executors:  # the slots closed theirs; one is still up only after an error before them
            executor.kill()
        if broker_obj is not None:
            broker_obj.close()


def _study(opened: Store, name: str) -> Study:
    study = opened.get_study(name)
    if study is None:
        names = [s.name for s, _ in opened.list_studies()]
        from kubelab._yamlfile import did_you_mean

        hint = did_you_mean(name, names)
        known = f"; studies in {opened.url}: {', '.join(names)}" if names else f"; {opened.url} has no studies"
        raise StudyError(f"no study named '{name}'" + (f" ({hint})" if hint else "") + known)
    return study


def status(name: str, store: str | Store | None = None) -> dict[str, Any]:
    """Counts by status, the total planned and the best trial of a study."""
    opened = _store(store)
    study = _study(opened, name)
    counts = opened.counts(study.id)
    best = opened.trials(study.id, top=1)
    return {"study": study.name, "method": study.method, "direction": study.direction,
            **{s: counts[s] for s in STATUSES}, "total": study.total,
            "best": best[0].as_dict() if best else None}


def results(name: str, store: str | Store | None = None, top: int | None = None) -> list[TrialRow]:
    """All trials in number order, or the ``top`` best finished ones."""
    opened = _store(store)
    study = _study(opened, name)
    return opened.trials(study.id, top=top)
