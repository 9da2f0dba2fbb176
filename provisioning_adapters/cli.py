"""Run a local command-line tool with templated arguments.

Each template line becomes an argv list (values quoted while rendering, then split with
``shlex.split``), executed without a shell, with a timeout and a minimal environment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

from .base import Adapter, AdapterError, Field
from .commands import CommandAdapterMixin, CommandTemplates, command_fields


class CliAdapter(CommandAdapterMixin, Adapter):
    name = "cli"
    label = "Local command"
    settings_fields = (
        Field("timeout", "Timeout per command (seconds)", "int", default=30),
        Field("working_directory", "Working directory", "text", default=""),
        *command_fields({"check": "true"}),
    )

    def validate(self) -> None:
        if self.settings["timeout"] <= 0:
            raise AdapterError("setting 'timeout' must be positive")
        wd = self.settings["working_directory"]
        if wd and not os.path.isdir(wd):
            raise AdapterError("setting 'working_directory' is not a directory")
        self.templates = CommandTemplates(self.settings)

    @contextlib.contextmanager
    def _session(self):
        yield None

    def run_argv(self, argv: list[str]) -> tuple[int, str, str]:
        if not argv:
            raise AdapterError("empty command")
        program = argv[0]
        if os.sep not in program and shutil.which(program) is None:
            raise AdapterError(f"program {program!r} not found")
        try:
            proc = subprocess.run(  # noqa: S603 - argv list, no shell
                argv,
                shell=False,
                capture_output=True,
                text=True,
                timeout=self.settings["timeout"],
                cwd=self.settings["working_directory"] or None,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise AdapterError(f"command {program!r} timed out", transient=True) from None
        except OSError as exc:
            raise AdapterError(f"command {program!r} could not run: {exc.strerror}") from None
        return proc.returncode, proc.stdout.strip(), proc.stderr.strip()

    def _run_line(self, session, line: str) -> tuple[int, str, str]:
        return self.run_argv(self.templates.argv(line))
