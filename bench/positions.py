"""Benchmark position updates: single and bulk through the API, and how soon others see them.

At 100k city-clustered volunteers on PostgreSQL (quick mode: 10k; or the first argument /
BENCH_POSITIONS_SIZE), served by gunicorn (two workers) on loopback where it is installed:

1. single updates per second: PUT /api/v1/responders/<ref>/position from several client
   processes and threads for a fixed time, with p50/p99 of each request;
2. positions per second through the bulk endpoint for operator feeds, where the service has
   one (BULK_BATCH positions a request);
3. the lag until another process's search sees a move: a second process catches its index up
   in a loop (as every search does first) and says when each marked move appears in it,
   measured from the moment the API answered, while the load of 1 and 2 runs.

Run: `.venv/bin/python bench/positions.py [100k]`. Targets: >= 2,000 updates/s, >= 20,000
positions/s through the bulk endpoint, each visible to another process within 1 s.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.client import HTTPException

import common  # first: puts the repository on the path
import data
import search
from control_room import Http, put_position, served
from fill import fill, make_client, scratch_database

PROCESSES = 2
THREADS = 4
BULK_BATCH = 1000  # the most one request may carry
MARKERS = 50  # volunteers moved only to measure the lag, one every MARK_EVERY_S
MARK_EVERY_S = 0.2
POLL_S = 0.1  # the lag is measured to about this; a tighter loop would take CPU from the load


def bulk_path(url: str) -> str | None:
    """Return the path of the bulk position endpoint, or None where the service has none."""
    from dispatcher import create_app
    from dispatcher.queue.fake import RecordingQueue

    app = create_app(common.app_settings(url, "sqlite:///:memory:"), queue=RecordingQueue())
    try:
        for rule in app.url_map.iter_rules():
            if "position" in rule.rule and "<" not in rule.rule and rule.rule.startswith("/api"):
                return rule.rule
        return None
    finally:
        app.extensions["dispatcher"].engine.dispose()


def _now() -> str:
    """Return the time now as the API takes it."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _request(rng: random.Random, refs: list[str], path: str | None) -> tuple[str, str, bytes]:
    """Return one request (method, path, body): a single update, or a bulk one when a path."""
    def item(ref: str) -> dict:
        lat, lon = data.CENTRE[0] + rng.uniform(-0.2, 0.2), data.CENTRE[1] + rng.uniform(-0.4, 0.4)
        return {"ref": ref, "lat": lat, "lon": lon, "accuracy_m": 10.0, "at": _now()}

    if path is None:
        body = item(rng.choice(refs))
        return "PUT", f"/api/v1/responders/{body.pop('ref')}/position", json.dumps(body).encode()
    return "POST", path, json.dumps({"positions": [item(r) for r in
                                                   rng.sample(refs, BULK_BATCH)]}).encode()


def _client(base: str, token: str, refs: list[str], path: str | None, until: float,
            seed: int, out: list) -> None:
    """Send requests over one connection until the time; add (seconds, status, applied)."""
    http = Http(base)
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    while time.time() < until:
        method, target, body = _request(rng, refs, path)
        started = time.perf_counter()
        try:
            status, answer = http.send(method, target, body, headers)
        except (OSError, HTTPException):
            status, answer = 0, b""
        took = time.perf_counter() - started
        applied = int(status == 200) if path is None or status != 200 else \
            json.loads(answer)["counts"]["applied"]
        out.append((took, status, applied))


def _process(args: tuple) -> list[tuple[float, int, int]]:
    """Run THREADS clients in one process; return every request's (seconds, status, applied)."""
    base, token, refs, path, until, seed = args
    out: list[tuple[float, int]] = []
    threads = [threading.Thread(target=_client, args=(base, token, refs, path, until,
                                                      seed * 100 + i, out))
               for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def load(base: str, token: str, refs: list[str], path: str | None, seconds: float
         ) -> tuple[list[float], int, int, float]:
    """Load the API from PROCESSES x THREADS clients; return ok times, failures, positions
    applied, and the wall time."""
    until = time.time() + seconds
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = pool.map(_process, [(base, token, refs, path, until, p)
                                      for p in range(PROCESSES)])
    wall = time.perf_counter() - started
    done = [r for part in results for r in part]
    ok = [t for t, status, _ in done if status == 200]
    bad = [status for _, status, _ in done if status != 200]
    if bad:
        print(f"    ({len(bad)} requests failed; statuses {sorted(set(bad))})")
    return ok, len(bad), sum(applied for *_, applied in done), wall


class Watcher:
    """Another process whose index catches up in a loop and says when each move appears."""

    def __init__(self, url: str, responder_ids: list[int]):
        self.seen: dict[tuple[int, float], float] = {}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--watch", url, ",".join(map(str, responder_ids))],
            stdout=subprocess.PIPE, text=True, cwd=common.ROOT)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError("the watching process did not start")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        """Keep what the watching process reports: (volunteer, latitude) -> when seen."""
        for line in self.proc.stdout:
            rid, lat, at = line.split()
            self.seen[(int(rid), round(float(lat), 6))] = float(at)

    def close(self) -> None:
        """Stop the watching process."""
        self.proc.terminate()
        self.proc.wait(timeout=30)


