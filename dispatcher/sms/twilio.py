"""The Twilio provider, through the official SDK."""

from __future__ import annotations

import logging
import time
from typing import Any

from requests.adapters import HTTPAdapter
from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from dispatcher.errors import SmsSendError
from dispatcher.settings import TwilioSettings
from dispatcher.sms import PERMANENT_ERRORS, ProviderMessage

log = logging.getLogger(__name__)


class TwilioSender:
    """Send through Twilio's Messages API with an explicit timeout and a validity period."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_: str = "",
        messaging_service_sid: str = "",
        timeout_s: float = 5.0,
        validity_period_s: int | None = 120,
        http_client: HttpClient | None = None,
        pool_size: int = 10,
    ):
        if not account_sid or not auth_token:
            raise ValueError("the twilio backend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        if not from_ and not messaging_service_sid:
            raise ValueError("the twilio backend needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        self._from = from_
        self._service = messaging_service_sid
        self._validity = validity_period_s
        self._client = Client(
            account_sid, auth_token, http_client=http_client or pooled_client(timeout_s, pool_size)
        )

    @classmethod
    def from_settings(cls, settings: TwilioSettings, *, pool_size: int = 10) -> TwilioSender:
        """Build a sender from the service's Twilio settings, with this many connections."""
        return cls(
            settings.account_sid,
            settings.auth_token,
            from_=settings.sender,
            messaging_service_sid=settings.messaging_service_sid,
            timeout_s=settings.timeout_s,
            validity_period_s=settings.validity_period_s,
            pool_size=pool_size,
        )

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> ProviderMessage:
        """Create the message at Twilio; map every SDK or transport failure to SmsSendError."""
        kwargs: dict[str, Any] = {"to": to, "body": body}
        if self._service:
            kwargs["messaging_service_sid"] = self._service
        else:
            kwargs["from_"] = self._from
        if status_callback:
            kwargs["status_callback"] = status_callback
        if self._validity:
            kwargs["validity_period"] = self._validity
        started = time.perf_counter()
        try:
            message = self._client.messages.create(**kwargs)
        except (TwilioRestException, TwilioServiceException) as exc:
            log.warning(
                "twilio refused message: http=%s code=%s in %.0f ms",
                exc.status, exc.code, (time.perf_counter() - started) * 1000,
            )
            raise SmsSendError(
                f"twilio error {exc.code} (HTTP {exc.status})",
                provider_code=exc.code,
                permanent=exc.code in PERMANENT_ERRORS,
            ) from exc
        except (TwilioException, RequestException, ValueError) as exc:
            # ValueError: a 2xx answer whose body is not JSON (a proxy or captive portal).
            log.warning(
                "twilio unreachable: %s in %.0f ms",
                type(exc).__name__, (time.perf_counter() - started) * 1000,
            )
            raise SmsSendError(f"twilio unreachable: {type(exc).__name__}") from exc
        log.info(
            "twilio accepted %s status=%s in %.0f ms",
            message.sid, message.status, (time.perf_counter() - started) * 1000,
        )
        return ProviderMessage(sid=message.sid, status=str(message.status or "queued"))


def pooled_client(timeout_s: float, pool_size: int) -> TwilioHttpClient:
    """Return the SDK's HTTP client keeping up to `pool_size` connections open for reuse.

    Sends run concurrently on one client, and the SDK's own pool is smaller than a
    fan-out: each send beyond it would open a new TLS connection and throw it away.
    """
    client = TwilioHttpClient(timeout=timeout_s)
    client.session.mount("https://", HTTPAdapter(pool_maxsize=max(1, pool_size)))
    return client
