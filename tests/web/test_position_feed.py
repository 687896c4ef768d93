"""POST /api/v1/positions: many live positions from an operator's feed, each item on its own."""

from __future__ import annotations

import json
import random
import threading
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dispatcher.responders import feeds
from dispatcher.store.models import ChangeCounter, Position
from tests.builders import make_control_room, make_volunteer, offset
from tests.web.assertions import assert_error, bearer


def iso(at) -> str:
    """Write a time as the API takes it."""
    return at.isoformat().replace("+00:00", "Z")


def item(volunteer, at, north_m: float = 0.0, accuracy_m=15) -> dict:
    """Return one item of a feed for a volunteer, so many metres north of the centre."""
    lat, lon = offset(north_m)
    return {"ref": volunteer if isinstance(volunteer, str) else volunteer.ref, "lat": lat,
            "lon": lon, "accuracy_m": accuracy_m, "at": iso(at)}


def post_feed(http, token: str, body, content_type="application/json"):
    """POST a feed body (a dict, or raw text) with a bearer token."""
    data = body if isinstance(body, str) else json.dumps(body)
    return http.post("/api/v1/positions", data=data, content_type=content_type,
                     headers=bearer(token))


def live_rows(rt) -> dict[int, Position]:
    """Return every live position row, by volunteer id."""
    with rt.transaction() as session:
        return {p.responder_id: p for p in session.scalars(
            select(Position).where(Position.label == "live"))}


@pytest.fixture
def feed(rt):
    """An operator's feed whose token may write positions."""
    return make_control_room(rt, scopes=("positions:write",))


@pytest.fixture
def volunteers(rt, feed):
    """Three volunteers registered by the feed's organisation."""
    return [make_volunteer(rt, north_m=5000 + i, owner=feed) for i in range(3)]


def test_every_good_item_is_applied_with_consecutive_change_numbers(
    client, rt, clock, feed, volunteers
):
    now = clock.now()

    response = post_feed(client, feed.token, {"positions": [
        item(v, now, north_m=100 * i) for i, v in enumerate(volunteers)]})

    assert response.status_code == 200, response.json
    assert response.json["counts"] == {"applied": 3, "not_applied": 0, "invalid": 0,
                                       "unknown": 0}
    assert [r["index"] for r in response.json["results"]] == [0, 1, 2]
    assert response.json["results"][0] == {
        "index": 0, "ref": volunteers[0].ref, "applied": True, "reason": None, "fresh": True,
        "expires_at": iso(now + timedelta(minutes=15))}
    rows = live_rows(rt)
    seqs = [rows[v.id].seq for v in volunteers]
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    assert [rows[v.id].lat for v in volunteers] == [offset(100 * i)[0] for i in range(3)]
    with rt.transaction() as session:
        assert session.scalar(select(ChangeCounter.value)) == seqs[-1]


def test_bad_items_and_other_organisations_volunteers_are_answered_and_the_rest_applied(
    client, rt, clock, feed, volunteers
):
    other = make_control_room(rt, scopes=("positions:write",))
    theirs = make_volunteer(rt, north_m=5000, owner=other)
    now = clock.now()
    bad = dict(item(volunteers[1], now), lat=91)

    response = post_feed(client, feed.token, {"positions": [
        item(volunteers[0], now), bad, item(theirs, now), item("RZZZZZZZ", now),
        dict(item(volunteers[2], now), ref="R" * 17), "here", item(volunteers[2], now)]})

    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["applied"] for r in results] == [True, False, False, False, False, False, True]
    assert results[1]["ref"] == volunteers[1].ref
    assert results[1]["error"]["code"] == "invalid_payload"
    assert set(results[1]["error"]["fields"]) == {"lat"}
    for r, ref in ((results[2], theirs.ref), (results[3], "RZZZZZZZ")):
        assert r["error"] == {"code": "unknown_responder", "fields": {},
                              "message": f"no volunteer {ref} registered by this client"}
    assert (results[4]["ref"], set(results[4]["error"]["fields"])) == (None, {"ref"})
    assert results[5]["error"]["code"] == "invalid_payload"
    assert response.json["counts"] == {"applied": 2, "not_applied": 0, "invalid": 3,
                                       "unknown": 2}
    assert set(live_rows(rt)) == {volunteers[0].id, volunteers[2].id}


