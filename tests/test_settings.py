"""Typed settings: the flat configuration read once into groups the use cases are given."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatcher.config import DEFAULTS, load_config
from dispatcher.settings import Settings, load_settings


def test_the_defaults_become_typed_groups():
    settings = load_settings(environ={})

    assert settings.sending.lease == timedelta(seconds=6)
    assert settings.sending.concurrency == 32
    assert settings.queue.sweep_interval == timedelta(seconds=2)
    assert settings.queue.workers == 4
    assert settings.events.max_age == timedelta(hours=24)
    assert settings.conversation.default_region == "SE"
    assert settings.conversation.follow_up_after == timedelta(minutes=90)
    assert settings.retention.incident_data == timedelta(days=30)
    assert settings.retention.live_positions == timedelta(hours=72)
    assert settings.signature_tolerance == timedelta(minutes=5)
    assert settings.twilio.validity_period_s == 120


def test_environment_text_arrives_typed_in_its_group():
    settings = load_settings(environ={
        "DISPATCHER_SEND_LEASE_S": "12", "DISPATCHER_EVENTS_MAX_AGE_H": "2",
        "DISPATCHER_PAUSE_DEFAULT_H": "2", "DISPATCHER_QUEUE_WORKERS": "7",
    })

    assert settings.sending.lease == timedelta(seconds=12)
    assert settings.events.max_age == timedelta(hours=2)
    assert settings.conversation.pause_default_h == 2.0
    assert settings.queue.workers == 7


@pytest.mark.parametrize("base, callback", [
    ("https://dispatch.example.org", "https://dispatch.example.org/sms/status"),
    ("https://dispatch.example.org/", "https://dispatch.example.org/sms/status"),
    ("https://example.org/dispatcher/", "https://example.org/dispatcher/sms/status"),
])
def test_delivery_reports_come_back_under_the_public_url(base, callback):
    settings = load_settings({"PUBLIC_BASE_URL": base}, environ={})

    assert settings.sending.status_callback == callback
    assert not settings.public_base_url.endswith("/")


def test_a_validity_period_of_zero_means_twilios_default():
    settings = load_settings({"TWILIO_VALIDITY_PERIOD_S": 0}, environ={})

    assert settings.twilio.validity_period_s is None


def test_the_flat_values_are_kept_for_the_policy():
    settings = Settings.from_mapping(load_config({"WAVE_SIZE": 4}, environ={}))

    assert settings.values["WAVE_SIZE"] == 4
    assert set(settings.values) == set(DEFAULTS)


def test_a_missing_setting_is_refused_by_name():
    values = dict(DEFAULTS)
    del values["SEND_LEASE_S"]

    with pytest.raises(KeyError, match="SEND_LEASE_S"):
        Settings.from_mapping(values)


def test_a_setting_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError):
        Settings.from_mapping({**DEFAULTS, "SEND_LEASE_S": "soon"})


@pytest.mark.parametrize("raw, region", [("SE", "SE"), ("DE", "DE"), ("", None)])
def test_public_holidays_are_a_regions_or_each_aeds_own(raw, region):
    assert load_settings({"HOLIDAY_REGION": raw}, environ={}).holiday_region == region


def test_the_apps_aed_directory_takes_the_holiday_region(make_app):
    app = make_app(HOLIDAY_REGION="CH")

    assert app.extensions["dispatcher"].aeds.region == "CH"
