"""A recording fake of the event poster: it keeps each post and answers from a script."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from dispatcher.errors import EventPostError


@dataclass(frozen=True)
class Post:
    """One post the fake received."""

    url: str
    headers: dict
    body: str

    @property
    def event(self) -> dict:
        """Return the posted event, parsed."""
        return json.loads(self.body)


@dataclass
class RecordingPoster:
    """Answer 200, or the status set in `answer`; raise while `down` is set."""

    posts: list[Post] = field(default_factory=list)
    answer: int = 200
    down: bool = False

    def post(self, url: str, headers, body: str) -> int:
        """Record the post and answer it."""
        if self.down:
            raise EventPostError("event endpoint unreachable: ConnectionError")
        self.posts.append(Post(url, dict(headers), body))
        return self.answer

    def types(self) -> list[str]:
        """Return the types of the events received, in order."""
        return [p.event["type"] for p in self.posts]
