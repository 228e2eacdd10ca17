"""An open-loop HTTP load generator: requests leave on a fixed schedule, whatever the server does.

wrk is closed-loop (a connection sends its next request only after the last answer), so a slow server gets
fewer requests and its latency looks better than users would see it (coordinated omission). Here request k
is due at ``start + k / rate`` and is issued then (or as soon as this generator gets there: its own lateness is
reported apart, ``late_p99_ms``, so a slow generator does not pass for a slow server); latency runs from the
moment it is issued, so time spent waiting for a free connection counts. Run it pinned to a core of its own:

    taskset -c 1 python bench/_openloop.py --url http://127.0.0.1:8080/predict --rate 1000 --seconds 10 \
        --body '{"instances": [[...]]}'

Prints one JSON object: sent, ok, errors, achieved rate, p50/p90/p99/max in ms, the generator's lateness.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from time import perf_counter
from urllib.parse import urlsplit


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def run(url: str, body: bytes, rate: float, seconds: float, connections: int) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    late: list[float] = []
    errors = 0
    total = int(rate * seconds)
    start = perf_counter() + 0.05

    async def fire(issued: float) -> None:
        nonlocal errors
        conn = await pool.get()
        try:
            status = await _one(*conn, request)
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
            conn = await asyncio.open_connection(host, port)
        else:
            if status == 200:
                latencies.append(perf_counter() - issued)
            else:
                errors += 1
        pool.put_nowait(conn)

    tasks = []
    for k in range(total):
        due = start + k / rate
        delay = due - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = perf_counter()
        late.append(now - due)
        tasks.append(asyncio.ensure_future(fire(now)))
    await asyncio.gather(*tasks)
    elapsed = perf_counter() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    latencies.sort()
    late.sort()

    def pct(values: list[float], q: float) -> float:
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 3) if values else -1

    return {"sent": total, "ok": len(latencies), "errors": errors, "rate": round(total / elapsed, 1),
            "p50_ms": pct(latencies, 0.50), "p90_ms": pct(latencies, 0.90), "p99_ms": pct(latencies, 0.99),
            "max_ms": pct(latencies, 1.0), "late_p99_ms": pct(late, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    runner = asyncio.run
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        pass
    t0 = time.perf_counter()
    result = runner(run(args.url, args.body.encode(), args.rate, args.seconds, args.connections))
    result["wall_s"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
