"""Configuration: defaults, DISPATCHER_* environment overrides, then explicit settings."""

from __future__ import annotations

import pytest

from dispatcher.config import DEFAULTS, load_config


def test_without_overrides_the_settings_are_the_defaults():
    settings = load_config(environ={})

    assert settings == DEFAULTS
    assert settings is not DEFAULTS


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("SMS_BACKEND", "outbox"),
        ("DATABASE_URL", None),
        ("RADIUS_START_M", 1000),
        ("RADIUS_MAX_M", 3000),
        ("WAVE_SIZE", 10),
        ("MAX_ALERTED", 30),
        ("MIN_AGE", 18),
        ("MIN_PATIENT_AGE", 8),
        ("FATIGUE_MAX_ALERTS_24H", 3),
        ("SIGNATURE_TOLERANCE_S", 300),
        ("LIVE_POSITION_TTL_S", 900),
        ("TWILIO_TIMEOUT_S", 5.0),
        ("TWILIO_VALIDITY_PERIOD_S", 120),
        ("DEFAULT_REGION", "SE"),
        ("TIMEZONE", "Europe/Stockholm"),
    ],
)
def test_the_defaults_follow_the_design(key, expected):
    assert load_config(environ={})[key] == expected


@pytest.mark.parametrize(
    ("variable", "raw", "key", "expected"),
    [
        ("DISPATCHER_WAVE_SIZE", "12", "WAVE_SIZE", 12),
        ("DISPATCHER_RADIUS_MAX_M", " 5000 ", "RADIUS_MAX_M", 5000),
        ("DISPATCHER_TWILIO_TIMEOUT_S", "2.5", "TWILIO_TIMEOUT_S", 2.5),
        ("DISPATCHER_TWILIO_TIMEOUT_S", "3", "TWILIO_TIMEOUT_S", 3.0),
        ("DISPATCHER_SMS_BACKEND", "twilio", "SMS_BACKEND", "twilio"),
        ("DISPATCHER_DATABASE_URL", "postgresql+psycopg://db/dispatch", "DATABASE_URL",
         "postgresql+psycopg://db/dispatch"),
        ("DISPATCHER_DEFAULT_REGION", "NL", "DEFAULT_REGION", "NL"),
    ],
)
def test_an_environment_variable_overrides_its_default_with_the_defaults_type(
    variable, raw, key, expected
):
    value = load_config(environ={variable: raw})[key]

    assert value == expected
    assert type(value) is type(expected)


def test_an_empty_environment_variable_leaves_the_default():
    assert load_config(environ={"DISPATCHER_WAVE_SIZE": ""})["WAVE_SIZE"] == 10


def test_variables_without_the_prefix_or_for_unknown_settings_are_ignored():
    settings = load_config(environ={"WAVE_SIZE": "99", "DISPATCHER_NO_SUCH_SETTING": "1"})

    assert settings["WAVE_SIZE"] == 10
    assert "NO_SUCH_SETTING" not in settings


def test_explicit_settings_beat_the_environment():
    settings = load_config(
        {"WAVE_SIZE": 5, "SMS_BACKEND": "outbox"},
        environ={"DISPATCHER_WAVE_SIZE": "12", "DISPATCHER_SMS_BACKEND": "twilio",
                 "DISPATCHER_MIN_AGE": "16"},
    )

    assert (settings["WAVE_SIZE"], settings["SMS_BACKEND"], settings["MIN_AGE"]) == (
        5, "outbox", 16)


def test_the_process_environment_is_read_when_none_is_given(monkeypatch):
    monkeypatch.setenv("DISPATCHER_MAX_ALERTED", "40")

    assert load_config()["MAX_ALERTED"] == 40


def test_explicit_settings_are_not_shared_with_the_defaults():
    load_config({"WAVE_SIZE": 1}, environ={})

    assert DEFAULTS["WAVE_SIZE"] == 10


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("DISPATCHER_WAVE_SIZE", "ten"),
        ("DISPATCHER_WAVE_SIZE", "2.5"),
        ("DISPATCHER_RETENTION_DAYS", "30d"),
        ("DISPATCHER_TWILIO_TIMEOUT_S", "fast"),
    ],
)
def test_a_value_of_the_wrong_type_raises_value_error_naming_the_variable(variable, raw):
    with pytest.raises(ValueError, match=variable):
        load_config(environ={variable: raw})