def test_a_stale_item_is_not_applied_and_says_why(client, rt, clock, feed, volunteers):
    now = clock.now()
    post_feed(client, feed.token, {"positions": [item(volunteers[0], now, north_m=100)]})

    response = post_feed(client, feed.token, {"positions": [
        item(volunteers[0], now - timedelta(seconds=5), north_m=900),
        item(volunteers[1], now - timedelta(seconds=5), north_m=900)]})

    assert [(r["applied"], r["reason"]) for r in response.json["results"]] == [
        (False, "a newer position is already known"), (True, None)]
    assert response.json["counts"]["not_applied"] == 1
    assert live_rows(rt)[volunteers[0].id].lat == pytest.approx(offset(100)[0])


def test_of_several_items_for_one_volunteer_only_the_newest_is_applied(
    client, rt, clock, feed, volunteers
):
    now = clock.now()

    response = post_feed(client, feed.token, {"positions": [
        item(volunteers[0], now - timedelta(seconds=10), north_m=100),
        item(volunteers[0], now, north_m=200),
        item(volunteers[0], now - timedelta(seconds=5), north_m=300)]})

    assert [r["applied"] for r in response.json["results"]] == [False, True, False]
    row = live_rows(rt)[volunteers[0].id]
    assert (row.lat, row.observed_at) == (pytest.approx(offset(200)[0]), now)


def test_an_item_from_the_future_beyond_clock_skew_is_invalid(
    client, rt, clock, feed, volunteers
):
    now = clock.now()

    response = post_feed(client, feed.token, {"positions": [
        item(volunteers[0], now + timedelta(minutes=10)), item(volunteers[1], now)]})

    first, second = response.json["results"]
    assert first["error"]["fields"] == {"at": "in the future"}
    assert second["applied"] is True
    assert set(live_rows(rt)) == {volunteers[1].id}


@pytest.mark.parametrize(("body", "status", "code"), [
    ("{", 400, "malformed_json"),
    ("[]", 422, "invalid_payload"),
    ("{}", 422, "invalid_payload"),
    ('{"positions": {"ref": "R2345678"}}', 422, "invalid_payload"),
], ids=["not-json", "a-list", "no-positions", "positions-not-a-list"])
def test_a_body_that_is_no_feed_is_refused_whole(client, rt, feed, volunteers, body, status,
                                                  code):
    response = post_feed(client, feed.token, body)

    assert_error(response, status, code)
    assert live_rows(rt) == {}


def test_more_items_than_the_bound_are_refused_whole(client, rt, clock, feed, volunteers):
    items = [item(volunteers[0], clock.now())] * (feeds.MAX_ITEMS + 1)

    response = post_feed(client, feed.token, {"positions": items})

    assert_error(response, 422, "invalid_payload", field="positions")
    assert live_rows(rt) == {}


def test_a_full_feed_of_the_bound_fits_the_body_limit(client, rt, clock, feed, volunteers):
    now = clock.now()
    padded = dict(item("R2345678", now), lat=-59.123456789012345, lon=-18.123456789012345,
                  accuracy_m=1234.5678901234567)
    body = {"positions": [padded] * (feeds.MAX_ITEMS - 1) + [item(volunteers[0], now)]}
    assert len(json.dumps(body)) > 64 * 1024

    response = post_feed(client, feed.token, body)

    assert response.status_code == 200, response.json
    assert response.json["counts"]["applied"] == 1


