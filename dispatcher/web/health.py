"""Health for load balancers and orchestrators, and metrics for Prometheus; none needs auth.

`/healthz` says the process lives and touches nothing else. `/readyz` says whether it should
be sent work: 200 when the database, the queue and the index are all fine, else 503 naming
the checks that failed. `/metrics` is the Prometheus text format.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from dispatcher import metrics
from dispatcher.current import runtime
from dispatcher.health import readiness
from dispatcher.health.gauges import ScrapedGauges

bp = Blueprint("health", __name__)

NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz():
    """Answer that the process lives."""
    return jsonify({"status": "ok"}), 200, NO_STORE


@bp.get("/readyz")
def readyz():
    """Answer whether this process is ready for work, check by check."""
    found = readiness.check(runtime())
    return jsonify(found.as_json()), 200 if found.ready else 503, NO_STORE


@bp.get("/metrics")
def prometheus():
    """Expose the metrics of every process sharing this one's, and the gauges read now."""
    body = metrics.exposition(ScrapedGauges(runtime()))
    return Response(body, mimetype=None, content_type=metrics.CONTENT_TYPE, headers=NO_STORE)
