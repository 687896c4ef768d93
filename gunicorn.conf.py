"""gunicorn settings for the web hosts: `gunicorn -c gunicorn.conf.py wsgi:app`.

Read from the service's own configuration (`dispatcher.config`, DISPATCHER_* variables):
DISPATCHER_BIND (else 0.0.0.0:$PORT when PORT is set, else 127.0.0.1:8000),
DISPATCHER_WEB_WORKERS and DISPATCHER_ACCESS_LOG. Logs go through the service's redacting
formatter, text or JSON (DISPATCHER_LOG_FORMAT); the access log, when on, has the method,
the path without its query string, the status and the time taken, never the client's address.

With PROMETHEUS_MULTIPROC_DIR set (an empty directory for this host's processes), every
worker's metrics are summed by whichever worker answers /metrics, and a worker that exits
is marked dead so that its live gauges leave the sum.
"""

from __future__ import annotations

import os

from dispatcher.config import load_config
from dispatcher.logs import FORMAT, formatter

_config = load_config()
_port = os.environ.get("PORT", "")

bind = [os.environ.get("DISPATCHER_BIND") or (f"0.0.0.0:{_port}" if _port else _config["BIND"])]
workers = int(_config["WEB_WORKERS"])
worker_class = "sync"
# A request may take as long as an intake that waits on the database; a worker stopping
# (a deploy, a scale-down) finishes the requests it has before it goes.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Each worker builds its own app, engine and index after the fork: nothing is shared.
preload_app = False

accesslog = "-" if _config["ACCESS_LOG"] else None
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = str(_config["LOG_LEVEL"]).lower()
_kind = str(_config["LOG_FORMAT"]).strip().lower()
formatter(_kind)  # refuse an unknown format before any worker starts
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"redacted": {"()": f"dispatcher.logs.{type(formatter(_kind)).__name__}",
                                "fmt": FORMAT}},
    "handlers": {
        "error": {"class": "logging.StreamHandler", "formatter": "redacted",
                  "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "redacted",
                   "stream": "ext://sys.stdout"},
    },
    "root": {"level": loglevel.upper(), "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error"], "propagate": False},
        # With a logging dict gunicorn always logs access; only this level turns it off.
        "gunicorn.access": {"level": "INFO" if accesslog else "WARNING",
                            "handlers": ["access"], "propagate": False},
    },
}


def on_starting(server):
    """Make the metrics directory, and clear what processes of an earlier run left in it."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        pid = name.rsplit("_", 1)[-1].removesuffix(".db")
        if name.endswith(".db") and pid.isdigit() and not _alive(int(pid)):
            os.remove(os.path.join(directory, name))


def post_worker_init(worker):
    """Start loading this worker's spatial index; /readyz is 503 until it is in."""
    from dispatcher.current import EXTENSION
    from dispatcher.responders.follower import warm_up

    app = worker.wsgi
    warm_up(app.extensions[EXTENSION])


def child_exit(server, worker):
    """Take an exited worker's live gauges out of the metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _alive(pid: int) -> bool:
    """Tell whether a process with this id runs (a consumer sharing the directory, say)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
