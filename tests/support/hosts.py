"""Hosts of the service as real processes, started with the Procfile's own commands.

Each process runs in a process group of its own, with the DISPATCHER_* settings in its
environment and its output in a log file. Whatever happens, `Hosts.stop_all` ends every
group it started: SIGTERM first, SIGKILL for what is left after a grace period.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dispatcher.config import PREFIX

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = ROOT / "Procfile"
# Variables of the calling environment that would change what the processes do.
UNINHERITED = ("PROMETHEUS_MULTIPROC_DIR", "PORT", "GUNICORN_CMD_ARGS", "FLASK_APP")


def procfile(text: str) -> dict[str, list[str]]:
    """Return a Procfile's processes: name to command words."""
    processes = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        assert sep and re.fullmatch(r"[a-z]+", name), f"not a process line: {line!r}"
        assert name not in processes, f"process {name} named twice"
        processes[name] = shlex.split(command)
    return processes


def processes() -> dict[str, list[str]]:
    """Return the processes of the repository's Procfile."""
    return procfile(PROCFILE.read_text(encoding="utf-8"))


def executable(name: str) -> str | None:
    """Return the path of a command installed beside this Python, or None."""
    path = Path(sys.executable).parent / name
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


class Hosts:
    """Processes of the service that a test started, stopped together at the end."""

    def __init__(self, settings: Mapping[str, Any], logs: Path):
        self.logs = logs
        self._env = {k: v for k, v in os.environ.items()
                     if not k.startswith(PREFIX) and k not in UNINHERITED}
        self._env.update({PREFIX + k: str(v) for k, v in settings.items()})
        self._running: dict[str, subprocess.Popen] = {}

    def _popen(self, name: str, words: list[str], settings: Mapping[str, Any],
               **kwargs: Any) -> subprocess.Popen:
        """Start a command in a new process group, from the repository's root."""
        path = executable(words[0])
        assert path, f"{words[0]} is not installed beside {sys.executable}"
        env = {**self._env, **{PREFIX + k: str(v) for k, v in settings.items()}}
        return subprocess.Popen([path, *words[1:]], cwd=ROOT, env=env, start_new_session=True,
                                stdin=subprocess.DEVNULL, **kwargs)

    def start(self, name: str, words: list[str], **settings: Any) -> subprocess.Popen:
        """Start a long-running process; its output goes to `<logs>/<name>.log`."""
        assert name not in self._running, f"{name} runs already"
        with open(self.logs / f"{name}.log", "ab") as out:
            process = self._popen(name, words, settings, stdout=out, stderr=subprocess.STDOUT)
        self._running[name] = process
        return process

    def run(self, name: str, words: list[str], timeout_s: float, **settings: Any) -> str:
        """Run a command to its end within the time; return its output, or fail with it."""
        process = self._popen(name, words, settings, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            output, _ = process.communicate()
            raise AssertionError(f"{name} did not finish in {timeout_s} s:\n{output}") from None
        assert process.returncode == 0, f"{name} failed ({process.returncode}):\n{output}"
        return output

    def kill(self, name: str) -> int:
        """Kill a process and its group with SIGKILL, as a host that dies; return its status."""
        process = self._running.pop(name)
        _signal_group(process, signal.SIGKILL)
        return process.wait(10)

    def log(self, name: str, chars: int = 3000) -> str:
        """Return the end of a process's log."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def report(self) -> str:
        """Return the end of every log, for a failure's message."""
        return "\n".join(f"--- {path.stem} ---\n{self.log(path.stem)}"
                         for path in sorted(self.logs.glob("*.log")))

    def stop_all(self, grace_s: float = 10.0) -> None:
        """Stop every process started here and its group: SIGTERM, then SIGKILL."""
        for process in self._running.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self._running.values():
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # whatever the group still holds
            process.wait(10)
        self._running.clear()


class Budget:
    """The time a test may take in all: each wait gets its own bound, cut to what is left."""

    def __init__(self, seconds: float):
        self._end = time.monotonic() + seconds

    def left(self, most: float) -> float:
        """Return the seconds a step may take: at most `most`, never past the budget's end."""
        return max(0.5, min(most, self._end - time.monotonic()))


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    """Send a signal to a process's whole group; a group already gone is fine."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
