"""The Twilio provider, through the official SDK, each call bounded by a total deadline."""

from __future__ import annotations

import logging
import time
from typing import Any

from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from dispatcher.settings import TwilioSettings
from dispatcher.sms import ProviderMessage
from dispatcher.sms.codes import TRANSIENT, classify
from dispatcher.sms.deadline import DeadlineExceeded, DeadlineSession
from dispatcher.sms.failures import ClassifiedSendError, ProviderCheckError

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
        deadline_s: float = 10.0,
        validity_period_s: int | None = 120,
        http_client: HttpClient | None = None,
        pool_size: int = 10,
    ):
        if not account_sid or not auth_token:
            raise ValueError("the twilio backend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        if not from_ and not messaging_service_sid:
            raise ValueError("the twilio backend needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        self._account = account_sid
        self._from = from_
        self._service = messaging_service_sid
        self._validity = validity_period_s
        self._client = Client(
            account_sid, auth_token,
            http_client=http_client or BoundedTwilioClient(timeout_s, deadline_s, pool_size),
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
            deadline_s=settings.deadline_s,
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
            found = classify(exc.code, exc.status)
            log.warning(
                "twilio refused message: http=%s code=%s kind=%s in %.0f ms",
                exc.status, exc.code, found.kind, (time.perf_counter() - started) * 1000,
            )
            raise ClassifiedSendError.from_classification(
                f"twilio error {exc.code} (HTTP {exc.status}): {found.reason}", found,
                provider=self.name,
            ) from exc
        except (TwilioException, RequestException, ValueError) as exc:
            # ValueError: a 2xx answer whose body is not JSON (a proxy or captive portal).
            what = "deadline passed" if isinstance(exc, DeadlineExceeded) else "unreachable"
            log.warning(
                "twilio %s: %s in %.0f ms",
                what, type(exc).__name__, (time.perf_counter() - started) * 1000,
            )
            raise ClassifiedSendError(
                f"twilio {what}: {type(exc).__name__}", kind=TRANSIENT,
                reason=f"no answer from Twilio ({what})", provider=self.name,
            ) from exc
        log.info(
            "twilio accepted %s status=%s in %.0f ms",
            message.sid, message.status, (time.perf_counter() - started) * 1000,
        )
        return ProviderMessage(sid=message.sid, status=str(message.status or "queued"))


    def check(self) -> None:
        """Fetch the account once to prove the credentials; raise ProviderCheckError if not."""
        try:
            self._client.api.v2010.accounts(self._account).fetch()
        except (TwilioRestException, TwilioServiceException) as exc:
            found = classify(exc.code, exc.status)
            if exc.status == 401 or exc.code == 20003:
                message = (f"DISPATCHER_TWILIO_ACCOUNT_SID/AUTH_TOKEN refused by Twilio "
                           f"({exc.code or exc.status})")
            elif exc.status == 404 or exc.code == 20404:
                message = (f"DISPATCHER_TWILIO_ACCOUNT_SID names no account these "
                           f"credentials can see ({exc.code or exc.status})")
            else:
                message = f"Twilio refused the account check: {found.reason} ({exc.code})"
            raise ProviderCheckError(message, kind=found.kind, provider_code=exc.code) from exc
        except (TwilioException, RequestException, ValueError) as exc:
            raise ProviderCheckError(
                f"Twilio could not be reached to check the credentials: {type(exc).__name__}",
                kind=TRANSIENT,
            ) from exc
        log.info("twilio credentials accepted")


class BoundedTwilioClient(TwilioHttpClient):
    """The SDK's HTTP client on pooled connections, each call ending by a total deadline.

    Sends run concurrently on one client, and the SDK's own pool is smaller than a
    fan-out: each send beyond it would open a new TLS connection and throw it away.
    """

    def __init__(self, timeout_s: float, deadline_s: float, pool_size: int = 10):
        super().__init__(timeout=timeout_s)
        if self.session is not None:
            self.session.close()
        self.session = DeadlineSession(deadline_s, pool_size=pool_size)
