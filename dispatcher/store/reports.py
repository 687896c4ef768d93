"""The delivery reports table: each provider report stored first, applied once by a job.

It lives beside `store.models` (whose Base it shares) and is imported by the package, so
the schema is whole wherever any part of the store is imported.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatcher.store.columns import UTCDateTime
from dispatcher.store.models import Base


class DeliveryReport(Base):
    """A provider's delivery report for a message we sent, applied by the `report` job."""

    __tablename__ = "delivery_reports"
    # One row per SID and status: a report Twilio sends again is stored once.
    __table_args__ = (
        UniqueConstraint("sid", "status"),
        Index("ix_delivery_reports_due", "processed_at", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # a word of incidents.delivery.RANK
    error_code: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Processed once (store.inbox): as for inbound messages.
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
