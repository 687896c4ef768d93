"""Errors outside the endpoints' own checks still answer with the JSON error document."""

from __future__ import annotations

import pytest

from tests.web.assertions import assert_error


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing", "/api/v1/incidents", "/api/v1/incidents/", "/api/v2/events",
     "/api/v1/responders/R2345678", "/api/v1/responders/R2345678/position/extra"],
)
def test_unknown_url_is_not_found_as_json(client, path):
    response = client.get(path)

    assert_error(response, 404, "not_found")


WRONG_METHODS = [
    ("GET", "/api/v1/events", {"POST"}),
    ("PUT", "/api/v1/events", {"POST"}),
    ("DELETE", "/api/v1/events", {"POST"}),
    ("POST", "/api/v1/incidents/CAD-1", {"GET"}),
    ("DELETE", "/api/v1/incidents/CAD-1", {"GET"}),
    ("GET", "/api/v1/responders/R2345678/position", {"PUT"}),
    ("POST", "/api/v1/responders/R2345678/position", {"PUT"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS)
def test_wrong_method_is_not_allowed_as_json(client, method, path, allowed):
    response = client.open(path, method=method)

    assert_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS)
def test_wrong_method_answer_names_the_allowed_methods(client, method, path, allowed):
    response = client.open(path, method=method)

    # RFC 9110 section 15.5.6: a 405 MUST carry an Allow header.
    offered = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert allowed <= offered
