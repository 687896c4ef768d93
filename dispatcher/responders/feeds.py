"""Positions from operator feeds: many volunteers' live positions in one request.

Each item is checked on its own: a bad item, or one naming a volunteer the client did not
register, is answered with its index and reason, and the others are written all the same, in
one statement (`responders.live.write`) with consecutive numbers of the change sequence.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from dispatcher.domain.inputs import Line
from dispatcher.domain.policy import CLOCK_SKEW
from dispatcher.errors import InvalidPayload, translate_errors
from dispatcher.responders import live
from dispatcher.responders.positions import REF_MAX, PositionReport, outcome
from dispatcher.runtime import Runtime

MAX_ITEMS = 1000
MAX_BODY_BYTES = 256 * 1024  # 1,000 items at their longest fit


class FeedItem(PositionReport):
    """One item of a feed: a position report naming its volunteer."""

    ref: Line(REF_MAX, min_length=1)


class Feed(BaseModel):
    """The body of a feed request."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    positions: list[FeedItem] = Field(max_length=MAX_ITEMS)


class _Envelope(BaseModel):
    """A feed's body with its items unread, to tell the request's errors from the items'."""

    model_config = ConfigDict(strict=True, extra="ignore")
    positions: list[object] = Field(max_length=MAX_ITEMS)


def report_positions(rt: Runtime, session: Session, owner_id: int, body: bytes) -> dict:
    """Write the valid items of a feed for the client's volunteers; answer for every item."""
    now = rt.clock.now()
    items, results = _parse(body, now)
    newest: dict[str, int] = {}
    for i, item in items.items():
        # Of several reports of one volunteer, only the newest can be applied.
        if item.ref not in newest or items[newest[item.ref]].at < item.at:
            newest[item.ref] = i
    reports = [live.LiveReport(items[i].ref, items[i].lat, items[i].lon, items[i].accuracy_m,
                               items[i].at) for i in sorted(newest.values())]
    found = live.write(session, reports, owner_id=owner_id)
    for i, item in items.items():
        if item.ref not in found:
            results[i] = _error(i, item.ref, "unknown_responder",
                                f"no volunteer {item.ref} registered by this client")
        else:
            applied = found[item.ref] and newest[item.ref] == i
            results[i] = {"index": i, **outcome(item.ref, applied, item.at, now,
                                                rt.policy.live_ttl)}
    answer = [results[i] for i in sorted(results)]
    return {"results": answer, "counts": _counts(answer)}


def _parse(body: bytes, now: datetime) -> tuple[dict[int, FeedItem], dict[int, dict]]:
    """Return the valid items by index, and the answers of the invalid ones."""
    try:
        items, results = dict(enumerate(Feed.model_validate_json(body).positions)), {}
    except ValidationError:
        items, results = _parse_each(body)  # only now is it worth reading item by item
    return _checked_items(items, results, now), results


def _parse_each(body: bytes) -> tuple[dict[int, FeedItem], dict[int, dict]]:
    """Read a feed item by item; raise for a body that is no feed at all."""
    try:
        raw = _Envelope.model_validate_json(body).positions
    except ValidationError as exc:
        raise translate_errors(exc) from None
    items: dict[int, FeedItem] = {}
    results: dict[int, dict] = {}
    for i, item in enumerate(raw):
        ref = item.get("ref") if isinstance(item, dict) else None
        try:
            items[i] = FeedItem.model_validate_json(json.dumps(item))
        except ValidationError as exc:
            error = translate_errors(exc)
            fields = error.fields if isinstance(error, InvalidPayload) else {"": error.message}
            ref = ref if isinstance(ref, str) and "ref" not in fields else None
            results[i] = _error(i, ref, "invalid_payload", "the position is not valid", fields)
    return items, results


def _checked_items(
    items: dict[int, FeedItem], results: dict[int, dict], now: datetime
) -> dict[int, FeedItem]:
    """Move the items from the future beyond clock skew to the answers; return the others."""
    for i in [i for i, item in items.items() if item.at - now > CLOCK_SKEW]:
        item = items.pop(i)
        results[i] = _error(i, item.ref, "invalid_payload", "the position is from the future",
                            {"at": "in the future"})
    return items


def _error(index: int, ref: str | None, code: str, message: str,
           fields: dict[str, str] | None = None) -> dict:
    """Return the answer for an item that was not written."""
    return {"index": index, "ref": ref, "applied": False,
            "error": {"code": code, "message": message, "fields": fields or {}}}


def _counts(results: list[dict]) -> dict[str, int]:
    """Count the answers: applied, not applied (stale), invalid, unknown volunteers."""
    counts = {"applied": 0, "not_applied": 0, "invalid": 0, "unknown": 0}
    for r in results:
        if "error" in r:
            counts["invalid" if r["error"]["code"] == "invalid_payload" else "unknown"] += 1
        else:
            counts["applied" if r["applied"] else "not_applied"] += 1
    return counts
