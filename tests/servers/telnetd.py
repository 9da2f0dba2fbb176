"""Session fixture ``telnetd``: telnetlib3's own server on 127.0.0.1 with a login-and-shell
handler that imitates a small network device (its own asyncio loop in a thread).

Login ``admin`` / ``device-pw``; prompt ``device# ``. Commands (arguments split like a shell,
so quoted words stay one argument):

* ``user add NAME PLAN`` / ``user set NAME STATUS`` / ``user plan NAME PLAN`` / ``user del NAME``
* ``show user NAME`` and ``echo-rc`` (prints ``RC=<0|1>``: status of the last command)
* ``exit``

Every received command line is appended to ``commands``; the device state is ``users``.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
from dataclasses import dataclass, field

import pytest

from ._proc import free_port

PROMPT = "device# "


@dataclass
class Telnetd:
    host: str
    port: int
    username: str = "admin"
    password: str = "device-pw"
    prompt_regex: str = r"device# $"
    commands: list = field(default_factory=list)
    users: dict = field(default_factory=dict)
    logins: list = field(default_factory=list)

    def clear(self) -> None:
        self.commands.clear()
        self.users.clear()
        self.logins.clear()


async def _readline(reader) -> str | None:
    chars = []
    while True:
        ch = await reader.read(1)
        if not ch:
            return None
        if ch in ("\r", "\n"):
            if chars or ch == "\r":
                return "".join(chars)
            continue
        if ch == "\x00":
            continue
        chars.append(ch)


def _device(state: Telnetd, line: str) -> tuple[int, str]:
    try:
        words = shlex.split(line)
    except ValueError:
        return 1, "% Parse error"
    match words:
        case ["user", "add", name, plan]:
            state.users[name] = {"plan": plan, "status": "active"}
            return 0, f"user {name} added"
        case ["user", "set", name, status] if name in state.users:
            state.users[name]["status"] = status
            return 0, "ok"
        case ["user", "plan", name, plan] if name in state.users:
            state.users[name]["plan"] = plan
            return 0, "ok"
        case ["user", "del", name]:
            state.users.pop(name, None)
            return 0, "ok"
        case ["show", "user", name] if name in state.users:
            return 0, f"{name} {state.users[name]['status']} {state.users[name]['plan']}"
        case _:
            return 1, "% Invalid command"


def make_shell(state: Telnetd):
    async def shell(reader, writer):
        try:
            writer.write("\r\nWelcome to the test device\r\nlogin: ")
            user = await _readline(reader)
            writer.write("Password: ")
            password = await _readline(reader)
            if user != state.username or password != state.password:
                writer.write("\r\nLogin incorrect\r\n")
                state.logins.append((user, False))
                return
            state.logins.append((user, True))
            writer.write("\r\n" + PROMPT)
            rc = 0
            while True:
                line = await _readline(reader)
                if line is None:
                    return
                line = line.strip()
                if not line:
                    writer.write(PROMPT)
                    continue
                state.commands.append(line)
                if line == "exit":
                    writer.write("bye\r\n")
                    return
                if line == "echo-rc":
                    writer.write(f"RC={rc}\r\n{PROMPT}")
                    continue
                rc, out = _device(state, line)
                writer.write(out + "\r\n" + PROMPT)
        finally:
            writer.close()

    return shell


@pytest.fixture(scope="session")
def telnetd():
    import telnetlib3

    state = Telnetd("127.0.0.1", free_port())
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict = {}

    async def start():
        holder["server"] = await telnetlib3.create_server(
            host=state.host, port=state.port, shell=make_shell(state), connect_maxwait=0.2,
            timeout=30)
        ready.set()

    def run():
        asyncio.set_event_loop(loop)
        loop.create_task(start())
        loop.run_forever()

    thread = threading.Thread(target=run, name="telnetd", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("telnet server did not start")
    try:
        yield state
    finally:
        async def shutdown():
            server = holder["server"]
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        # Finish the loop's async generators in its own thread: the main thread may hold
        # another running loop (Playwright's), where run_until_complete is refused.
        asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
