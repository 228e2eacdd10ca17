"""One generator process: drives a profile's open or closed loop on one event loop and records intervals.

Open loop: request ``i`` has an intended send time on a fixed schedule (spacing ``1 / rate``, the rate read
from the profile as the schedule advances). It is sent at that time on an idle keep-alive connection, or on
a new one, or (when ``max_connections`` are all busy) as soon as one frees. Its latency is measured from the
*intended* time, so a server that stalls shows every request it delayed, not only the few that were in
flight: no coordinated omission. The schedule is pumped by a timer and after every response, so it keeps up
between timer ticks.

Closed loop: each user owns a connection, sends, waits for the response, sleeps uniform ``[0, delay]`` and
sends again (siege's model); latency is measured from the actual send. When the profile changes the number
of users, users are started or retired after their request in flight; when it changes the delay, sleeping
users draw a fresh sleep (as a new siege run would).
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from kubelab.load._client import Connection, error_kind
from kubelab.load._profiles import Profile, Target
from kubelab.load._request import Request
from kubelab.load._stats import Interval

__all__ = ["Generator", "Share"]

_now = time.monotonic  # CLOCK_MONOTONIC: one clock for every process on the host
_CONTROL_S = 0.05
_TIMER_S = 0.001
_EARLY_S = 0.0005  # open loop: a request may leave up to 0.5 ms before it is due (timers tick in ms)
_CUT = "cut"  # a request dropped, not counted: in flight at the end of a closed loop, or at Ctrl-C
_MIN_SPARE, _SPARE_S = 2, 0.01  # open loop: spare connections, at least 2 or 10 ms worth of requests


@dataclass(frozen=True)
class Share:
    """This process's part of a load split across ``parts`` generator processes."""

    part: int = 0
    parts: int = 1

    def of(self, n: int) -> int:
        """This process's share of ``n`` users or requests."""
        return n // self.parts + (1 if self.part < n % self.parts else 0)


def _busy_clock() -> float:
    """Seconds this thread has run on a CPU or waited for one (Linux schedstat); else its CPU time.

    Waiting counts: a generator starved by other processes is as much the bottleneck as a saturated one.
    """
    try:
        with open("/proc/thread-self/schedstat") as f:
            run_ns, wait_ns = f.read().split()[:2]
        return (int(run_ns) + int(wait_ns)) / 1e9
    except (OSError, ValueError):
        return time.thread_time()


class _User:
    __slots__ = ("conn", "stopping", "timer")

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.stopping = False
        self.timer: asyncio.TimerHandle | None = None


