"""A light open-loop HTTP/1.1 load generator for the portal bench (asyncio, raw sockets).

`requests` in client threads costs about as much CPU per request as a lean page of the app
itself, and on a 2-core machine the load generator shares the cores with gunicorn and
PostgreSQL: measured with it, the server looked slower than it is. This client writes
pre-built GET requests (each signed-in session's cookies in a fixed header) on one kept-alive
connection per session and reads the answer by its Content-Length, so it costs a fraction of
that. As a browser does, a request that meets a connection the server closed while it was
idle (gunicorn drops idle connections after 2 s) is sent again once on a new connection;
latency counts from the planned send time either way.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit


class Session:
    """One signed-in client: its cookies and its kept-alive connection. ``user_agent`` must be
    the one it signed in with, as a browser's: Flask-Login's session protection ties the
    session to address and agent, and marks a session seen with another agent as not fresh
    (a new session cookie on every answer to a client that keeps sending the old one)."""

    def __init__(self, host_header: str, cookies: dict[str, str], user_agent: str) -> None:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.head = (f"Host: {host_header}\r\nUser-Agent: {user_agent}\r\nCookie: {cookie}\r\n"
                     f"Accept: text/html\r\n\r\n").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _fetch(session: Session, address: tuple[str, int], path: str) -> int:
    request = f"GET {path} HTTP/1.1\r\n".encode() + session.head
    for attempt in (1, 2):
        fresh = session.writer is None
        if fresh:
            session.reader, session.writer = await asyncio.open_connection(*address)
        try:
            session.writer.write(request)
            head = await session.reader.readuntil(b"\r\n\r\n")
        except (ConnectionError, asyncio.IncompleteReadError):
            session.close()
            if fresh or attempt == 2:
                raise
            continue  # the server closed the idle connection: once more on a new one
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await session.reader.readexactly(length)
        if close:
            session.close()
        return status
    raise AssertionError("unreachable")


def open_loop(url: str, sessions: dict[str, list[Session]], mix: list[tuple[str, str, int]], *,
              rate: float, seconds: float):
    """Send ``rate`` requests/s on a fixed schedule for ``seconds`` (mix: name, path, weight;
    name ``dashboard`` uses subscriber sessions, the rest staff sessions). Returns what
    portal.open_loop returns: latencies and errors per name, seconds sending, seconds until
    the last answer, the number sent and the first errors."""
    return asyncio.run(_open_loop(url, sessions, mix, rate, seconds))


async def _open_loop(url, sessions, mix, rate, seconds):
    parts = urlsplit(url)
    address = (parts.hostname, parts.port)
    schedule = [name for name, _, weight in mix for _ in range(weight)]
    paths = {name: path for name, path, _ in mix}
    idle = {kind: asyncio.Queue() for kind in sessions}
    for kind, group in sessions.items():
        for session in group:
            idle[kind].put_nowait(session)
    latencies = {name: [] for name, _, _ in mix}
    errors = {name: 0 for name, _, _ in mix}
    samples: list[str] = []

    async def one(name: str, planned: float) -> None:
        kind = "subscriber" if name == "dashboard" else "staff"
        session = await idle[kind].get()
        try:
            status = await _fetch(session, address, paths[name])
            ok, reason = status == 200, f"{name}: HTTP {status}"
        except Exception as exc:  # noqa: BLE001 - counted as an error, the run goes on
            session.close()
            ok, reason = False, f"{name}: {type(exc).__name__} ({str(exc)[-80:]})"
        finally:
            idle[kind].put_nowait(session)
        latencies[name].append(time.perf_counter() - planned)
        if not ok:
            errors[name] += 1
            if len(samples) < 5:
                samples.append(reason)

    total = int(rate * seconds)
    tasks = []
    began = time.perf_counter()
    for n in range(total):
        planned = began + n / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(schedule[n % len(schedule)], planned)))
    sending = time.perf_counter() - began
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    for group in sessions.values():
        for session in group:
            session.close()
    return latencies, errors, sending, wall, total, samples
