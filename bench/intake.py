"""Benchmark intake: a signed incident.created answered 202 with wave 1 written.

At 100k city-clustered volunteers (quick mode: 10k; or the first argument / BENCH_INTAKE_SIZE),
on SQLite (with the SQLite queue) and PostgreSQL (with Redis where it answers), served over
loopback by gunicorn (gunicorn.conf.py) where it is installed, else by the embedded server:

1. one client posting incidents at random places one after the other (the first incident
   after the start is reported on its own: it must be as fast as any other);
2. N concurrent clients (threads) against gunicorn with two workers, bounded in count and
   in time; left out, with the reason, where gunicorn cannot be had.

Run: `.venv/bin/python bench/intake.py [100k]`. Targets: one client p50 <= 20 ms, p99 <= 60 ms.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time

import common  # first: puts the repository on the path
import data
import numpy as np
from control_room import Http, post_incident, served
from fill import fill, make_client, scratch_database
from redis import Redis

REDIS_URL = os.environ.get("DISPATCHER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CLIENTS = int(os.environ.get("BENCH_INTAKE_CLIENTS", "8"))
LIMIT_S = 60.0


def queue_for(kind: str, folder) -> tuple[str, str]:
    """Return the queue URL for a database, and its name: Redis beside PostgreSQL if it answers."""
    if kind == "postgresql":
        try:
            Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
            return REDIS_URL, "Redis"
        except Exception:  # noqa: BLE001 - no Redis: the SQLite queue, and the table says so
            pass
    return f"sqlite:///{folder / 'queue.db'}", "SQLite queue"


def forget_queue(queue_url: str, name: str) -> None:
    """Remove what this run left in Redis under its queue name."""
    if queue_url.startswith("redis"):
        redis = Redis.from_url(queue_url)
        clean = re.sub("[^A-Za-z0-9_]", "", name)  # as huey names its keys
        for key in redis.scan_iter(f"huey.*.{clean}"):
            redis.delete(key)
        redis.close()


def one_incident(http: Http, room, place) -> tuple[float, int]:
    """Post one incident; return the seconds until the answer and how many were alerted."""
    started = time.perf_counter()
    status, answer = post_incident(http, room, float(place[0]), float(place[1]))
    took = time.perf_counter() - started
    if status != 202:
        raise RuntimeError(f"intake answered {status}: {answer[:300].decode(errors='replace')}")
    return took, int(json.loads(answer)["counts"]["alerted"])


def sequential(base: str, room, places: np.ndarray) -> tuple[float, list[float], int]:
    """Post incidents one by one; return the first's time, the rest's, and how many alerted none."""
    http = Http(base)
    first, _ = one_incident(http, room, places[0])
    times, empty = [], 0
    for place in places[1:]:
        took, alerted = one_incident(http, room, place)
        times.append(took)
        empty += alerted == 0
    return first, times, empty


def concurrent(base: str, room, places: np.ndarray, clients: int) -> tuple[list[float], float]:
    """Post the incidents from `clients` threads until done or LIMIT_S; return times and wall."""
    lock = threading.Lock()
    todo = iter(places)
    times: list[float] = []
    failed: list[str] = []
    deadline = time.monotonic() + LIMIT_S

    def client() -> None:
        http = Http(base)
        while time.monotonic() < deadline:
            with lock:
                place = next(todo, None)
            if place is None:
                return
            try:
                took, _ = one_incident(http, room, place)
            except (RuntimeError, OSError) as exc:
                with lock:
                    failed.append(str(exc)[:200])
                continue
            with lock:
                times.append(took)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        print(f"  ({len(failed)} incidents failed; the first: {failed[0]})")
    return times, time.perf_counter() - started


def run(kind: str, n: int, incidents: int) -> None:
    """Measure intake on one database."""
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[kind]
    lat, lon = data.points("clustered", n, seed=11)
    places = np.column_stack(data.points("clustered", 2 * incidents + 1, seed=12))
    with scratch_database(kind) as url, common.scratch_folder("bench-intake-") as folder:
        room = make_client(url)
        reg = fill(url, lat, lon, owner_id=room.client.id)
        queue_url, queue_name = queue_for(kind, folder)
        settings = common.app_settings(url, queue_url)
        setup = f"{common.label(n)} {name}"
        print(f"\n{name} + {queue_name}: {reg.volunteers} volunteers, {reg.positions} positions "
              f"(written in {reg.seconds:.1f} s)", flush=True)
        try:
            with served(settings, workers=1) as (base, how):
                first, times, empty = sequential(base, room, places[:incidents + 1])
            p50, p99 = common.p50_p99(times)
            met = p50 <= 20 and p99 <= 60
            print(f"  one client ({how}): p50 {p50:.1f} ms  p99 {p99:.1f} ms  over {len(times)}"
                  f"; first after the start {first * 1000:.0f} ms; {empty} alerted nobody"
                  f"   target p50 <= 20, p99 <= 60 ms: {'met' if met else 'NOT met'}")
            common.record("intake", f"{setup} one client", "p50", round(p50, 1), "ms", "<= 20",
                          p50 <= 20 if n >= 100_000 else None)
            common.record("intake", f"{setup} one client", "p99", round(p99, 1), "ms", "<= 60",
                          p99 <= 60 if n >= 100_000 else None)
            common.record("intake", f"{setup} one client", "first after start",
                          round(first * 1000), "ms", "as any other",
                          first * 1000 <= max(p99, 60) if n >= 100_000 else None)
            missing = common.gunicorn_missing()
            if missing:
                print(f"  {CLIENTS} concurrent clients left out: {missing}")
                return
            with served(settings, workers=2) as (base, how):
                times, wall = concurrent(base, room, places[incidents + 1:], CLIENTS)
            p50, p99 = common.p50_p99(times)
            rate = len(times) / wall
            print(f"  {CLIENTS} clients ({how}): p50 {p50:.1f} ms  p99 {p99:.1f} ms  "
                  f"{len(times)} incidents in {wall:.1f} s = {rate:.1f}/s")
            common.record("intake", f"{setup} {CLIENTS} clients", "p50", round(p50, 1), "ms")
            common.record("intake", f"{setup} {CLIENTS} clients", "p99", round(p99, 1), "ms")
            common.record("intake", f"{setup} {CLIENTS} clients", "throughput",
                          round(rate, 1), "incidents/s")
        finally:
            forget_queue(queue_url, settings["QUEUE_NAME"])


def main(argv: list[str]) -> None:
    """Measure intake on each database."""
    [n] = common.sizes(argv, "BENCH_INTAKE_SIZE", [100_000], [10_000])[:1]
    incidents = 30 if common.quick() else 200
    print(f"Intake: signed incident.created -> 202 with wave 1 written, at {common.label(n)} "
          f"volunteers (city-clustered), {incidents} incidents at random places")
    for kind in os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(","):
        run(kind.strip(), n, incidents)


if __name__ == "__main__":
    main(sys.argv)
