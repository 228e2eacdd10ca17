"""The baseline of bench/serve_http.py: the plain FastAPI app that calls ``predict`` once per request.

What a team writes first: a pydantic body, the model loaded at import, one predict per request. It uses the
same XGBoost call as kubelab (``inplace_predict`` on a float32 array, one thread) and the same uvicorn with
uvloop and httptools, so the difference measured is the serving layer alone. The endpoint is ``async def``
(a sync ``def`` endpoint would add a thread hand-off per request).

    BENCH_MODEL=model.ubj uvicorn bench.serve_fastapi_app:app --port 8081 --loop uvloop --http httptools
"""

from __future__ import annotations

import os

import numpy as np
import xgboost as xgb
from fastapi import FastAPI
from pydantic import BaseModel

booster = xgb.Booster(model_file=os.environ["BENCH_MODEL"])
booster.set_param({"nthread": 1})
app = FastAPI()


class Instances(BaseModel):
    instances: list[list[float]]


@app.post("/predict")
async def predict(body: Instances) -> dict[str, list[float]]:
    return {"predictions": booster.inplace_predict(np.asarray(body.instances, dtype=np.float32)).tolist()}


@app.get("/readyz")
async def ready() -> dict[str, bool]:
    return {"ready": True}
