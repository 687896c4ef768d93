"""The retention purge: erase or coarsen personal data older than the retention period."""

from __future__ import annotations

from dispatcher.runtime import Runtime


def purge(rt: Runtime) -> dict:
    """Erase what the retention period no longer allows keeping; return what was done."""
    raise NotImplementedError
