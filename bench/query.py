"""Benchmark the candidate search against its baselines, on the same points in the same run.

For each layout (uniform, city-clustered; BENCH_LAYOUTS may add "districts") and size
(volunteers, default 10k, 100k and 1M; quick mode 10k), a registry is written to a scratch
database (SQLite and PostgreSQL; BENCH_DATABASES) and the 30 best eligible volunteers within
3 km are looked for around incident places drawn from the same layout, timed by:

- the service's search (`search.pick`: the whole wave-1 pick, index to eligibility);
- the raw rtree kNN alone: rtree.index.Index bulk-loaded with every position, nearest 30;
- numpy brute force: haversine to every position, static eligibility as a mask, argpartition;
- PostGIS: geography with a GiST index, ORDER BY <-> LIMIT 30 with ST_DWithin 3 km and the
  static eligibility in SQL (status active, certificate valid, 18 or over, not paused).

Prints p50/p99 per method, the ratios search/rtree and PostGIS/search, and how each cost
grows with N. Run: `.venv/bin/python bench/query.py [10k,100k,1M]` (or BENCH_QUERY_SIZES).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import common  # first: puts the repository on the path
import data
import numpy as np
import postgis
import search
from fill import Registry, fill, scratch_database
from rtree import index as rtree_index

from dispatcher import create_app
from dispatcher.queue.fake import RecordingQueue

RADIUS_M = 3000
SIZE = 30
QUERIES = 200
BUDGET_S = 60.0  # per method and setup: slow methods stop early, after at least MIN_QUERIES
MIN_QUERIES = 20
DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def timed(fn: Callable[[float, float], object], places: np.ndarray, budget_s: float = BUDGET_S
          ) -> tuple[list[float], int]:
    """Run fn at each place (after two warm-ups); return the seconds of each, and the failures.

    Stops early once `budget_s` is spent and MIN_QUERIES have run. A failure (an exception
    from the database, say) counts, and is not timed.
    """
    for lat, lon in places[:2]:
        try:
            fn(lat, lon)
        except Exception:  # noqa: BLE001 - counted below, where it is timed
            pass
    times, failed, spent = [], 0, 0.0
    for i, (lat, lon) in enumerate(places):
        if spent > budget_s and i >= MIN_QUERIES:
            break
        start = time.perf_counter()
        try:
            fn(lat, lon)
        except Exception as exc:  # noqa: BLE001 - a failed search is a result to report
            failed += 1
            if failed == 1:
                print(f"    (failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
        else:
            times.append(time.perf_counter() - start)
        spent += time.perf_counter() - start
    return times, failed


def raw_rtree(reg: Registry) -> Callable[[float, float], list[int]]:
    """Bulk-load every position into a plain rtree; return its nearest-30 query."""
    idx = rtree_index.Index(
        (i, (x, y, x, y), None)
        for i, (x, y) in enumerate(zip(reg.pos_lon.tolist(), reg.pos_lat.tolist(), strict=True)))
    return lambda lat, lon: list(idx.nearest((lon, lat, lon, lat), SIZE))


def brute_force(reg: Registry, now: datetime) -> Callable[[float, float], list[int]]:
    """Return a numpy scan over every position with the static eligibility as a mask."""
    excluded = ~reg.eligible(now)

    def query(lat: float, lon: float) -> list[int]:
        d = data.haversine_m(lat, lon, reg.pos_lat, reg.pos_lon)
        d[excluded | (d > RADIUS_M)] = np.inf
        nearest = np.argpartition(d, SIZE)[:SIZE] if d.size > SIZE else np.arange(d.size)
        nearest = nearest[np.argsort(d[nearest])]
        return reg.pos_responder[nearest[np.isfinite(d[nearest])]].tolist()

    return query


def measure_search(url: str, places: np.ndarray) -> dict[str, tuple[list[float], int]]:
    """Build an app on the database, load its index, and time the search at every place.

    Both the whole pick (the database asked and the volunteers claimed) and its part in
    the process alone, which is what the rtree, numpy and PostGIS baselines answer.
    """
    app = create_app(common.app_settings(url, "sqlite:///:memory:"), queue=RecordingQueue())
    rt = app.extensions["dispatcher"]
    try:
        started = time.perf_counter()
        search.catch_up(rt)
        print(f"    index loaded in {time.perf_counter() - started:.1f} s", flush=True)
        gc.collect()  # what earlier setups left is not this one's to collect
        return {
            search.INDEX_NAME: timed(partial(search.in_process, rt, size=SIZE,
                                             radius_m=RADIUS_M), places),
            search.NAME: timed(partial(search.pick, rt, size=SIZE, radius_m=RADIUS_M), places),
        }
    finally:
        rt.engine.dispose()


def report(rows: dict[str, tuple[list[float], int]], setup: str, big: bool) -> None:
    """Print p50/p99 per method and the ratios; record them for the summary table."""
    print(f"    {'method':26s} {'p50 ms':>9s} {'p99 ms':>9s} {'queries':>8s} {'failed':>7s}")
    p50 = {}
    for method, (times, failed) in rows.items():
        p50[method], p99 = common.p50_p99(times)
        print(f"    {method:26s} {p50[method]:9.2f} {p99:9.2f} {len(times):8d} {failed:7d}")
        common.record("query", setup, f"{method} p50", round(p50[method], 3), "ms")
        if method == search.NAME:
            common.record("query", setup, f"{method} p99/p50", round(p99 / p50[method], 1), "x",
                          "<= 10 at 1M", p99 <= 10 * p50[method] if big else None)
            if failed:
                common.record("query", setup, f"{method} failed", failed, "queries", "0", False)
    for name in (search.INDEX_NAME, search.NAME):
        mine, rtree = p50.get(name), p50.get("raw rtree kNN")
        if mine and rtree:
            ratio = mine / rtree
            print(f"    {name} / raw rtree: {ratio:.1f}x")
            common.record("query", setup, f"{name} / rtree", round(ratio, 1), "x",
                          "<= 3 at 1M", ratio <= 3 if big else None)
        if mine and p50.get("PostGIS"):
            ratio = p50["PostGIS"] / mine
            print(f"    PostGIS / {name}: {ratio:.2f}x")
            common.record("query", setup, f"PostGIS / {name}", round(ratio, 2), "x",
                          ">= 3 at 1M", ratio >= 3 if big else None)


def run(layout: str, n: int, databases: list[str], gis_missing: str | None,
        growth: dict) -> None:
    """Measure every method on one layout and size."""
    lat, lon = data.points(layout, n, seed=n)
    places = np.column_stack(data.points(layout, QUERIES, seed=n + 1))
    now = datetime.now(UTC)
    baselines: dict[str, tuple[list[float], int]] = {}
    for kind in databases:
        with scratch_database(kind) as url:
            reg = fill(url, lat, lon, now=now)
            setup = f"{layout} {common.label(n)} {DATABASES[kind]}"
            print(f"\n{setup}: {reg.volunteers} volunteers, {reg.positions} positions "
                  f"(written in {reg.seconds:.1f} s)", flush=True)
            if not baselines:  # the same points whichever database: measured once
                started = time.perf_counter()
                baselines["raw rtree kNN"] = timed(raw_rtree(reg), places)
                baselines["numpy brute force"] = timed(brute_force(reg, now), places)
                print(f"    (baselines built and run in {time.perf_counter() - started:.1f} s)")
            rows = dict(baselines)
            rows.update(measure_search(url, places))
            if kind == "postgresql" and gis_missing is None:
                gis = postgis.Baseline(url)
                rows["PostGIS"] = timed(partial(gis.pick, now=now, size=SIZE,
                                                radius_m=RADIUS_M), places)
                gis.close()
            report(rows, setup, big=n >= 1_000_000)
            for method, (times, _) in rows.items():
                if method in baselines and kind != databases[0]:
                    continue
                name = (method if method not in (search.NAME, search.INDEX_NAME)
                        else f"{method}, {DATABASES[kind]}")
                growth.setdefault((layout, name), {})[n] = common.p50_p99(times)[0]


def print_growth(growth: dict) -> None:
    """Print each method's p50 per size, and how much it grows per tenfold N."""
    print("\nHow the p50 grows with N (ms; per tenfold N: the factor)")
    for (layout, method), by_n in growth.items():
        ns = sorted(by_n)
        cells = "   ".join(f"{common.label(k)}: {by_n[k]:.2f}" for k in ns)
        factor = ""
        if len(ns) > 1 and by_n[ns[0]] > 0:
            decades = np.log10(ns[-1] / ns[0])
            factor = f"   x{(by_n[ns[-1]] / by_n[ns[0]]) ** (1 / decades):.1f} per 10x"
        print(f"  {layout:10s} {method:32s} {cells}{factor}")


def main(argv: list[str]) -> None:
    """Run every layout and size; print the tables and the growth."""
    logging.getLogger("dispatcher").setLevel(logging.WARNING)
    ns = common.sizes(argv, "BENCH_QUERY_SIZES", [10_000, 100_000, 1_000_000], [10_000])
    layouts = os.environ.get("BENCH_LAYOUTS", "uniform,clustered").split(",")
    databases = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    gis_missing = postgis.ensure() if "postgresql" in databases else "no PostgreSQL run"
    if gis_missing:
        print(f"PostGIS left out: {gis_missing}")
    print(f"Candidate search: the {SIZE} best eligible within {RADIUS_M} m, "
          f"{QUERIES} incident places per setup")
    growth: dict = {}
    for layout in layouts:
        for n in ns:
            try:
                run(layout.strip(), n, databases, gis_missing, growth)
            except FileNotFoundError as exc:
                print(f"\n{layout} left out: {exc}")
                break
    print_growth(growth)


if __name__ == "__main__":
    main(sys.argv)
