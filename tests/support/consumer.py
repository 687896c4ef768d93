"""Run the real huey consumer with its sweeper: in background threads, or as a process.

In threads (`consuming`) it serves tests and benchmarks inside one process, without taking
over the signal handlers. As a process (`python -m tests.support.consumer`, see `spawn`) it
is a consumer host of its own that can be killed: its app reads the DISPATCHER_*
environment and sends SMS through the real Twilio adapter to the fake at FAKE_TWILIO_URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dispatcher import create_app
from dispatcher.cli.queue import run_consumer
from dispatcher.config import PREFIX
from dispatcher.hooks.fake import RecordingPoster
from dispatcher.jobs import tasks
from dispatcher.jobs.sweeper import Sweeper
from dispatcher.runtime import Runtime
from dispatcher.sms.twilio import TwilioSender
from tests.support.fake_twilio import ACCOUNT, FROM, TOKEN, LocalTwilioClient

ROOT = Path(__file__).resolve().parents[2]


def twilio_sender(url: str, settings: Mapping[str, Any]) -> TwilioSender:
    """Return the real Twilio adapter, sending to the fake Twilio at `url`."""
    pool = int(settings["SEND_CONCURRENCY"]) * int(settings["QUEUE_WORKERS"])
    client = LocalTwilioClient(url, timeout_s=float(settings["TWILIO_TIMEOUT_S"]), pool_size=pool)
    return TwilioSender(ACCOUNT, TOKEN, from_=FROM, http_client=client,
                        timeout_s=float(settings["TWILIO_TIMEOUT_S"]))


@contextmanager
def consuming(rt: Runtime, workers: int | None = None) -> Iterator[Any]:
    """Run a huey consumer's scheduler and workers, and a sweeper, in background threads."""
    consumer = rt.queue.consumer(workers or rt.settings.queue.workers)
    sweeper = Sweeper(rt, rt.settings.queue.sweep_interval.total_seconds(), tasks.runner(rt))
    threads = [consumer.scheduler] + [thread for _, thread in consumer.worker_threads]
    for thread in threads:
        thread.start()
    sweeper.start()
    try:
        yield consumer
    finally:
        sweeper.stop()
        consumer.stop_flag.set()
        for thread in threads:
            thread.join(10)


def spawn(settings: Mapping[str, Any], twilio_url: str, log: Path) -> subprocess.Popen:
    """Start a consumer process on these settings, sending SMS to the fake Twilio.

    Its output goes to `log`, so a chatty consumer can never block on a full pipe.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.update({PREFIX + k: str(v) for k, v in settings.items() if v is not None})
    env.update(FAKE_TWILIO_URL=twilio_url, PYTHONPATH=str(ROOT))
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tests.support.consumer"], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen, timeout_s: float = 30.0) -> int:
    """Stop a consumer process as a service manager does (SIGTERM); return its exit code."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def eventually(check: Callable[[], Any], timeout_s: float = 60.0, every_s: float = 0.05) -> Any:
    """Return `check()` once it is true, polling until the time runs out (then its last value)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every_s)


def main() -> None:
    """Be a consumer host: build the app from the environment and consume until stopped."""
    from dispatcher.config import load_config

    settings = load_config()
    app = create_app(sms=twilio_sender(os.environ["FAKE_TWILIO_URL"], settings),
                     poster=RecordingPoster())
    run_consumer(app.extensions["dispatcher"])


if __name__ == "__main__":
    main()