def watch(url: str, ids: str) -> None:
    """Catch the index up in a loop; print each watched volunteer's new live position."""
    from dispatcher import create_app
    from dispatcher.queue.fake import RecordingQueue

    app = create_app(common.app_settings(url, "sqlite:///:memory:"), queue=RecordingQueue())
    rt = app.extensions["dispatcher"]
    watched = [int(i) for i in ids.split(",")]
    search.catch_up(rt)
    last = {rid: search.live_at(rt, rid) for rid in watched}
    print("ready", flush=True)
    while True:
        search.catch_up(rt)
        for rid in watched:
            where = search.live_at(rt, rid)
            if where is not None and where != last[rid]:
                last[rid] = where
                print(rid, where[0], time.time(), flush=True)
        time.sleep(POLL_S)


def mark(base: str, token: str, refs: list[str], until: float, out: list) -> None:
    """Move the marker volunteers one at a time until the time; add (id, lat, answered at)."""
    http, k = Http(base), 0
    while time.time() < until:
        k += 1
        i = k % len(refs)
        lat = round(58.9 + k * 1e-5, 6)  # a latitude no other move uses
        status, _ = put_position(http, token, refs[i], lat, 18.0)
        if status == 200:
            out.append((i + 1, lat, time.time()))
        time.sleep(MARK_EVERY_S)


def run(n: int, seconds: float) -> None:
    """Measure single and bulk updates, and the lag, on PostgreSQL."""
    lat, lon = data.points("clustered", n, seed=21)
    with scratch_database("postgresql") as url, common.scratch_folder("bench-pos-") as folder:
        room = make_client(url)
        reg = fill(url, lat, lon, owner_id=room.client.id)
        print(f"PostgreSQL: {reg.volunteers} volunteers, {reg.positions} positions "
              f"(written in {reg.seconds:.1f} s)", flush=True)
        settings = common.app_settings(url, f"sqlite:///{folder / 'queue.db'}")
        markers, refs = reg.refs[:MARKERS], reg.refs[MARKERS:]
        path = bulk_path(url)
        watcher = Watcher(url, list(range(1, MARKERS + 1)))
        try:
            with served(settings, workers=2) as (base, how):
                print(f"  served by {how}; {PROCESSES} client processes x {THREADS} threads, "
                      f"{seconds:.0f} s each")
                modes = [("single", None)] + ([("bulk", path)] if path else [])
                for mode, target in modes:
                    marks: list = []
                    marker = threading.Thread(target=mark, args=(base, room.token, markers,
                                                                 time.time() + seconds, marks))
                    marker.start()
                    times, failed, applied, wall = load(base, room.token, refs, target,
                                                        seconds)
                    marker.join()
                    time.sleep(1.0)  # let the last marks arrive
                    report(mode, times, failed, applied, wall, marks, watcher.seen)
                if path is None:
                    print("  bulk endpoint left out: the service has none yet")
        finally:
            watcher.close()


def report(mode: str, times: list[float], failed: int, applied: int, wall: float, marks: list,
           seen: dict) -> None:
    """Print and record the rate of positions applied, the latencies and the lag of a mode."""
    rate = applied / wall
    p50, p99 = common.p50_p99(times)
    lags = [max(0.0, seen[(rid, lat)] - at) if (rid, lat) in seen else float("inf")
            for rid, lat, at in marks]
    lag50, lag99 = common.p50_p99(lags)
    unseen = sum(1 for x in lags if x == float("inf"))
    target = 2_000 if mode == "single" else 20_000
    print(f"  {mode:6s}: {rate:8.0f} positions/s ({len(times)} requests, {failed} failed; "
          f"request p50 {p50:.1f} ms, p99 {p99:.1f} ms)   target >= {target}: "
          f"{'met' if rate >= target else 'NOT met'}")
    print(f"          seen by another process's index after p50 {lag50:.0f} ms, "
          f"p99 {lag99:.0f} ms ({len(lags)} moves, {unseen} never)   target <= 1 s: "
          f"{'met' if lags and lag99 <= 1000 else 'NOT met'}")
    common.record("positions", f"{mode} updates", "rate", round(rate), "positions/s",
                  f">= {target}", rate >= target)
    common.record("positions", f"{mode} updates", "request p99", round(p99, 1), "ms")
    common.record("positions", f"{mode} updates", "seen elsewhere p99", round(lag99), "ms",
                  "<= 1000", bool(lags) and lag99 <= 1000)


def main(argv: list[str]) -> None:
    """Measure the position updates."""
    if len(argv) > 1 and argv[1] == "--watch":
        watch(argv[2], argv[3])
        return
    [n] = common.sizes(argv, "BENCH_POSITIONS_SIZE", [100_000], [10_000])[:1]
    seconds = 5.0 if common.quick() else 20.0
    print(f"Position updates at {common.label(n)} volunteers (city-clustered)")
    run(n, seconds)


if __name__ == "__main__":
    main(sys.argv)
