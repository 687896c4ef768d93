"""Load the spatial index when a process starts, then keep it close behind the database.

A web or queue process starts a follower (`warm_up`). It loads the whole registry in bulk,
outside any write transaction, and only then marks the process ready (`/readyz`); after
that it applies new changes every half second, so that a search finds little to catch up
on and a process that has not searched for a while is still current.
"""

from __future__ import annotations

import logging
import threading

from dispatcher.responders import spatial
from dispatcher.runtime import Runtime
from dispatcher.store.db import reading

log = logging.getLogger(__name__)

FOLLOW_EVERY_S = 0.5
RETRY_AFTER_S = 2.0


class Follower(threading.Thread):
    """A daemon thread that loads the index, then follows the change sequence."""

    def __init__(self, rt: Runtime, every_s: float = FOLLOW_EVERY_S) -> None:
        super().__init__(name="index-follower", daemon=True)
        self._rt, self._every = rt, every_s
        self._stopping = threading.Event()

    def run(self) -> None:
        """Load, mark ready, then follow until stopped; a failure is logged and retried."""
        rt = self._rt
        while not self._stopping.is_set():
            try:
                with reading(rt.engine) as session:
                    # The first time, a bulk load (unless a search has already done it).
                    spatial.sync(rt.index, session, rt.roster, parallel=True)
                rt.index_ready.set()
                wait = self._every
            except Exception as exc:  # noqa: BLE001 - a database not up yet is retried
                log.error("spatial index not loaded (%s); retrying", type(exc).__name__)
                wait = RETRY_AFTER_S
            self._stopping.wait(wait)

    def stop(self) -> None:
        """Ask the thread to stop after its current step, and wait for it."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=10)


def warm_up(rt: Runtime) -> Follower:
    """Mark the process not ready, and start loading and following its index."""
    rt.index_ready.clear()
    follower = Follower(rt)
    follower.start()
    return follower
