"""The port for pushing events to a control room's URL: post a signed body, get the status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["EventPoster"]


class EventPoster(Protocol):
    """Anything that can POST a body to a URL and say what HTTP status came back."""

    def post(self, url: str, headers: Mapping[str, str], body: str) -> int:
        """POST the body; return the HTTP status; raise EventPostError when nothing answered."""
