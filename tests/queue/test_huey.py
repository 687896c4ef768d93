"""The huey adapter of the queue port, on a SQLite file and on Redis, with huey's own consumer."""

from __future__ import annotations

import os
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.queue import take_doorbells
from dispatcher.queue.huey import REDIS_SOCKET_TIMEOUT_S, HueyQueue
from tests.support.services import free_port, require_redis

# The Redis queue is tested wherever PostgreSQL is (DISPATCHER_TEST_DATABASES=sqlite leaves
# both out on purpose).
KINDS = ["sqlite"] + (
    ["redis"] if "postgresql" in os.environ.get("DISPATCHER_TEST_DATABASES", "postgresql") else []
)


@pytest.fixture(params=KINDS)
def queue(request, tmp_path):
    """A huey queue of its own: a SQLite file, or a uniquely named queue on the shared Redis."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        q = HueyQueue.from_url(f"sqlite:///{tmp_path / 'queue.db'}", name=name, poll_max_s=0.05)
        yield q
        q.huey.storage.close()
    else:
        q = HueyQueue.from_url(require_redis(), name=name)
        yield q
        q.huey.storage.flush_all()
        q.huey.storage.pool.disconnect()


class Recorder:
    """A job runner that records what it ran and when."""

    def __init__(self):
        self.ran: list[tuple[str, tuple, datetime]] = []
        self.changed = threading.Condition()

    def __call__(self, job: str, args: tuple) -> None:
        with self.changed:
            self.ran.append((job, args, datetime.now(UTC)))
            self.changed.notify_all()

    def wait_for(self, count: int, timeout_s: float = 20) -> bool:
        """Wait until `count` jobs ran; return whether they did."""
        with self.changed:
            return self.changed.wait_for(lambda: len(self.ran) >= count, timeout_s)


@contextmanager
def consumer_threads(queue: HueyQueue, workers: int = 2):
    """Run huey's consumer for the queue in background threads."""
    consumer = queue.consumer(workers)
    threads = [consumer.scheduler] + [t for _, t in consumer.worker_threads]
    for thread in threads:
        thread.start()
    try:
        yield consumer
    finally:
        consumer.stop_flag.set()
        for thread in threads:
            thread.join(10)


def test_a_sqlite_url_puts_the_queue_in_that_file(tmp_path):
    path = tmp_path / "q.db"

    queue = HueyQueue.from_url(f"sqlite:///{path}", name="dispatcher")

    assert queue.name == "SqliteHuey" and queue.huey.storage.filename == str(path)
    assert path.exists()


def test_a_redis_url_builds_a_blocking_redis_queue_with_short_socket_timeouts():
    queue = HueyQueue.from_url("redis://127.0.0.1:6390/3", name="dispatcher")

    params = queue.huey.storage.pool.connection_kwargs
    assert queue.name == "RedisHuey" and queue.huey.storage.blocking
    assert (params["port"], params["db"]) == (6390, 3)
    assert params["socket_timeout"] == REDIS_SOCKET_TIMEOUT_S
    assert queue.huey.storage.read_timeout < params["socket_timeout"]


@pytest.mark.parametrize("url", ["postgresql://127.0.0.1/q", "queue.db", "amqp://x"])
def test_any_other_url_is_refused_naming_the_setting(url):
    with pytest.raises(ValueError, match="DISPATCHER_QUEUE_URL"):
        HueyQueue.from_url(url, name="dispatcher")


def test_a_redis_that_cannot_be_reached_makes_enqueue_answer_false_not_raise():
    queue = HueyQueue.from_url(f"redis://127.0.0.1:{free_port()}/0", name="dispatcher")
    queue.bind(Recorder(), ["deliver"])

    assert queue.enqueue("deliver", [1, 2]) is False
    assert queue.enqueue("deliver", [1], at=datetime.now(UTC)) is False


def test_a_job_is_run_by_the_consumer_with_its_arguments(queue):
    runner = Recorder()
    queue.bind(runner, ["deliver", "wave"])

    assert queue.enqueue("deliver", [3, 4]) is True
    assert queue.enqueue("wave", 7, 2) is True
    with consumer_threads(queue):
        assert runner.wait_for(2)

    assert sorted((job, args) for job, args, _ in runner.ran) == [
        ("deliver", ([3, 4],)), ("wave", (7, 2)),
    ]


def test_a_timed_job_runs_once_it_is_due_and_not_before(queue):
    runner = Recorder()
    queue.bind(runner, ["wave"])
    due = datetime.now(UTC) + timedelta(seconds=1)

    assert queue.enqueue("wave", 1, 1, at=due) is True
    with consumer_threads(queue):
        assert runner.wait_for(1)

    [(job, args, ran_at)] = runner.ran
    assert (job, args) == ("wave", (1, 1)) and ran_at >= due


def test_jobs_enqueued_while_no_consumer_runs_wait_for_one(queue):
    runner = Recorder()
    queue.bind(runner, ["deliver"])
    queue.enqueue("deliver", [1])
    time.sleep(0.1)  # nothing consumes meanwhile: the job is kept, not lost

    assert runner.ran == []
    with consumer_threads(queue):
        assert runner.wait_for(1)


def test_the_consumer_uses_threads_and_polls_no_slower_than_the_setting(tmp_path):
    queue = HueyQueue.from_url(f"sqlite:///{tmp_path / 'q.db'}", name="d", poll_max_s=0.07)

    consumer = queue.consumer(3)

    assert (consumer.workers, consumer.worker_type, consumer.max_delay) == (3, "thread", 0.07)


def test_doorbells_for_messages_become_one_delivery_and_others_stay_once_each():
    class Session:
        info = {"doorbells": [
            ("deliver", (5,), None), ("wave", (1, 2), None), ("deliver", (3,), None),
            ("deliver", (5,), None), ("wave", (1, 2), None),
        ]}

    assert take_doorbells(Session) == [("deliver", ([3, 5],), None), ("wave", (1, 2), None)]
    assert take_doorbells(Session) == []


def test_a_timed_job_is_not_read_from_the_schedule_before_its_time_to_the_microsecond(queue):
    queue.bind(Recorder(), ["wave"])
    at = datetime(2031, 5, 6, 7, 8, 9, 900_000, tzinfo=UTC)

    assert queue.enqueue("wave", 1, 1, at=at) is True
    # What a huey worker does with a job whose time has not come: put it on the schedule.
    queue.huey.add_schedule(queue.huey.dequeue())

    # huey's schedule keeps naive UTC; the job is due at `at`, not at the whole second before.
    early = at.replace(tzinfo=None) - timedelta(milliseconds=500)
    assert queue.huey.read_schedule(early) == []
    [task] = queue.huey.read_schedule(at.replace(tzinfo=None))
    assert task.args == (1, 1)
