"""Creating, resuming and enqueuing a study in the store (the coordinator's side, no workers here)."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from typing import Any

from kubelab.errors import StudyError
from kubelab.store import Chunk, Store, Study
from kubelab.tune._space import Sampler, grid, grid_size
from kubelab.tune._spec import StudySpec

__all__ = ["chunk_size_for", "create_or_resume", "enqueue_all", "planned_total"]


def planned_total(spec: StudySpec) -> int:
    return grid_size(spec) if spec.search.method == "grid" else int(spec.search.trials or 0)


def chunk_size_for(total: int) -> int:
    """Chunks big enough that dispatch is cheap, small enough to balance load over many workers: at least
    ~256 chunks for big studies, at most 64 trials each. Depends on the total only, so a resumed study
    (or a coordinator on another machine) cuts the same chunks."""
    return max(1, min(64, math.ceil(total / 256)))


def create_or_resume(store: Store, spec: StudySpec) -> tuple[Study, bool]:
    """Return (study, created). A study of that name with another spec is an error, never overwritten."""
    study = store.create_study(spec.name, spec.to_json(), spec.digest, spec.direction, spec.search.method,
                               planned_total(spec))
    if study.digest != spec.digest:
        raise StudyError(
            f"study '{spec.name}' already exists in the store with a different spec; give this spec a new "
            f"'study:' name, or delete the old one with: kubelab tune delete {spec.name}")
    return study, store.max_number(study.id) < 0


def _rows(spec: StudySpec) -> Iterator[tuple[int, int, str, str]]:
    if spec.search.method == "grid":
        points: Any = grid(spec)
    else:  # random: every trial is known up front, drawn by optuna's RandomSampler (seeded)
        sampler = Sampler(spec)
        points = (sampler.ask(n) for n in range(int(spec.search.trials or 0)))
    dumps = json.JSONEncoder(sort_keys=True).encode
    labels = [m.label for m in spec.models]
    for number, (model, params) in enumerate(points):
        yield number, model, labels[model], dumps(params)


def enqueue_all(store: Store, study: Study, spec: StudySpec, chunk_size: int | None = None) -> list[Chunk]:
    """Insert every trial of a grid or random study, and record its chunks as 'new' (idempotent: a resumed
    study keeps its trials and its chunking). Returns the chunks not yet handed to a broker."""
    total = planned_total(spec)
    if store.max_number(study.id) < total - 1:
        store.add_trials(study.id, _rows(spec))
    if not store.chunks_in_state(study.id):
        size = chunk_size or chunk_size_for(total)
        blocks = [(lo, min(lo + size, total)) for lo in range(0, total, size)]
        if spec.search.method == "grid":
            # Workers take chunks in chunk order. A grid lists each axis in order, so neighbouring points cost
            # alike and the last block is often the dearest (most trees, deepest): run in grid order, the study
            # would end with one worker busy on it and the others idle. Shuffled (seeded by the spec, so every
            # coordinator cuts the same chunks), the last chunk is a typical one, and early results sample the
            # whole grid rather than one corner of it.
            random.Random(study.digest).shuffle(blocks)
        store.add_chunks(study.id, [(i, lo, hi) for i, (lo, hi) in enumerate(blocks)], "new")
    return store.chunks_in_state(study.id, "new")
