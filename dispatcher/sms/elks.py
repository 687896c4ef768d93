"""46elks, the second provider: texts go out through it while the first one is down.

Why 46elks: a Swedish provider with Nordic coverage (our default region is SE) and a small,
documented HTTP API, so the adapter needs no SDK; and a failover provider must not share the
first one's outage. Sources:

- https://46elks.com/docs/send-sms: `POST https://api.46elks.com/a1/sms` with HTTP Basic
  auth (API username and password) and the form fields `from`, `to`, `message`, optional
  `whendelivered` (the delivery report URL). It answers JSON with the message's `id` and
  `status` ("created"); a refusal is a 4xx or 5xx with a short text body.
- https://46elks.com/docs/sms-delivery-reports: the report is a form POST of `id`, `status`
  ("sent", "delivered" or "failed") and, once delivered, `delivered` (UTC); it is retried
  until the webhook answers 200-204.
- https://46elks.com/docs/get-account: `GET https://api.46elks.com/a1/me`, the account.

46elks documents no error codes, so a refusal is classified by its HTTP status and by what
its text is about (the recipient, the sender, the credit); the text itself may quote the
number, so it is never logged or kept.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from requests import Session
from requests.exceptions import RequestException

from dispatcher.settings import ElksSettings
from dispatcher.sms import ProviderMessage
from dispatcher.sms.codes import ACCOUNT, NUMBER, TRANSIENT, Classification
from dispatcher.sms.deadline import DeadlineExceeded, DeadlineSession
from dispatcher.sms.failures import ClassifiedSendError, ProviderCheckError

__all__ = ["API", "DeliveryReport", "ElksSender", "classify_answer", "parse_delivery_report"]

log = logging.getLogger(__name__)

API = "https://api.46elks.com"
# What 46elks says of a message it accepted, in the words the service's statuses use.
STATUSES = {"created": "queued", "sent": "sent", "delivered": "delivered", "failed": "failed"}


def classify_answer(http_status: int, text: str = "") -> Classification:
    """Classify a 46elks refusal by its HTTP status and what its text is about."""
    text = text.lower()
    if http_status == 401:
        return Classification(ACCOUNT, "46elks refused the API username or password")
    if http_status == 429:
        return Classification(TRANSIENT, "46elks asked us to slow down")
    if http_status >= 500:
        return Classification(TRANSIENT, "46elks had trouble of its own")
    if not 400 <= http_status < 500:
        return Classification(TRANSIENT, "46elks gave an answer we do not understand")
    if http_status == 402 or re.search(r"credit|balance|payment|funds", text):
        return Classification(ACCOUNT, "the 46elks account is out of credit")
    if re.search(r"\bfrom\b|sender", text):
        return Classification(ACCOUNT, "46elks refused our sender")
    if re.search(r"\bto\b|recipient|number", text):
        return Classification(NUMBER, "46elks refused the number as not valid")
    return Classification(ACCOUNT, "46elks refused the request")


@dataclass(frozen=True)
class DeliveryReport:
    """A 46elks delivery report, in the service's words."""

    sid: str
    status: str  # sent | delivered | failed
    delivered_at: str | None  # UTC, as 46elks writes it


def parse_delivery_report(form: Mapping[str, str]) -> DeliveryReport:
    """Read the form 46elks posts to `whendelivered`; raise ValueError if it is not one."""
    sid, status = form.get("id", ""), form.get("status", "")
    if not sid or status not in ("sent", "delivered", "failed"):
        raise ValueError("not a 46elks delivery report")
    return DeliveryReport(sid=sid, status=status, delivered_at=form.get("delivered") or None)