class Generator:
    """One process's share of a load test.

    Args:
        request: What to send.
        profile: The load over time (open loop for rates, closed loop for users).
        share: This process's part of the load.
        start_at: When the schedule starts (``time.monotonic``), the same for every process; default now.
        max_requests: Stop after sending this many requests in total (this process sends its share).
        timeout: Seconds after which a request without a response fails as ``timeout``.
        interval: Length of a statistics interval, seconds.
        max_connections: Open loop: at most this many connections; further requests queue (their wait counts).
        on_interval: Called with each finished interval (for live progress or streaming to a parent).
        seed: Seeds the closed loop's random sleeps.
    """

    def __init__(self, request: Request, profile: Profile, *, share: Share = Share(), start_at: float | None = None,
                 max_requests: int | None = None, timeout: float = 30.0, interval: float = 1.0,
                 max_connections: int = 10_000, on_interval: Callable[[Interval], None] | None = None,
                 seed: int | None = None) -> None:
        self.request, self.profile, self.share = request, profile, share
        self.start_at, self.timeout, self.interval = start_at, timeout, interval
        self.budget = share.of(max_requests) if max_requests is not None else None
        self.max_connections, self.on_interval = max_connections, on_interval
        self.intervals: list[Interval] = []
        self.elapsed = 0.0
        self._rng = random.Random(seed)
        self._payload = request.payload
        self._conns: set[Connection] = set()
        self._idle: list[Connection] = []
        self._pending: deque[float] = deque()
        self._opening = 0
        self._in_flight = 0
        self._users: list[_User] = []
        self._delay = 0.0
        self._dispatching = True
        self._next_rel = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._current: Interval | None = None
        self._index = -1
        self._cpu_mark = 0.0
        self._t0 = 0.0
        self._last_done = 0.0
        self._stopped_at = 0.0
        self._end = 0.0
        self._seg_start, self._seg_rate, self._seg_k = 0.0, -1.0, 0

    # -- running -------------------------------------------------------------------------------------------
    def run(self, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None) -> list[Interval]:
        """Run to the end of the profile (or the request budget) and return the intervals, in time order."""
        if loop_factory is None:
            try:
                import uvloop

                loop_factory = uvloop.new_event_loop
            except ImportError:  # pragma: no cover - uvloop is in the loadtest extra where it installs
                loop_factory = None
        import gc

        # Objects alive now (modules, the request, the schedule) are out of the collector's reach while the
        # load runs: a full collection would walk them all, and its pause would make requests leave late.
        gc.collect()
        gc.freeze()
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(self._main())
        finally:
            gc.unfreeze()
        return self.intervals

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._done = loop.create_future()
        self._address = await self._resolve()
        warm = Interval(0.0, 1.0)  # import and exercise the histogram code now, not in the middle of the run
        warm.record(1, 200, 0)
        warm.latency_ms()
        start = self.start_at if self.start_at is not None else _now()
        if start > _now():
            await asyncio.sleep(start - _now())
        self._t0 = self._last_done = start
        self._end = start + self.profile.duration
        self._cpu_mark = _busy_clock()
        self._closed = self.profile.closed
        if not self._closed:
            first = self.profile.tick(0.0)
            rate = (first.rate or 0.0) if first else 0.0
            self._next_rel = self.share.part / rate if rate > 0 else 0.0
        self._control()
        try:
            await self._done
        finally:
            for conn in list(self._conns):
                conn.abort(_CUT)
            self._flush(final=True)

    async def _resolve(self) -> tuple[str, int]:
        """The first address of the host that accepts a connection, so that ``localhost`` resolving to ::1
        first (with the server on 127.0.0.1 only) costs one refused connection, not one per request."""
        host, port = self.request.host, self.request.port
        try:
            infos = await self._loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return host, port  # every request will fail and say why
        for *_, address in infos:
            ip, ip_port = str(address[0]), int(address[1])
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(ip, ip_port), self.timeout)
            except (OSError, TimeoutError):
                continue
            writer.close()
            return ip, ip_port
        return host, port

    def _control(self) -> None:
        """Every 50 ms: follow the profile, fail requests past their timeout, close finished intervals."""
        now = _now()
        self._interval(now)
        target = self.profile.tick(now - self._t0) if self._dispatching else None
        if target is None:
            self._stop(min(now, self._end))
            if self._closed and now >= self._end:  # time is up (a spent --requests budget waits instead)
                for conn in [c for c in self._conns if c.busy]:
                    conn.abort(_CUT)
        elif self._closed:
            self._steer_users(target, now)
        else:
            self._pump()
        self._sweep(now)
        if not self._dispatching and not self._in_flight and not self._pending and not self._done.done():
            self.elapsed = max(self._last_done, self._stopped_at) - self._t0
            self._done.set_result(None)
            return
        self._loop.call_later(_CONTROL_S, self._control)

    def _sweep(self, now: float) -> None:
        while self._pending and now - self._pending[0] > self.timeout:
            self._pending.popleft()
            self._interval(now).fail("timeout")
        for conn in [c for c in self._conns if c.busy and now - c.started > self.timeout]:
            conn.abort("timeout")

    # -- statistics ----------------------------------------------------------------------------------------
    def _interval(self, now: float) -> Interval:
        index = int((now - self._t0) // self.interval)
        current = self._current
        if current is not None and index <= self._index:
            return current
        if current is not None:
            self._flush()
        for missing in range(self._index + 1, index):  # idle intervals are kept, with zeros (also those before
            self._current = self._new_interval(missing)  # the first event of a process that started late)
            self._flush()
        self._index = index
        self._current = self._new_interval(index)
        return self._current

    def _new_interval(self, index: int) -> Interval:
        interval = Interval(round(index * self.interval, 9), self.interval)
        target = self.profile.tick(interval.start + interval.length / 2) if self._dispatching else None
        if target is not None and target.closed:
            interval.users = self.share.of(target.users or 0)
        elif target is not None:
            interval.target_rate = (target.rate or 0.0) / self.share.parts
        return interval

    def _flush(self, final: bool = False) -> None:
        interval, self._current = self._current, None
        if interval is None:
            return
        interval.histogram  # noqa: B018 - folds the interval's raw latencies into its histogram now
        cpu = _busy_clock()
        interval.generator_busy_s, self._cpu_mark = cpu - self._cpu_mark, cpu
        if final:
            interval.length = max(1e-6, min(interval.length, _now() - self._t0 - interval.start))
            if not (interval.transactions or interval.failed or interval.sent) and self.intervals:
                return  # the empty tail after the last response
        self.intervals.append(interval)
        if self.on_interval is not None:
            self.on_interval(interval)

    def _stop(self, when: float) -> None:
        if self._dispatching:
            self._dispatching = False
            self._stopped_at = when

    def _take_budget(self) -> bool:
        if self.budget is None:
            return True
        if self.budget <= 0:
            self._stop(_now())
            return False
        self.budget -= 1
        return True

    def _send(self, conn: Connection, due: float) -> None:
        now = _now()
        self._in_flight += 1
        self._interval(now).sent += 1
        conn.send(self._payload, min(due, now))  # late: from when it was due; early: from when it left

    def _on_done(self, conn: Connection, status: int, size: int, error: str | None) -> None:
        now = _now()
        self._in_flight -= 1
        if error == _CUT or (self._closed and now >= self._end):
            self._cut(conn)  # siege's rule: a closed loop's requests in flight at the end (or Ctrl-C) do not count
            return
        self._last_done = now
        interval = self._interval(now)
        if error is None:
            interval.record(int((now - conn.started) * 1e6), status, size)
        else:
            interval.fail(error)
        if not conn.reusable:
            self._conns.discard(conn)
            if conn.transport is not None:
                conn.transport.close()
        if self._closed:
            self._user_done(conn, error is not None)
            return
        if conn.reusable:
            if self._pending:
                self._send(conn, self._pending.popleft())
            else:
                self._idle.append(conn)
        elif len(self._pending) > self._opening:
            self._open(None)
        self._pump()

    # -- connections ---------------------------------------------------------------------------------------
    def _open(self, owner: _User | None) -> None:
        self._opening += 1
        self._loop.create_task(self._connect(owner))

    async def _connect(self, owner: _User | None) -> None:
        host, port = self._address
        try:
            _, conn = await asyncio.wait_for(
                self._loop.create_connection(lambda: Connection(self._on_done, owner), host, port), self.timeout)
        except (OSError, TimeoutError) as exc:
            self._opening -= 1
            self._connect_failed(owner, error_kind(exc))
            return
        self._opening -= 1
        self._conns.add(conn)
        if owner is not None:
            owner.conn = conn
            self._user_go(owner)
        elif self._pending:
            self._send(conn, self._pending.popleft())
        else:
            self._idle.append(conn)

    def _connect_failed(self, owner: _User | None, kind: str) -> None:
        now = _now()
        if owner is not None:
            self._interval(now).fail(kind)
            self._user_sleep(owner, now, minimum=0.01)
        elif self._pending:
            self._pending.popleft()
            self._interval(now).fail(kind)

    # -- open loop -----------------------------------------------------------------------------------------
    def _pump(self) -> None:
        """Send every request whose intended time has come, then set a timer for the next one."""
        if not self._dispatching or self._closed:
            return
        now = _now()
        profile, t0, parts = self.profile, self._t0, self.share.parts
        while t0 + self._next_rel <= now + _EARLY_S:
            rel = self._next_rel
            target = profile.tick(rel)
            if target is None:
                self._stop(min(now, self._end))
                return
            rate = (target.rate or 0.0) / parts
            if rate != self._seg_rate:  # a new segment of the schedule: count from its start, no drift
                self._seg_start, self._seg_rate, self._seg_k = rel, rate, 0
            self._seg_k += 1
            if rate <= 0:
                self._next_rel = self._seg_start + self._seg_k * _CONTROL_S
                continue
            self._next_rel = self._seg_start + self._seg_k / rate
            if not self._take_budget():
                return
            self._dispatch(t0 + rel, now)
        if self._timer is None:
            # never less than 1 ms: uvloop's timers have millisecond resolution and a shorter delay fires on
            # the next loop iteration, a busy spin that would steal the CPU from the server under test; sends
            # due in between also go out from the response callbacks, which call _pump
            self._timer = self._loop.call_later(max(t0 + self._next_rel - now - _EARLY_S, _TIMER_S), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._pump()

    def _dispatch(self, intended: float, now: float) -> None:
        interval = self._interval(now)
        interval.scheduled += 1
        lag_us = int((now - intended) * 1e6)
        if lag_us > 1000:
            interval.lagged += 1
            interval.max_lag_us = max(interval.max_lag_us, lag_us)
        sent = False
        while self._idle and not sent:
            conn = self._idle.pop()
            if conn.reusable and conn.transport is not None:
                self._send(conn, intended)
                sent = True
            else:
                self._conns.discard(conn)
        if not sent:
            self._pending.append(intended)
        # keep a few spare connections open ahead of need, so a burst or a stall does not wait for connects
        spare = max(_MIN_SPARE, int(self._seg_rate * _SPARE_S))
        while (len(self._pending) + spare > self._opening + len(self._idle)
               and len(self._conns) + self._opening < self.max_connections):
            self._open(None)

    # -- closed loop ---------------------------------------------------------------------------------------
    def _steer_users(self, target: Target, now: float) -> None:
        wanted = self.share.of(target.users or 0)
        if target.delay != self._delay:
            self._delay = target.delay
            for user in self._users:
                if user.timer is not None:
                    user.timer.cancel()
                    self._user_sleep(user, now)
        active = [u for u in self._users if not u.stopping]
        for user in active[wanted:]:
            user.stopping = True
            if user.timer is not None:
                user.timer.cancel()
                self._retire(user)
        for _ in range(wanted - len(active)):
            user = _User()
            self._users.append(user)
            self._user_sleep(user, now)

    def _user_sleep(self, user: _User, now: float, minimum: float = 0.0) -> None:
        pause = max(minimum, self._rng.uniform(0.0, self._delay) if self._delay > 0 else 0.0)
        user.timer = self._loop.call_later(pause, self._user_go, user)

    def _user_go(self, user: _User) -> None:
        user.timer = None
        if user.stopping or not self._dispatching:
            self._retire(user)
            return
        conn = user.conn
        if conn is None or not conn.reusable or conn.transport is None:
            user.conn = None
            self._open(user)
            return
        if self._take_budget():
            self._send(conn, _now())
        else:
            self._retire(user)

    def _user_done(self, conn: Connection, failed: bool) -> None:
        user = conn.owner
        assert isinstance(user, _User)
        if not conn.reusable:
            user.conn = None
        if user.stopping or not self._dispatching:
            self._retire(user)
        elif self._delay > 0 or failed:
            self._user_sleep(user, _now(), minimum=0.01 if failed else 0.0)
        else:
            self._user_go(user)

    def _cut(self, conn: Connection) -> None:
        self._conns.discard(conn)
        if conn.transport is not None:
            conn.transport.close()
        if isinstance(conn.owner, _User):
            conn.owner.conn = None
            self._retire(conn.owner)

    def _retire(self, user: _User) -> None:
        if user in self._users:
            self._users.remove(user)
        if user.conn is not None:
            self._conns.discard(user.conn)
            if user.conn.transport is not None:
                user.conn.transport.close()
            user.conn = None
