"""How an SMS adapter reports failure: an SmsSendError that also says whose fault it is."""

from __future__ import annotations

from dispatcher.errors import DispatchError, SmsSendError
from dispatcher.sms.codes import ACCOUNT, KINDS, NUMBER, TRANSIENT, Classification, classify

__all__ = ["ClassifiedSendError", "ProviderCheckError", "kind_of", "refusal"]


class ClassifiedSendError(SmsSendError):
    """A send that failed, with its kind: the number's, the account's, or transient.

    `permanent` stays what callers have always read: true only for the number's faults,
    so an account's fault never marks a volunteer.
    """

    def __init__(self, message: str, *, kind: str, reason: str = "",
                 provider_code: int | None = None, provider: str = ""):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        super().__init__(message, provider_code=provider_code, permanent=kind == NUMBER)
        self.kind = kind
        self.reason = reason
        self.provider = provider

    @classmethod
    def from_classification(cls, message: str, found: Classification, *,
                            provider: str = "") -> ClassifiedSendError:
        """Build the error a classification of the provider's answer calls for."""
        return cls(message, kind=found.kind, reason=found.reason, provider_code=found.code,
                   provider=provider)


def refusal(code: int | None, http_status: int | None = None, *,
            provider: str = "twilio") -> ClassifiedSendError:
    """Return the error a Twilio refusal with this code raises (for fakes and tests too)."""
    found = classify(code, http_status)
    return ClassifiedSendError.from_classification(
        f"{provider} error {code} (HTTP {http_status})", found, provider=provider)


def kind_of(error: SmsSendError) -> str:
    """Return the kind of any SmsSendError: its own, else from its code and permanence."""
    kind = getattr(error, "kind", None)
    if kind in KINDS:
        return kind
    if error.permanent:
        return NUMBER
    if error.provider_code is not None:
        return classify(error.provider_code).kind
    return TRANSIENT


class ProviderCheckError(DispatchError):
    """The provider refused the configured credentials or sender, or could not be reached."""

    status = 503
    code = "sms_provider_unusable"

    def __init__(self, message: str, *, kind: str = ACCOUNT, provider_code: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.provider_code = provider_code
