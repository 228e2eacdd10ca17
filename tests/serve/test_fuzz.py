"""Property-based fuzzing of the endpoints: whatever a client sends, the answer is never a 5xx (503 aside)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serve.conftest import N_FEATURES, NAMES, LiveServer

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.sampled_from([*NAMES, "x", "instances", "inputs"]), inner,
                                                 max_size=6)), max_leaves=30)
rows = st.lists(st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-1000, 1000)),
                         min_size=N_FEATURES, max_size=N_FEATURES), min_size=1, max_size=5)
predict_bodies = st.one_of(
    json_values.map(json.dumps),
    st.builds(lambda v: json.dumps({"instances": v}), json_values),
    rows.map(lambda r: json.dumps({"instances": r})),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
)
v2_input = st.fixed_dictionaries({"name": st.one_of(st.sampled_from(NAMES), st.text(max_size=3)),
                                  "shape": st.one_of(st.lists(st.integers(-1, 6), max_size=3), json_values),
                                  "datatype": st.sampled_from(["FP32", "FP64", "INT64", "BOOL", "BYTES", "X"]),
                                  "data": json_values})
per_feature = st.permutations(NAMES).flatmap(lambda names: st.tuples(*(st.fixed_dictionaries({
    "name": st.just(n), "shape": st.lists(st.integers(0, 3), min_size=1, max_size=2), "datatype": st.just("FP32"),
    "data": st.lists(st.floats(-10, 10), max_size=4)}) for n in names)).map(lambda t: {"inputs": list(t)}))
v2_bodies = st.one_of(json_values, per_feature,
                      st.fixed_dictionaries({"inputs": st.lists(v2_input, max_size=N_FEATURES + 1)},
                                            optional={"id": json_values}))


def _check(status: int, body: bytes) -> None:
    assert status < 500 or status == 503, body
    payload: Any = json.loads(body)
    if status >= 400:
        assert isinstance(payload["error"], str) and payload["error"]


@SETTINGS
@given(body=predict_bodies)
def test_predict_never_fails_on_the_server_side(live: LiveServer, body: str) -> None:
    status, _, data = live.client.request("POST", "/predict", body.encode("utf-8", "surrogatepass"))
    _check(status, data)


@SETTINGS
@given(body=v2_bodies)
def test_v2_infer_never_fails_on_the_server_side(live: LiveServer, body: Any) -> None:
    status, _, data = live.client.request("POST", "/v2/models/reg/infer", json.dumps(body))
    _check(status, data)


@SETTINGS
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
       path=st.lists(st.sampled_from(["v2", "models", "reg", "infer", "ready", "predict", "x", "", "%2F"]),
                     max_size=5).map(lambda parts: "/" + "/".join(parts)))
def test_any_path_and_method(live: LiveServer, method: str, path: str) -> None:
    status, _, data = live.client.request(method, path, "{}")
    assert status < 500 or status == 503
    if path != "/" and status != 200:
        assert json.loads(data)["error"]