def test_a_body_over_its_size_limit_is_too_large(client, rt, clock, feed):
    response = post_feed(client, feed.token, " " * (feeds.MAX_BODY_BYTES + 1))

    assert_error(response, 413, "body_too_large")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer crt_unknown"}],
                         ids=["none", "unknown-token"])
def test_a_feed_without_a_valid_token_is_unauthorized(client, rt, clock, volunteers, headers):
    response = client.post("/api/v1/positions", headers=headers,
                           json={"positions": [item(volunteers[0], clock.now())]})

    assert_error(response, 401, "unauthorized")
    assert live_rows(rt) == {}


def test_a_feed_with_a_token_lacking_the_position_scope_is_forbidden(client, rt, clock):
    reader = make_control_room(rt, scopes=("incidents:read",))
    volunteer = make_volunteer(rt, north_m=5000, owner=reader)

    response = post_feed(client, reader.token, {"positions": [item(volunteer, clock.now())]})

    assert_error(response, 403, "forbidden")
    assert live_rows(rt) == {}


# --- Any item at all --------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                  max_size=3),
    max_leaves=8,
)
FIELD_VALUES = {
    "ref": st.text(max_size=20) | st.integers() | st.none(),
    "lat": st.floats() | st.integers() | st.text(max_size=5) | st.none(),
    "lon": st.floats() | st.integers() | st.booleans(),
    "accuracy_m": st.floats() | st.none() | st.text(max_size=3),
    "at": st.text(max_size=30) | st.datetimes().map(lambda d: d.isoformat()) | st.integers(),
}
ITEMS = JSON | st.fixed_dictionaries({}, optional=FIELD_VALUES)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.lists(ITEMS, max_size=6))
def test_any_items_are_answered_one_by_one_and_never_stop_the_good_one(
    client, rt, clock, feed, volunteers, bad
):
    good = item(volunteers[0], clock.now())
    clock.advance(seconds=1)  # each example's good item is newer than the last one's

    response = post_feed(client, feed.token, {"positions": [*bad, good]})

    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [r["index"] for r in results] == list(range(len(bad) + 1))
    assert results[-1]["applied"] is True, results[-1]
    for r in results[:-1]:
        assert r["applied"] is False or r["ref"] == volunteers[0].ref
        if "error" in r:
            assert r["error"]["code"] in ("invalid_payload", "unknown_responder")
    assert sum(response.json["counts"].values()) == len(results)


# --- Feeds at the same time -------------------------------------------------------------------


def test_feeds_posting_at_once_lose_no_update(app, rt, clock, feed):
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time; PostgreSQL is where writers race")
    volunteers = [make_volunteer(rt, north_m=5000 + i, owner=feed) for i in range(8)]
    base, posters, rounds = clock.now(), 3, 15
    newest: dict[str, object] = {}
    lock, failures = threading.Lock(), []

    def post(p: int) -> None:
        http, rng = app.test_client(), random.Random(p)
        for k in range(rounds):
            at = base - timedelta(seconds=60) + timedelta(milliseconds=k * posters + p)
            batch = rng.sample(volunteers, k=rng.randint(1, len(volunteers)))
            response = post_feed(http, feed.token, {"positions": [
                item(v, at, north_m=k) for v in batch]})
            with lock:
                if response.status_code != 200:
                    failures.append(response.status_code)
                for v in batch:
                    newest[v.ref] = max(newest.get(v.ref, at), at)

    threads = [threading.Thread(target=post, args=(p,)) for p in range(posters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert failures == [] and not any(t.is_alive() for t in threads)
    rows = live_rows(rt)
    assert {v.ref: rows[v.id].observed_at for v in volunteers if v.id in rows} == newest
    seqs = [row.seq for row in rows.values()]
    assert len(set(seqs)) == len(seqs)
    with rt.transaction() as session:
        assert session.scalar(select(ChangeCounter.value)) == max(seqs)
