"""The jobs the queue runs, by name: each takes the runtime and plain arguments."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dispatcher.control_rooms import events
from dispatcher.conversation import inbound
from dispatcher.incidents import delivery, escalation, followup
from dispatcher.jobs import sweeper
from dispatcher.privacy import retention
from dispatcher.runtime import Runtime

log = logging.getLogger(__name__)

JOBS: dict[str, Callable[..., Any]] = {
    "deliver": delivery.send,
    "wave": escalation.wave_due,
    "push": events.push,
    "follow_up": followup.ask,
    "purge": retention.purge,
    "sweep": sweeper.sweep,
    "reply": inbound.process,
    "report": delivery.apply_report,
}


def runner(rt: Runtime) -> Callable[[str, tuple], Any]:
    """Return a function that runs a job by name with the runtime."""

    def run(job: str, args: tuple) -> Any:
        try:
            return JOBS[job](rt, *args)
        except Exception:
            log.exception("job %s failed", job)
            raise

    return run