class ElksSender:
    """Send through 46elks' SMS API, each call within a total deadline."""

    name = "46elks"

    def __init__(
        self,
        username: str,
        password: str,
        sender: str,
        *,
        base_url: str = API,
        timeout_s: float = 5.0,
        deadline_s: float = 10.0,
        report_url: str | None = None,
        pool_size: int = 10,
        session: Session | None = None,
    ):
        if not username or not password:
            raise ValueError("the 46elks backend needs ELKS_USERNAME and ELKS_PASSWORD")
        if not sender:
            raise ValueError("the 46elks backend needs ELKS_FROM")
        self._auth = (username, password)
        self._from = sender
        self._base = base_url.rstrip("/")
        self._timeout = timeout_s
        # 46elks posts its own form (id, status, delivered), not Twilio's: when the service
        # takes its reports at a URL of their own, every message names that one.
        self._report_url = report_url
        self._session = session or DeadlineSession(deadline_s, pool_size=pool_size)

    @classmethod
    def from_settings(cls, settings: ElksSettings, *, pool_size: int = 10,
                      report_url: str | None = None) -> ElksSender:
        """Build a sender from the service's 46elks settings, with this many connections."""
        return cls(settings.username, settings.password, settings.sender,
                   timeout_s=settings.timeout_s, deadline_s=settings.deadline_s,
                   report_url=report_url, pool_size=pool_size)

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> ProviderMessage:
        """Send one SMS; map every refusal or transport failure to a ClassifiedSendError.

        46elks carries SMS only: a channel-qualified address ("whatsapp:+46...") goes out
        as an SMS to its number, SMS being every volunteer's fallback channel.
        """
        form = {"from": self._from, "to": to.rpartition(":")[2], "message": body}
        report = self._report_url or status_callback
        if report:
            form["whendelivered"] = report
        started = time.perf_counter()
        try:
            answer = self._session.post(f"{self._base}/a1/sms", data=form, auth=self._auth,
                                        timeout=self._timeout)
        except RequestException as exc:
            what = "deadline passed" if isinstance(exc, DeadlineExceeded) else "unreachable"
            log.warning("46elks %s: %s in %.0f ms", what, type(exc).__name__,
                        (time.perf_counter() - started) * 1000)
            raise ClassifiedSendError(f"46elks {what}: {type(exc).__name__}", kind=TRANSIENT,
                                      reason=f"no answer from 46elks ({what})",
                                      provider=self.name) from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        if answer.status_code >= 300:
            found = classify_answer(answer.status_code, answer.text)
            log.warning("46elks refused message: http=%s kind=%s in %.0f ms",
                        answer.status_code, found.kind, elapsed_ms)
            raise ClassifiedSendError.from_classification(
                f"46elks refused (HTTP {answer.status_code}): {found.reason}", found,
                provider=self.name)
        try:
            sid, status = _accepted(answer.json())
        except ValueError as exc:
            log.warning("46elks answered what is not a message in %.0f ms", elapsed_ms)
            raise ClassifiedSendError("46elks answer is not a message", kind=TRANSIENT,
                                      reason="46elks gave an answer we do not understand",
                                      provider=self.name) from exc
        if status == "failed":
            raise ClassifiedSendError("46elks failed the message at once", kind=TRANSIENT,
                                      reason="46elks could not send it", provider=self.name)
        log.info("46elks accepted %s status=%s in %.0f ms", sid, status, elapsed_ms)
        return ProviderMessage(sid=sid, status=status)

    def check(self) -> None:
        """Fetch the account once to prove the credentials; raise ProviderCheckError if not."""
        try:
            answer = self._session.get(f"{self._base}/a1/me", auth=self._auth,
                                       timeout=self._timeout)
        except RequestException as exc:
            raise ProviderCheckError(
                f"46elks could not be reached to check the credentials: {type(exc).__name__}",
                kind=TRANSIENT,
            ) from exc
        if answer.status_code in (401, 403):
            raise ProviderCheckError(
                f"DISPATCHER_ELKS_USERNAME/PASSWORD refused by 46elks ({answer.status_code})")
        if answer.status_code >= 300:
            found = classify_answer(answer.status_code, answer.text)
            raise ProviderCheckError(f"46elks refused the account check: {found.reason}",
                                     kind=found.kind)
        log.info("46elks credentials accepted")


def _accepted(payload: object) -> tuple[str, str]:
    """Return the id and status of a message 46elks accepted; raise ValueError if none."""
    if not isinstance(payload, dict) or not payload.get("id"):
        raise ValueError("no message id")
    return str(payload["id"]), STATUSES.get(str(payload.get("status", "created")), "queued")
