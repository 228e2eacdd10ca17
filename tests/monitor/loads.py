"""Known loads for the monitor's tests, run as a script: they report their own truth.

    python loads.py burn DUTY LOG        spin DUTY of each 20 ms; append "wall cpu" lines to LOG every 50 ms
    python loads.py hog MIB              print "ready", wait for a line on stdin, allocate and touch MIB MiB,
                                         print "done", sleep
    python loads.py workers N MIB        fork N children that each allocate MIB MiB and sleep; print "ready"
    python loads.py spawnpool N          start N workers with multiprocessing's spawn context (which also starts
                                         its resource tracker), print "ready"
    python loads.py server N             listen on a free port, fork N workers that inherit the socket, print
                                         the port
"""

from __future__ import annotations

import os
import sys
import time


def burn(duty: float, log: str) -> None:
    with open(log, "a", buffering=1) as out:
        next_log = 0.0
        while True:
            start = time.perf_counter()
            while time.perf_counter() - start < 0.02 * duty:
                pass
            if duty < 1:
                time.sleep(0.02 * (1 - duty))
            now = time.time()
            if now >= next_log:
                out.write(f"{now} {time.process_time()}\n")
                next_log = now + 0.05


def touch(mib: int) -> bytearray:
    block = bytearray(mib << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block


def hog(mib: int) -> None:
    print("ready", flush=True)
    sys.stdin.readline()
    kept = touch(mib)
    print("done", flush=True)
    time.sleep(600)
    del kept


def workers(n: int, mib: int) -> None:
    read_end, write_end = os.pipe()
    for _ in range(n):
        if os.fork() == 0:
            kept = touch(mib)
            os.write(write_end, b"x")
            time.sleep(600)
            del kept
            os._exit(0)
    for _ in range(n):
        os.read(read_end, 1)
    print("ready", flush=True)
    time.sleep(600)


def _wait(event: object) -> None:
    event.wait()  # type: ignore[attr-defined]


def spawnpool(n: int) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    event = ctx.Event()
    for _ in range(n):
        ctx.Process(target=_wait, args=(event,), daemon=True).start()
    time.sleep(1.0)
    print("ready", flush=True)
    time.sleep(600)


def server(n: int) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    for _ in range(n):
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
    print(sock.getsockname()[1], flush=True)
    time.sleep(600)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "burn":
        burn(float(args[0]), args[1])
    elif command == "hog":
        hog(int(args[0]))
    elif command == "spawnpool":
        spawnpool(int(args[0]))
    elif command == "server":
        server(int(args[0]))
    else:
        workers(int(args[0]), int(args[1]))
