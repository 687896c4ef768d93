"""The world outside the hosts, over HTTP: a control room, a volunteer's app, Twilio, a scraper.

Each speaks to a host's base URL as the real one does: events signed with the client's
secret, positions with its bearer token, SMS signed for the public URL as Twilio signs them.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import requests
from twilio.request_validator import RequestValidator

from dispatcher.control_rooms.clients import sign
from tests.builders import TWILIO_TOKEN

# The URL Twilio calls, at the TLS proxy in front of the hosts; signatures are made for it.
PUBLIC = "https://dispatch.example.org"


def now() -> datetime:
    """Return the time now, in UTC."""
    return datetime.now(UTC)


def post_event(base: str, secret: str, type_: str, data: dict) -> requests.Response:
    """Sign an event with the client's secret and post it, as a control room does."""
    at = now()
    body = json.dumps({"type": type_, "timestamp": at.isoformat().replace("+00:00", "Z"),
                       "data": data})
    headers = {**sign(secret, f"msg_{uuid.uuid4().hex}", at, body),
               "Content-Type": "application/json"}
    return requests.post(f"{base}/api/v1/events", data=body, headers=headers, timeout=10)


def put_position(base: str, token: str, ref: str, at: tuple[float, float]) -> requests.Response:
    """Report a volunteer's live position, as the organisation's app does."""
    body = {"lat": at[0], "lon": at[1], "accuracy_m": 10,
            "at": now().isoformat().replace("+00:00", "Z")}
    return requests.put(f"{base}/api/v1/responders/{ref}/position", json=body,
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)


def sms_in(base: str, phone: str, body: str) -> requests.Response:
    """Post a volunteer's SMS to the inbound webhook, signed as Twilio signs the public URL."""
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": phone, "To": "+46700000000",
              "Body": body, "NumMedia": "0"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + "/sms/inbound", params)
    return requests.post(f"{base}/sms/inbound", data=params,
                         headers={"X-Twilio-Signature": signature}, timeout=10)


def ready(base: str) -> bool:
    """Tell whether a host answers /readyz with 200."""
    try:
        return requests.get(f"{base}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def metric(body: str, name: str) -> float | None:
    """Return the value of an unlabelled sample in a Prometheus text exposition."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", body, re.M)
    return float(found.group(1)) if found else None
