from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubelab.errors import LoadTestError
from kubelab.load._request import build_request


def _head_and_body(payload: bytes) -> tuple[list[str], bytes]:
    head, _, body = payload.partition(b"\r\n\r\n")
    return head.decode().split("\r\n"), body


def test_get_is_encoded_once_with_host_and_query() -> None:
    req = build_request("http://127.0.0.1:8123/test?x=1", headers=["X-Trace: abc"])
    assert (req.host, req.port, req.method) == ("127.0.0.1", 8123, "GET")
    lines, body = _head_and_body(req.payload)
    assert lines[0] == "GET /test?x=1 HTTP/1.1"
    assert "Host: 127.0.0.1:8123" in lines and "X-Trace: abc" in lines and body == b""
    assert build_request("http://example.test").port == 80


def test_json_body(tmp_path: Path) -> None:
    f = tmp_path / "req.txt"
    f.write_text(json.dumps({"features": [1, 2, 3]}))
    lines, body = _head_and_body(build_request("http://h/p", method="post", body=str(f)).payload)
    assert lines[0] == "POST /p HTTP/1.1"
    assert "Content-Type: application/json" in lines and f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == {"features": [1, 2, 3]}


def test_binary_body_and_header_override(tmp_path: Path) -> None:
    f = tmp_path / "blob.bin"
    f.write_bytes(b"\x00\xff\x10")
    lines, body = _head_and_body(build_request("http://h/", method="PUT", body=str(f),
                                               headers=["Content-Type: image/png"]).payload)
    assert body == b"\x00\xff\x10"
    assert "Content-Type: image/png" in lines and "Content-Type: application/octet-stream" not in lines


def test_multipart_upload(tmp_path: Path) -> None:
    img = tmp_path / "cat.jpg"
    img.write_bytes(b"JPEGDATA")
    lines, body = _head_and_body(build_request("http://h/predict", method="POST", files=[f"file={img}"]).payload)
    ctype = next(line for line in lines if line.startswith("Content-Type:"))
    boundary = ctype.split("boundary=")[1]
    assert ctype.startswith("Content-Type: multipart/form-data; boundary=kubelab-")
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"--{boundary}--\r\n".encode())
    assert b'Content-Disposition: form-data; name="file"; filename="cat.jpg"\r\nContent-Type: image/jpeg\r\n\r\n' \
           b"JPEGDATA\r\n" in body


@pytest.mark.parametrize(("url", "kwargs", "message"), [
    ("127.0.0.1:8000/", {}, r"URL '127.0.0.1:8000/': not an http:// URL; hint: e.g. http://127.0.0.1:8000/predict"),
    ("ftp://h/", {}, r"not an http:// URL"),
    ("https://h/", {}, r"https is not supported; hint: load-test the plain http:// port"),
    ("http://h:99999/", {}, r"URL 'http://h:99999/': Port out of range"),
    ("http://:80/", {}, r"URL 'http://:80/': no host"),
    ("http://h/", {"method": "BREW"}, r"method 'BREW' is not one of GET, POST"),
    ("http://h/", {"headers": ["NoColon"]}, r"header 'NoColon' is not 'Name: value'"),
    ("http://h/", {"headers": ["Content-Length: 5"]}, r"header 'Content-Length' is set by kubelab itself"),
    ("http://h/", {"headers": ["X-A: 1\r\nX-B: 2"]}, r"header 'X-A: 1\\r\\nX-B: 2' has a line break; hint: one"),
    ("http://h/", {"method": "POST", "body": "/nonexistent/body.json"},
     r"body file /nonexistent/body.json: No such file or directory"),
    ("http://h/", {"method": "POST", "files": ["nofield"]}, r"file 'nofield' is not field=path; hint: e.g. --file"),
    ("http://h/", {"method": "POST", "files": ["f=/nonexistent/x.jpg"]},
     r"upload file /nonexistent/x.jpg: No such file or directory"),
])
def test_bad_requests(url: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(LoadTestError, match=message):
        build_request(url, **kwargs)  # type: ignore[arg-type]


def test_bad_json_body_and_body_with_get(tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text("{nope")
    with pytest.raises(LoadTestError) as info:
        build_request("http://h/", body=str(f))
    text = str(info.value)
    assert text.startswith("2 problems:")
    assert f"body file {f}: not valid JSON: Expecting property name" in text
    assert "a body needs a method that takes one; hint: add --method POST (not GET)" in text


def test_body_and_file_together(tmp_path: Path) -> None:
    f = tmp_path / "b.json"
    f.write_text("{}")
    with pytest.raises(LoadTestError, match="give either --body or --file, not both"):
        build_request("http://h/", method="POST", body=str(f), files=[f"x={f}"])
