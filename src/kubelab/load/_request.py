"""The one request a load test sends, over and over: checked once, encoded once to HTTP/1.1 bytes."""

from __future__ import annotations

import json
import mimetypes
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kubelab.errors import LoadTestError

__all__ = ["METHODS", "Request", "build_request"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "host"}


@dataclass(frozen=True)
class Request:
    """A checked request: where to connect and the exact bytes to send (keep-alive)."""

    url: str
    host: str
    port: int
    method: str
    payload: bytes


def build_request(url: str, *, method: str = "GET", headers: Sequence[str] = (), body: str | None = None,
                  files: Sequence[str] = ()) -> Request:
    """Check the URL, headers and body sources and encode the request once.

    Args:
        url: ``http://host[:port]/path[?query]`` (https is not supported: measure the server, not TLS).
        method: An HTTP method; a body needs one that takes it (POST, PUT, PATCH, DELETE).
        headers: ``"Name: value"`` strings, as ``curl -H``.
        body: A file whose bytes are the body: JSON (``.json`` or text that parses as JSON) is sent as
            ``application/json``, anything else as ``application/octet-stream`` (override with a header).
        files: ``"field=path"``: a ``multipart/form-data`` upload of each file under its field name.

    Raises:
        LoadTestError: everything wrong with the arguments, one line each.
    """
    problems: list[str] = []
    parts = urlsplit(url)
    host, port = "", 0
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"URL {url!r}: not an http:// URL; hint: e.g. http://127.0.0.1:8000/predict")
    elif parts.scheme == "https":
        problems.append(f"URL {url!r}: https is not supported; hint: load-test the plain http:// port behind "
                        "the TLS proxy")
    else:
        try:
            host, port = parts.hostname or "", parts.port or 80
        except ValueError as exc:
            problems.append(f"URL {url!r}: {exc}")
        if not host:
            problems.append(f"URL {url!r}: no host")
    verb = method.upper()
    if verb not in METHODS:
        problems.append(f"method {method!r} is not one of {', '.join(METHODS)}")
    extra: list[tuple[str, str]] = []
    for header in headers:
        name, colon, value = header.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            problems.append(f"header {header!r} is not 'Name: value'")
        elif "\r" in header or "\n" in header:
            problems.append(f"header {header!r} has a line break; hint: one header per --header")
        elif name.strip().lower() in _HOP_BY_HOP:
            problems.append(f"header {name.strip()!r} is set by kubelab itself; hint: leave it out")
        else:
            extra.append((name.strip(), value.strip()))
    content, ctype = _body(body, files, problems)
    if content is not None and verb in ("GET", "OPTIONS"):
        problems.append(f"a body needs a method that takes one; hint: add --method POST (not {verb})")
    if problems:
        raise LoadTestError("\n".join(problems) if len(problems) == 1 else
                            f"{len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    names = {n.lower() for n, _ in extra}
    lines = [f"{verb} {path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{n}: {v}" for n, v in extra]
    if "user-agent" not in names:
        lines.append("User-Agent: kubelab-loadtest")
    if content is not None:
        if ctype and "content-type" not in names:
            lines.append(f"Content-Type: {ctype}")
        lines.append(f"Content-Length: {len(content)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return Request(url, host, port, verb, head + (content or b""))


def _read(path: str, what: str, problems: list[str]) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        problems.append(f"{what} {path}: {exc.strerror or exc}")
        return None


def _body(body: str | None, files: Sequence[str], problems: list[str]) -> tuple[bytes | None, str | None]:
    if body is not None and files:
        problems.append("give either --body or --file, not both")
        return None, None
    if body is not None:
        data = _read(body, "body file", problems)
        if data is None:
            return None, None
        if body.endswith(".json"):
            try:
                json.loads(data)
            except ValueError as exc:
                problems.append(f"body file {body}: not valid JSON: {exc}")
            return data, "application/json"
        try:
            json.loads(data)
        except ValueError:
            return data, "application/octet-stream"
        return data, "application/json"
    if not files:
        return None, None
    boundary = "kubelab-" + secrets.token_hex(12)
    chunks: list[bytes] = []
    for item in files:
        field, eq, path = item.partition("=")
        if not eq or not field or not path:
            problems.append(f"file {item!r} is not field=path; hint: e.g. --file file=cat.jpg")
            continue
        data = _read(path, "upload file", problems)
        if data is None:
            continue
        name = Path(path).name
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                      f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
