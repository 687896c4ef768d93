"""Benchmark a cold start: from process start to the index loaded, and the peak memory.

At 1M positions (quick mode: 100k; or the first argument / BENCH_STARTUP_SIZE) of
city-clustered volunteers, on PostgreSQL (BENCH_STARTUP_DATABASES may add sqlite), a fresh
Python process imports the service, builds the app (`create_app`) and loads its index
(`search.start`), then runs a few searches: the first after the start should be as fast as
any other. The seconds are counted from the moment the parent started the process; the
peak RSS is the child's own (VmHWM, which exec resets; `ru_maxrss` where there is none).

Run: `.venv/bin/python bench/startup.py [1M]`. Targets: <= 10 s, <= 400 MB.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import common  # first: puts the repository on the path
import data
import numpy as np
import search
from fill import fill, scratch_database

PER_VOLUNTEER = 1.3  # positions: a home each, a work place for a fifth, a live one for a tenth
SEARCHES = 10


def child(url: str, queue_url: str, spawned: float) -> None:
    """Start as a web host does, load the index, search; print the timings as JSON."""
    imported_at = time.time()
    from dispatcher import create_app

    app = create_app(common.app_settings(url, queue_url))
    rt = app.extensions["dispatcher"]
    built_at = time.time()
    following = search.start(rt)
    loaded_at = time.time()
    places = np.column_stack(data.points("clustered", SEARCHES, seed=99))
    times = []
    for lat, lon in places:
        started = time.perf_counter()
        search.pick(rt, float(lat), float(lon))
        times.append(time.perf_counter() - started)
    following.stop()
    print(json.dumps({
        "python": imported_at - spawned, "app": built_at - spawned, "loaded": loaded_at - spawned,
        "positions": len(rt.index), "first_search": times[0], "other_searches": times[1:],
        "rss_mb": peak_rss_mb(),
    }))


def peak_rss_mb() -> float:
    """Return this process's peak resident memory since it started its program.

    Linux's VmHWM is reset by exec; ru_maxrss is not, so a child forked from a large
    parent would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(kind: str, positions: int) -> None:
    """Fill a database, start a fresh process on it, and report."""
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[kind]
    volunteers = int(positions / PER_VOLUNTEER)
    lat, lon = data.points("clustered", volunteers, seed=31)
    with scratch_database(kind) as url, common.scratch_folder("bench-start-") as folder:
        reg = fill(url, lat, lon)
        print(f"\n{name}: {reg.volunteers} volunteers, {reg.positions} positions "
              f"(written in {reg.seconds:.1f} s)", flush=True)
        spawned = time.time()
        done = subprocess.run(
            [sys.executable, __file__, "--child", url, f"sqlite:///{folder / 'queue.db'}",
             repr(spawned)], capture_output=True, text=True, cwd=common.ROOT,
            env={**os.environ, "PYTHONPATH": str(common.ROOT)})
        wall = time.time() - spawned
        if done.returncode != 0:
            print(done.stderr[-3000:])
            raise SystemExit(f"the fresh process failed ({done.returncode})")
        got = json.loads(done.stdout.strip().splitlines()[-1])
        # The child's own peak: the parent's RUSAGE_CHILDREN would also count whatever
        # earlier child was largest (the fill's, say), not this start.
        peak = got["rss_mb"]
        others = np.median(got["other_searches"]) * 1000
        setup = f"{common.label(positions)} positions {name}"
        print(f"  imports done {got['python']:.2f} s, app built {got['app']:.2f} s, "
              f"index loaded {got['loaded']:.2f} s ({got['positions']} positions in it); "
              f"whole run {wall:.1f} s")
        print(f"  peak RSS {peak:.0f} MB; first search {got['first_search'] * 1000:.1f} ms, "
              f"the next {len(got['other_searches'])}: median {others:.1f} ms")
        big = reg.positions >= 900_000
        print(f"  target <= 10 s and <= 400 MB: "
              f"{'met' if got['loaded'] <= 10 and peak <= 400 else 'NOT met'}")
        common.record("startup", setup, "start to index loaded", round(got["loaded"], 2), "s",
                      "<= 10", got["loaded"] <= 10 if big else None)
        common.record("startup", setup, "peak RSS", round(peak), "MB", "<= 400",
                      peak <= 400 if big else None)
        common.record("startup", setup, "first search", round(got["first_search"] * 1000, 1),
                      "ms", f"as the others ({others:.1f})")


def main(argv: list[str]) -> None:
    """Measure the cold start on each database."""
    if len(argv) > 1 and argv[1] == "--child":
        child(argv[2], argv[3], float(argv[4]))
        return
    [positions] = common.sizes(argv, "BENCH_STARTUP_SIZE", [1_000_000], [100_000])[:1]
    print(f"Cold start at {common.label(positions)} positions (city-clustered)")
    for kind in os.environ.get("BENCH_STARTUP_DATABASES", "postgresql").split(","):
        run(kind.strip(), positions)


if __name__ == "__main__":
    main(sys.argv)
