"""``GET /``: a page where a person tries the model: one field per feature, or a pasted CSV row."""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubelab.serve._app import ServeApp

__all__ = ["render_page"]


@cache
def _template() -> str:
    return resources.files("kubelab.serve").joinpath("page.html").read_text(encoding="utf-8")


def render_page(app: ServeApp) -> bytes:
    """The page for ``app``'s model, the sample row filled in; no external script or style."""
    schema, meta = app.schema, app.meta
    n = schema.n_features or 0
    names = list(schema.feature_names or (f"feature {i}" for i in range(n)))
    sample = [] if app.sample is None else [f"{v:g}" for v in app.sample[0].tolist()]
    inputs = "".join(
        f'<label>{html.escape(name)}<input name="{html.escape(name)}" inputmode="decimal" '
        f'value="{sample[i] if i < len(sample) else ""}"></label>' for i, name in enumerate(names))
    facts = [f"{app.model.format} model", f"{n} features" if n else "features: any number"]
    facts += [f"{k} {v}" for k, v in (("study", meta.study), ("metric", meta.metric), ("dataset", meta.dataset))
              if v is not None]
    text = (_template()
            .replace("__NAME__", html.escape(app.options.name))
            .replace("__DESCRIPTION__", html.escape(" · ".join(facts)))
            .replace("__INPUTS__", inputs)
            .replace("__PLACEHOLDER__", html.escape(",".join(sample) if sample else "1.0,2.0,3.0"))
            .replace("__TOKEN_HIDDEN__", "" if app.options.token else "hidden"))
    return text.encode()
