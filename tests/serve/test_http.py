"""Every endpoint over real HTTP (uvicorn on 127.0.0.1), and every client error with its status and message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from tests.serve.conftest import N_FEATURES, NAMES, LiveServer, make_data, metric


@pytest.fixture(scope="module")
def expected(xgb_model: Path) -> np.ndarray:
    """What XGBoost itself predicts for the first 3 generated rows."""
    booster = xgb.Booster(model_file=str(xgb_model))
    return booster.predict(xgb.DMatrix(make_data()[0][:3].astype(np.float32)))


def rows() -> list[list[float]]:
    return make_data()[0][:3].tolist()


def test_predict_rows_match_the_library(live: LiveServer, expected: np.ndarray) -> None:
    status, body = live.client.json("POST", "/predict", {"instances": rows()})
    assert status == 200
    assert np.allclose(body["predictions"], expected, rtol=1e-5)


def test_predict_records_by_feature_name(live: LiveServer, expected: np.ndarray) -> None:
    records = [dict(zip(reversed(NAMES), reversed(r), strict=True)) for r in rows()]  # key order does not matter
    status, body = live.client.json("POST", "/predict", {"instances": records})
    assert status == 200 and np.allclose(body["predictions"], expected, rtol=1e-5)


def test_test_endpoint_predicts_the_sample_row(live: LiveServer) -> None:
    status, body = live.client.json("GET", "/test")
    sample = make_data()[0][0]
    assert status == 200 and np.allclose(body["instances"][0], sample, rtol=1e-6)
    booster = xgb.Booster(model_file=str(live.app.model.path))
    assert np.isclose(body["predictions"][0], booster.predict(xgb.DMatrix(sample[None].astype(np.float32)))[0])


def test_health_and_readiness(live: LiveServer) -> None:
    for path in ("/healthz", "/v2/health/live"):
        assert live.client.json("GET", path) == (200, {"live": True})
    for path in ("/readyz", "/v2/health/ready", "/v2/models/reg/ready"):
        assert live.client.json("GET", path) == (200, {"ready": True})


def test_startup_freezes_the_heap_out_of_the_collectors_reach(live: LiveServer) -> None:
    # a full collection would otherwise walk every module and model object: a pause in the request tail
    import gc

    assert live.app.ready and gc.get_freeze_count() > 10_000


def test_v2_infer_flat_and_nested_data(live: LiveServer, expected: np.ndarray) -> None:
    for data in (np.ravel(rows()).tolist(), rows()):
        status, body = live.client.json("POST", "/v2/models/reg/infer", {
            "id": "r1", "inputs": [{"name": "input-0", "shape": [3, N_FEATURES], "datatype": "FP64", "data": data}]})
        assert status == 200, body
        assert body["id"] == "r1" and body["model_name"] == "reg"
        out = body["outputs"][0]
        assert out["shape"] == [3] and out["datatype"] == "FP32" and np.allclose(out["data"], expected, rtol=1e-5)


def test_v2_infer_one_input_per_feature(live: LiveServer, expected: np.ndarray) -> None:
    columns = np.array(rows()).T
    inputs = [{"name": n, "shape": [3], "datatype": "FP32", "data": c.tolist()} for n, c in zip(NAMES, columns,
                                                                                              strict=True)]
    status, body = live.client.json("POST", "/v2/models/reg/infer", {"inputs": inputs[::-1]})
    assert status == 200 and np.allclose(body["outputs"][0]["data"], expected, rtol=1e-5)


def test_v2_model_metadata(live: LiveServer) -> None:
    status, body = live.client.json("GET", "/v2/models/reg")
    assert status == 200
    assert body["name"] == "reg" and body["platform"] == "xgboost"
    assert body["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, N_FEATURES]}]
    assert body["parameters"]["feature_names"] == NAMES and body["parameters"]["study"] == "unit"
    assert body["parameters"]["predictor"].startswith("onnxruntime for batches of <= ")  # XGBoost via ONNX
    assert live.client.json("GET", "/v2")[1]["name"] == "kubelab"


def test_page_has_one_field_per_feature_and_no_external_assets(live: LiveServer) -> None:
    status, headers, body = live.client.request("GET", "/")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert all(f'name="{n}"' in page for n in NAMES)
    assert "<script src" not in page and "<link" not in page and "http://" not in page and "https://" not in page


def test_metrics_count_requests_by_status(live: LiveServer) -> None:
    before = live.client.request("GET", "/metrics")[2].decode()
    live.client.request("POST", "/predict", "{nope")
    live.client.request("POST", "/predict", {"instances": rows()})
    status, headers, body = live.client.request("GET", "/metrics")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    for code in ("400", "200"):
        labels = f'code="{code}",endpoint="/predict"'
        assert metric(text, "kubelab_serve_requests_total", labels) == \
            metric(before, "kubelab_serve_requests_total", labels) + 1
    assert metric(text, "kubelab_serve_batch_size_count") >= 1
    assert "kubelab_serve_request_duration_seconds_bucket" in text and "kubelab_serve_in_flight" in text
    assert "kubelab_serve_queue_depth" in text


@pytest.mark.parametrize(("body", "status", "message"), [
    ("{nope", 400, "malformed JSON"),
    ("", 400, "empty body"),
    ('[1, 2]', 422, 'expected a JSON object with the key "instances"'),
    ('{"instances": []}', 422, "instances: expected a non-empty list"),
    ('{"instances": [[1, 2]]}', 422, f"rows have 2 values, the model takes {N_FEATURES} features"),
    ('{"instances": [[1, 2, 3, 4, "x"]]}', 422, "every value must be a number (found text)"),
    ('{"instances": [[1, 2, 3, 4, null]]}', 422, "every value must be a number"),
    ('{"instances": [[1, 2, 3, 4, true]]}', 422, "every value must be a number (found true/false)"),
    ('{"instances": [[1, 2, 3, 4, 5], [1]]}', 422, "rows of unequal length"),
    ('{"instances": [1, 2, 3, 4, 5]}', 422, "expected a non-empty list of rows, got shape [5]"),
    ('{"instances": [{"f0": 1}]}', 422, "instances[0]: missing f1, f2, f3, f4"),
    ('{"instances": [{"f0": 1, "f1": 1, "f2": 1, "f3": 1, "f4": 1, "zz": 2}]}', 422, "unknown zz"),
    ('{"instances": [{"f0": 1, "f1": 1, "f2": 1, "f3": 1, "f4": 1}, [1, 2, 3, 4, 5]]}', 422,
     "mixes records and rows"),
    ('{"instances": [[1e300, 1, 1, 1, 1]]}', 422, "finite numbers within the float32 range"),
])
def test_predict_client_errors(live: LiveServer, body: str, status: int, message: str) -> None:
    got, payload = live.client.json("POST", "/predict", body)
    assert got == status and message in payload["error"], payload
    if status == 422 and "rows" in message or "number" in message and "finite" not in message:
        assert f"expected {{\"instances\": [[{N_FEATURES} numbers], …]}}" in payload["error"]  # names the shape


@pytest.mark.parametrize(("body", "message"), [
    ({"inputs": []}, 'expected {"inputs": [{"name": "input-0", "shape": [N, F]'),
    ({"inputs": [{"name": "x", "shape": [1, 5], "datatype": "FP32"}]}, "inputs[0]: missing data"),
    ({"inputs": [{"name": "x", "shape": [2, 5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]},
     "5 values do not fill shape [2, 5]"),
    ({"inputs": [{"name": "x", "shape": [1, 5], "datatype": "BYTES", "data": ["a"] * 5}]},
     "'BYTES' is not served"),
    ({"inputs": [{"name": "x", "shape": [5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}, "is not [N, F]"),
    ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
     "rows have 3 values, the model takes 5 features"),
    ({"inputs": [{"name": "x", "shape": "1,5", "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]},
     "inputs[0].shape: expected a list of non-negative integers"),
    ({"id": 7, "inputs": [{"name": "x", "shape": [1, 5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]},
     "id: expected a string"),
    ({"inputs": [{"name": "f0", "shape": [1], "datatype": "FP32", "data": [1]},
                 {"name": "nope", "shape": [1], "datatype": "FP32", "data": [1]}]}, "one input per feature"),
    ({"inputs": [{"name": n, "shape": [0], "datatype": "FP32", "data": []} for n in NAMES]},
     "per-feature inputs must each have shape [N] or [N, 1], with the same N > 0"),
])
def test_v2_client_errors(live: LiveServer, body: dict[str, object], message: str) -> None:
    status, payload = live.client.json("POST", "/v2/models/reg/infer", json.dumps(body))
    assert status == 422 and message in payload["error"], payload


def test_unknown_model_name_is_404(live: LiveServer) -> None:
    for method, path in (("POST", "/v2/models/other/infer"), ("GET", "/v2/models/other"),
                         ("GET", "/v2/models/other/ready")):
        status, payload = live.client.json(method, path, "{}")
        assert status == 404 and payload["error"] == "no model named 'other'; this server serves 'reg'"


def test_unknown_path_404_and_wrong_method_405(live: LiveServer) -> None:
    status, payload = live.client.json("GET", "/nope")
    assert status == 404 and "no endpoint /nope" in payload["error"]
    status, headers, body = live.client.request("GET", "/predict")
    assert status == 405 and headers["allow"] == "POST" and "/predict does not take GET" in body.decode()
    status, headers, body = live.client.request("PUT", "/healthz")
    assert status == 405 and headers["allow"] == "GET" and "/healthz does not take PUT" in body.decode()
    status, headers, body = live.client.request("GET", "/v2/models/reg/infer")
    assert status == 405 and headers["allow"] == "POST" and "takes POST, not GET" in body.decode()


def test_payload_over_the_limit_is_413(live: LiveServer) -> None:
    big = {"instances": [[1.0] * N_FEATURES] * 4000}  # ~100 KB > the fixture's 64 KiB
    status, payload = live.client.json("POST", "/predict", big)
    assert status == 413 and "over the limit of 65536 bytes" in payload["error"]


def test_payload_over_the_limit_without_content_length_is_413(live: LiveServer) -> None:
    import http.client

    conn = http.client.HTTPConnection(live.client.host, live.client.port, timeout=30)
    try:
        chunks = (b'{"instances": [' + b"[1, 2, 3, 4, 5]," * 1000 for _ in range(8))
        conn.request("POST", "/predict", body=chunks, encode_chunked=True,
                     headers={"transfer-encoding": "chunked"})
        resp = conn.getresponse()
        assert resp.status == 413 and "over the limit of 65536 bytes" in json.loads(resp.read())["error"]
    finally:
        conn.close()


def test_token_guards_all_but_health(xgb_model: Path) -> None:
    with LiveServer(xgb_model, token="s3cret") as server:
        c = server.client
        status, headers, body = c.request("POST", "/predict", {"instances": rows()})
        assert status == 401 and headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer <token>" in json.loads(body)["error"]
        assert c.request("GET", "/metrics", headers={"authorization": "Bearer wrong"})[0] == 401
        auth = {"authorization": "Bearer s3cret"}
        assert c.request("POST", "/predict", {"instances": rows()}, headers=auth)[0] == 200
        assert c.request("GET", "/healthz")[0] == 200 and c.request("GET", "/readyz")[0] == 200
