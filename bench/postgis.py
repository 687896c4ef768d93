"""PostGIS as a baseline: installed where it can be, the same points, the same predicates.

`ensure` creates the extension (in a schema of its own, `postgis`), installing Debian's
postgresql-15-postgis-3 with apt-get first when the extension is not available and this
process may; it returns why PostGIS cannot be had, or None. `Baseline` copies a scratch
database's positions into a geography column with a GiST index and runs the kNN query
with the static eligibility in SQL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime

import psycopg
from fill import POSTGIS_SCHEMA, POSTGRES_URL

PACKAGE = "postgresql-15-postgis-3"
QUERY = """
SELECT g.responder_id
FROM bench_geo g JOIN responders r ON r.id = g.responder_id
WHERE ST_DWithin(g.geog, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography,
                 %(radius)s)
  AND r.status = 'active' AND r.cert_expires >= %(today)s
  AND r.birth_year <= %(born_by)s
  AND (r.paused_until IS NULL OR r.paused_until <= %(now)s)
ORDER BY g.geog <-> ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography
LIMIT %(size)s
"""


def _libpq(url: str) -> str:
    """Turn a SQLAlchemy URL into one libpq takes."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def _create() -> str | None:
    """Create the extension; return the error when that fails."""
    try:
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as conn:
            found = conn.execute(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                "ON n.oid = e.extnamespace WHERE e.extname = 'postgis'").fetchone()
            if found is None:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {POSTGIS_SCHEMA}")
                conn.execute(f"CREATE EXTENSION postgis SCHEMA {POSTGIS_SCHEMA}")
            elif found[0] != POSTGIS_SCHEMA:
                return f"PostGIS is installed in schema {found[0]}, not {POSTGIS_SCHEMA}"
        return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


def ensure() -> str | None:
    """Make PostGIS usable, installing the Debian package if need be; return why not, or None."""
    error = _create()
    if error is None:
        return None
    if "is not available" not in error and "could not open extension" not in error:
        return error
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{error}; installing {PACKAGE} needs apt-get as root"
    print(f"(installing {PACKAGE} with apt-get, once)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(["apt-get", "install", "-y", "-q", PACKAGE], env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        done = subprocess.run(["apt-get", "install", "-y", "-q", PACKAGE], env=env,
                              capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return f"apt-get install {PACKAGE} failed: {done.stderr.strip()[-300:]}"
    return _create()


class Baseline:
    """The kNN query on PostGIS over a scratch database's positions, with the same predicates."""

    def __init__(self, url: str):
        self.conn = psycopg.connect(_libpq(url), autocommit=True, prepare_threshold=1)
        self.conn.execute("DROP TABLE IF EXISTS bench_geo")
        self.conn.execute(
            "CREATE TABLE bench_geo AS SELECT id, responder_id, "
            "ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS geog "
            "FROM positions WHERE NOT deleted")
        self.conn.execute("CREATE INDEX ix_bench_geo ON bench_geo USING gist (geog)")
        self.conn.execute("ANALYZE bench_geo")

    def pick(self, lat: float, lon: float, now: datetime, *, size: int = 30,
             radius_m: float = 3000, min_age: int = 18) -> list[int]:
        """Return the responder ids of the nearest eligible positions, nearest first."""
        rows = self.conn.execute(QUERY, {
            "lat": lat, "lon": lon, "radius": radius_m, "today": now.date(),
            "born_by": now.year - min_age - 1, "now": now, "size": size}).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        """Drop the copied table and close the connection."""
        self.conn.execute("DROP TABLE IF EXISTS bench_geo")
        self.conn.close()
