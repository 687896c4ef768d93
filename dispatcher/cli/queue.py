"""Flask commands for the queue: serve web and consumer together, consume, sweep."""

from __future__ import annotations

import logging
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.serving import make_server

from dispatcher.current import runtime
from dispatcher.jobs import sweeper, tasks
from dispatcher.responders.follower import warm_up
from dispatcher.runtime import Runtime
from dispatcher.sms.codes import TRANSIENT
from dispatcher.sms.failures import ProviderCheckError

log = logging.getLogger(__name__)


def run_consumer(rt: Runtime, workers: int | None = None) -> None:
    """Run a queue consumer and a sweeper in this thread until SIGINT or SIGTERM.

    SIGINT lets running jobs finish; SIGTERM stops at once (a job cut short is found by
    the sweeper). Must run in the main thread, which receives the signals.
    """
    check_providers(rt)
    queue = rt.queue
    if not hasattr(queue, "consumer"):
        raise click.ClickException(f"the {queue.name} queue has no consumer to run")
    consumer = queue.consumer(workers or rt.settings.queue.workers)
    # Waves run here too: the index loads now, not inside the first incident.
    follower = warm_up(rt)
    sweep = sweeper.Sweeper(rt, rt.settings.queue.sweep_interval.total_seconds(), tasks.runner(rt))
    sweep.start()
    try:
        consumer.run()
    finally:
        sweep.stop()
        follower.stop()


def check_providers(rt: Runtime) -> None:
    """Check the SMS providers' credentials before sending: refuse to start on bad ones.

    A provider that cannot be reached now is logged at ERROR and the consumer starts: its
    breaker holds the sends until the provider answers.
    """
    try:
        rt.sms.check()
    except ProviderCheckError as exc:
        if exc.kind == TRANSIENT:
            log.error("SMS provider check: %s; sends wait until it answers", exc.message)
            return
        raise click.ClickException(f"SMS provider refused: {exc.message}") from exc


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", type=int, default=None, help="Queue workers (default: QUEUE_WORKERS).")
@with_appcontext
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the web app and run the queue consumer in one process (the embedded setup)."""
    app = current_app._get_current_object()
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    click.echo(f"serving on http://{host}:{port} with the {runtime().queue.name} queue")
    try:
        run_consumer(runtime(), workers)
    finally:
        server.shutdown()


@click.group("queue")
def queue_cli() -> None:
    """The job queue."""


@queue_cli.command("consume")
@click.option("--workers", type=int, default=None, help="Worker threads (default: QUEUE_WORKERS).")
@with_appcontext
def consume(workers: int | None) -> None:
    """Run a queue consumer with a sweeper (one per host, or as many as needed)."""
    run_consumer(runtime(), workers)


@click.command("sweep")
@with_appcontext
def sweep_now() -> None:
    """Run every overdue job here, once (consumers sweep by themselves every few seconds)."""
    rt = runtime()
    run = tasks.runner(rt)
    jobs = sweeper.overdue(rt)
    for job, args in jobs:
        run(job, args)
    click.echo(f"{len(jobs)} overdue jobs run")


def register(app: Flask) -> None:
    """Attach the queue commands to an app."""
    for command in (serve, queue_cli, sweep_now):
        app.cli.add_command(command)
