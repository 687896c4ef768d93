"""What the benchmarks share: sizes and quick mode, percentiles, the results file, the app's
settings, and a gunicorn serving the app on loopback.

Every figure a benchmark wants in the final table goes through `record`, which appends one
JSON line to the file named by BENCH_RESULTS (when set); `bench/report.py` prints them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def quick() -> bool:
    """Tell whether the benchmarks run in quick mode (BENCH_QUICK=1): small sizes, short runs."""
    return os.environ.get("BENCH_QUICK", "").strip() not in ("", "0")


def sizes(argv: Sequence[str], env: str, full: Sequence[int], short: Sequence[int]) -> list[int]:
    """Return the sizes to run: from the first argument, else the variable, else the defaults.

    Sizes are written "10000,100000" or "10k,100k,1M".
    """
    raw = argv[1] if len(argv) > 1 else os.environ.get(env, "")
    if not raw.strip():
        return list(short if quick() else full)
    return [_count(part) for part in raw.split(",") if part.strip()]


def _count(text: str) -> int:
    """Read a count such as "100000", "100k" or "1M"."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def label(n: int) -> str:
    """Write a count as people say it: 10k, 100k, 1M."""
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000 and n % 100 == 0:
        return f"{n / 1_000:g}k"
    return str(n)


def p50_p99(seconds: Sequence[float]) -> tuple[float, float]:
    """Return the median and 99th percentile of timings, in milliseconds."""
    if not seconds:
        return float("nan"), float("nan")
    ms = np.asarray(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def record(bench: str, setup: str, metric: str, value: float, unit: str,
           target: str = "", met: bool | None = None) -> None:
    """Append one figure to the results file (BENCH_RESULTS), for the summary table."""
    path = os.environ.get("BENCH_RESULTS")
    if not path:
        return
    row = {"bench": bench, "setup": setup, "metric": metric, "value": value, "unit": unit,
           "target": target, "met": met}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")


def app_settings(database_url: str, queue_url: str, **extra) -> dict:
    """Return the fixed settings the benchmarks serve with: the outbox, quiet logs."""
    return {"DATABASE_URL": database_url, "QUEUE_URL": queue_url,
            "QUEUE_NAME": f"bench-{os.getpid()}", "SMS_BACKEND": "outbox",
            "LOG_LEVEL": "WARNING",
            # Ready means loaded: an index that only catches up at its first search (as
            # before a loader at start-up) would otherwise never count as ready.
            "READY_MAX_INDEX_LAG": 10**12, **extra}


def environment(settings: dict) -> dict[str, str]:
    """Return this process's environment with the settings as DISPATCHER_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCHER_")}
    env.update({f"DISPATCHER_{k}": str(v) for k, v in settings.items()})
    return env


def gunicorn_missing() -> str | None:
    """Return why gunicorn cannot serve the app here, or None when it can."""
    if not (ROOT / "gunicorn.conf.py").is_file():
        return "no gunicorn.conf.py in the repository"
    if not (Path(sys.executable).parent / "gunicorn").is_file():
        return "gunicorn is not installed in the virtualenv"
    return None


def free_port() -> int:
    """Return a TCP port on loopback that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(settings: dict, workers: int = 2, ready_s: float = 180) -> Iterator[str]:
    """Serve the app with gunicorn.conf.py on a loopback port; yield its base URL.

    Waits until /readyz answers 200 (or the server answers at all, where there is no
    /readyz), at most `ready_s` seconds; stops the server and its workers after.
    """
    port = free_port()
    env = environment({**settings, "BIND": f"127.0.0.1:{port}", "WEB_WORKERS": workers})
    logs = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, server, ready_s, workers)
        yield base
    except BaseException:
        logs.seek(0)
        sys.stderr.write(logs.read()[-3000:].decode(errors="replace"))
        raise
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        logs.close()


def _wait_ready(base: str, server: subprocess.Popen, ready_s: float, workers: int) -> None:
    """Wait until the server answers ready several times in a row (each worker in turn)."""
    deadline = time.monotonic() + ready_s
    in_a_row = 0
    while in_a_row < 2 * workers:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn was not ready within {ready_s:.0f} s")
        try:
            status = requests.get(base + "/readyz", timeout=5).status_code
        except requests.RequestException:
            status = None
        in_a_row = in_a_row + 1 if status in (200, 404) else 0
        time.sleep(0.05 if in_a_row else 0.2)


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """Yield a temporary folder, removed after."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
