"""The real event poster: requests, with an explicit timeout and no redirects."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from http.cookiejar import DefaultCookiePolicy

import requests

from dispatcher.errors import EventPostError

log = logging.getLogger(__name__)


class HttpPoster:
    """POST events over HTTP(S) with a timeout; transport failures become EventPostError.

    Only the status counts: a redirect is not followed (it is a failure to deliver), the
    answer's body is never read, and no cookie a control room sets is sent back.
    """

    def __init__(self, timeout_s: float = 5.0):
        self._timeout = timeout_s
        self._session = requests.Session()
        self._session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    def post(self, url: str, headers: Mapping[str, str], body: str) -> int:
        """POST the body and return the status; a redirect counts as a failure to deliver."""
        started = time.perf_counter()
        try:
            response = self._session.post(
                url, data=body.encode(), headers=dict(headers), timeout=self._timeout,
                allow_redirects=False, stream=True,
            )
        except (requests.RequestException, ValueError) as exc:
            # ValueError: a URL requests cannot even parse (bad IDNA, stray characters).
            raise EventPostError(f"event endpoint unreachable: {type(exc).__name__}") from exc
        response.close()  # the status is the answer; the body is not read
        log.info("event endpoint answered %s in %.0f ms", response.status_code,
                 (time.perf_counter() - started) * 1000)
        return response.status_code
