"""Model serving: load a model file by format and serve it over HTTP, fast and safely.

    >>> from kubelab.serve import ServeOptions, ServerConfig, bind, run_server   # doctest: +SKIP
    >>> config = ServerConfig("model.ubj", ServeOptions(name="model"))           # doctest: +SKIP
    >>> run_server(config, bind("127.0.0.1", 8080))                              # doctest: +SKIP

Endpoints: ``POST /predict``, the Open Inference Protocol v2 (``/v2/...``), ``/healthz``, ``/readyz``,
``/metrics``, ``/test`` and a page at ``/``. See docs/serve.md.
"""

from __future__ import annotations

from kubelab.serve._app import ServeApp, ServeOptions
from kubelab.serve._export import Exported, export_best
from kubelab.serve._metadata import Metadata, metadata_path, read_metadata, write_metadata
from kubelab.serve._model import FORMATS, Model, load_model
from kubelab.serve._server import ServerConfig, bind, build_app, run_server

__all__ = ["FORMATS", "Exported", "Metadata", "Model", "ServeApp", "ServeOptions", "ServerConfig", "bind", "build_app",
           "export_best", "load_model", "metadata_path", "read_metadata", "run_server", "write_metadata"]
