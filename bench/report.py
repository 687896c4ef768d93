"""Print one table of every benchmark's figures, with the targets and whether each was met.

Reads the JSON lines the benchmarks appended to the results file (`common.record`), and
the printed output of bench/fanout.py when its file is given (fanout prints, it does not
record). Run: `.venv/bin/python bench/report.py results.jsonl [fanout.txt]`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from pathlib import Path

FANOUT = re.compile(r"^(?P<setup>\S.*?)\s+concurrent \((?P<n>\d+)\): median\s+(?P<s>[\d.]+) s")
FANOUT_RATIO = re.compile(r"ratio:\s*(?P<x>[\d.]+)x faster")


def fanout_rows(path: Path) -> list[dict]:
    """Read the fan-out's medians and ratios from its printed output."""
    rows, setup = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := FANOUT.match(line):
            setup = match["setup"].strip()
            rows.append({"bench": "fanout", "setup": setup, "metric": "to the 30th alert",
                         "value": float(match["s"]), "unit": "s", "target": "< 0.5",
                         "met": float(match["s"]) < 0.5})
        elif (match := FANOUT_RATIO.search(line)) and setup:
            rows.append({"bench": "fanout", "setup": setup, "metric": "serial / concurrent",
                         "value": float(match["x"]), "unit": "x", "target": ">= 10",
                         "met": float(match["x"]) >= 10})
    return rows


def machine() -> str:
    """Describe the machine the figures were measured on."""
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def main(argv: list[str]) -> None:
    """Print the table."""
    results = Path(argv[1]) if len(argv) > 1 else None
    rows = []
    if results and results.is_file():
        rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    if len(argv) > 2 and Path(argv[2]).is_file():
        rows += fanout_rows(Path(argv[2]))
    if not rows:
        raise SystemExit("no benchmark figures recorded")
    print(f"\nBenchmarks on {machine()}\n")
    print("| benchmark | setup | figure | value | target | met |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        value = f"{r['value']:,.2f}".rstrip("0").rstrip(".") if isinstance(r["value"], float) \
            else f"{r['value']:,}"
        met = {True: "yes", False: "**no**", None: ""}[r.get("met")]
        print(f"| {r['bench']} | {r['setup']} | {r['metric']} | {value} {r['unit']} "
              f"| {r.get('target', '')} | {met} |")
    missed = sum(1 for r in rows if r.get("met") is False)
    print(f"\n{len(rows)} figures; {missed} targets missed")


if __name__ == "__main__":
    main(sys.argv)
