"""The virtual phones page: read each volunteer's SMS thread and answer as them (outbox only).

The app runs with the outbox SMS backend, the default, and the page enabled, which it is not
by default; the recording fake stands in for the provider. Volunteers are alerted by posting
an incident as a control room does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatcher.config import DEFAULTS
from dispatcher.store.models import Message
from dispatcher.web import sessions
from dispatcher.web.phones import QUICK_REPLIES
from tests.builders import alert_of, count_rows, create_incident, make_control_room, make_volunteer

ADDRESS = "Drottninggatan 53, 3 tr"  # the address builders.incident_data gives
MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


@pytest.fixture
def settings(settings):
    """The page is served only when asked for."""
    return {**settings, "PHONES_ENABLED": True}


def csrf_from(html: str) -> str:
    """Return the CSRF token of the page's reply form."""
    tokens = set(re.findall(r'<input type="hidden" name="csrf" value="([^"]+)">', html))
    assert len(tokens) == 1, html
    return tokens.pop()


def page(client, path: str, **query) -> str:
    """GET a page, assert it was served, and return its HTML."""
    response = client.get(path, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def thread_of(rt, responder) -> list[tuple[str, str]]:
    """Return the volunteer's messages as (direction, body), oldest first."""
    with rt.transaction() as session:
        return [(m.direction, m.body) for m in session.scalars(
            select(Message).where(Message.responder_id == responder.id).order_by(Message.id))]


@pytest.fixture
def alerted(client, rt):
    """Two volunteers alerted for one incident (Anna nearer, so texted first) and one not."""
    anna = make_volunteer(rt, north_m=200, name="Anna Andersson")
    bo = make_volunteer(rt, north_m=400, name="Bo Berg")
    far = make_volunteer(rt, north_m=8000, name="Cecilia Far")
    response = create_incident(client, make_control_room(rt), rt)
    assert response.status_code == 202, response.json
    return anna, bo, far


def post_reply(client, responder, body: str, csrf: str | None):
    """Post a reply as the volunteer, as the page's form does."""
    form = {"body": body} if csrf is None else {"body": body, "csrf": csrf}
    return client.post(f"/phones/{responder.ref}", data=form)


# --- the list --------------------------------------------------------------------------------


def test_the_list_shows_volunteers_with_messages_newest_first(client, alerted):
    anna, bo, far = alerted

    html = page(client, "/phones/")

    assert "Cecilia Far" not in html and far.ref not in html
    # Bo was texted after Anna, so his thread has the newest message.
    assert html.index(bo.ref) < html.index(anna.ref)
    assert f'href="/phones/{anna.ref}"' in html
    assert anna.phone in html and "CPR ALERT" in html


def test_a_reply_brings_a_thread_to_the_top_of_the_list(client, alerted):
    anna, bo, _ = alerted
    csrf = csrf_from(page(client, f"/phones/{anna.ref}"))
    post_reply(client, anna, "YES", csrf)

    html = page(client, "/phones/")

    assert html.index(anna.ref) < html.index(bo.ref)


def test_the_list_without_messages_says_so(client, rt):
    make_volunteer(rt, north_m=200, name="Anna Andersson")

    html = page(client, "/phones/")

    assert "No messages yet" in html and "Anna Andersson" not in html


@pytest.mark.parametrize("search", [
    lambda v: v.ref,
    lambda v: v.ref.lower(),
    lambda v: "anna",
    lambda v: "Andersson",
    lambda v: v.phone,
    lambda v: v.phone[-6:],
], ids=["ref", "ref in lower case", "first name, any case", "surname", "E.164 number",
        "end of the number"])
def test_the_list_can_be_searched_by_reference_name_or_number(client, alerted, search):
    anna, bo, _ = alerted

    html = page(client, "/phones/", q=search(anna))

    assert anna.ref in html
    assert bo.ref not in html


def test_a_search_that_matches_nobody_lists_nobody(client, alerted):
    anna, bo, _ = alerted

    html = page(client, "/phones/", q="Zygmunt")

    assert anna.ref not in html and bo.ref not in html
    assert 'value="Zygmunt"' in html  # the search box keeps what was typed


def test_a_volunteers_name_is_escaped_on_the_pages(client, rt):
    evil = make_volunteer(rt, north_m=200, name="<script>alert(1)</script>")
    create_incident(client, make_control_room(rt), rt)

    for html in (page(client, "/phones/"), page(client, f"/phones/{evil.ref}")):
        assert "<script>" not in html
        assert "&lt;script&gt;" in html


# --- one thread ------------------------------------------------------------------------------


def test_a_thread_shows_the_alert_the_volunteer_received(client, rt, alerted):
    anna, _, _ = alerted
    [(direction, alert_text)] = thread_of(rt, anna)

    html = page(client, f"/phones/{anna.ref}")

    assert direction == "out" and alert_text.startswith("CPR ALERT")
    assert alert_text in html
    assert "Anna Andersson" in html and anna.phone in html
    assert ADDRESS not in html  # the alert never carries the address


def test_an_unknown_reference_is_not_found(client, alerted):
    assert client.get("/phones/RNOBODY1").status_code == 404


def test_yes_from_the_page_accepts_the_alert_and_shows_the_details(client, rt, alerted):
    anna, _, _ = alerted
    csrf = csrf_from(page(client, f"/phones/{anna.ref}"))

    response = post_reply(client, anna, "YES", csrf)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/phones/{anna.ref}#end")
    alert = alert_of(rt, anna)
    assert (alert.state, alert.role) == ("accepted", "cpr")
    thread = thread_of(rt, anna)
    assert thread[-2] == ("in", "YES")
    assert thread[-1][0] == "out" and ADDRESS in thread[-1][1]
    assert ADDRESS in page(client, f"/phones/{anna.ref}")


def test_a_reply_to_an_unknown_reference_is_not_found(client, rt, alerted):
    anna, _, _ = alerted
    csrf = csrf_from(page(client, f"/phones/{anna.ref}"))
    before = count_rows(rt, Message)

    response = client.post("/phones/RNOBODY1", data={"body": "YES", "csrf": csrf})

    assert response.status_code == 404
    assert count_rows(rt, Message) == before


def test_an_empty_reply_changes_nothing(client, rt, alerted):
    anna, _, _ = alerted
    csrf = csrf_from(page(client, f"/phones/{anna.ref}"))
    before = count_rows(rt, Message)

    response = post_reply(client, anna, "   ", csrf)

    assert response.status_code == 302
    assert count_rows(rt, Message) == before
    assert alert_of(rt, anna).state in ("pending", "sent", "delivered")


def foreign_token(app, ref: str) -> str:
    """Return a valid token of another browser's session."""
    return csrf_from(page(app.test_client(), f"/phones/{ref}"))


@pytest.mark.parametrize("token", [
    lambda app, ref: None,
    lambda app, ref: "",
    lambda app, ref: "not-the-token",
    foreign_token,
], ids=["no token", "empty token", "wrong token", "another session's token"])
def test_a_reply_without_this_sessions_csrf_token_is_refused_and_changes_nothing(
    app, client, rt, alerted, token
):
    anna, _, _ = alerted
    page(client, f"/phones/{anna.ref}")  # this session has a token of its own
    before = (count_rows(rt, Message), alert_of(rt, anna).state)

    response = post_reply(client, anna, "YES", token(app, anna.ref))

    assert response.status_code == 400
    assert (count_rows(rt, Message), alert_of(rt, anna).state) == before


def test_a_reply_from_a_session_that_never_loaded_the_page_is_refused(app, rt, alerted):
    anna, _, _ = alerted
    before = count_rows(rt, Message)

    response = post_reply(app.test_client(), anna, "YES", "guessed")

    assert response.status_code == 400
    assert count_rows(rt, Message) == before


def test_the_quick_reply_buttons_post_their_word(client, alerted):
    anna, _, _ = alerted
    html = page(client, f"/phones/{anna.ref}")

    [quick] = re.findall(r'<form class="quick"(.*?)</form>', html, re.DOTALL)

    assert f'method="post" action="/phones/{anna.ref}"' in quick
    assert 'name="csrf"' in quick
    words = re.findall(r'<button name="body" value="([^"]+)">([^<]+)</button>', quick)
    assert words == [(w, w) for w in QUICK_REPLIES]


@pytest.mark.parametrize(("word", "state"), [("YES", "accepted"), ("NO", "declined")])
def test_a_quick_reply_is_applied_like_a_typed_one(client, rt, alerted, word, state):
    anna, _, _ = alerted
    csrf = csrf_from(page(client, f"/phones/{anna.ref}"))

    assert post_reply(client, anna, word, csrf).status_code == 302

    assert alert_of(rt, anna).state == state
    assert ("in", word) in thread_of(rt, anna)


def test_pause_8_from_the_page_pauses_the_volunteer(client, alerted):
    anna, _, _ = alerted
    csrf = csrf_from(page(client, f"/phones/{anna.ref}"))

    post_reply(client, anna, "PAUSE 8", csrf)

    assert "paused until" in page(client, f"/phones/{anna.ref}")


# --- not with a real provider ----------------------------------------------------------------


TWILIO = {
    "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "x",
    "TWILIO_FROM": "+46700000000",
}


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/phones/"), ("get", "/phones/{ref}"), ("post", "/phones/{ref}"),
])
def test_the_virtual_phones_are_not_served_with_the_twilio_backend(make_app, rt, method, path):
    anna = make_volunteer(rt, north_m=200, name="Anna Andersson")
    real = make_app(**TWILIO, PHONES_ENABLED=False).test_client()

    response = getattr(real, method)(path.format(ref=anna.ref), data={"body": "YES"})

    assert response.status_code == 404
    assert anna.phone not in response.get_data(as_text=True)


def test_enabling_the_virtual_phones_with_a_real_provider_stops_the_app_from_starting(make_app):
    with pytest.raises(ValueError, match="PHONES_ENABLED"):
        make_app(**TWILIO)


# --- off unless asked for --------------------------------------------------------------------


def test_the_virtual_phones_are_off_by_default_and_only_make_run_turns_them_on():
    assert DEFAULTS["PHONES_ENABLED"] is False
    run = MAKEFILE.read_text().split("\nrun:")[1].split("\n\n")[0]
    assert "DISPATCHER_PHONES_ENABLED=1 $(FLASK) serve" in run


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/phones/"), ("get", "/phones/{ref}"), ("post", "/phones/{ref}"),
    ("get", "/phones/static/phones/phones.css"),
])
def test_anonymous_users_get_nothing_from_the_virtual_phones_when_they_are_off(
    make_app, rt, alerted, method, path
):
    anna, _, _ = alerted
    off = make_app(PHONES_ENABLED=False).test_client()

    response = getattr(off, method)(path.format(ref=anna.ref), data={"body": "YES"})

    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert anna.phone not in body and "Anna" not in body
    assert alert_of(rt, anna).state != "accepted"


# --- headers and the session cookie ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/phones/", "/phones/{ref}", "/phones/RNOBODY1",
                                  "/phones/static/phones/phones.css"])
def test_every_answer_of_the_page_forbids_framing_sniffing_and_foreign_content(
    client, alerted, path
):
    anna, _, _ = alerted

    response = client.get(path.format(ref=anna.ref))
    response.close()  # a static file is streamed

    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; frame-ancestors 'none'")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_pages_have_no_inline_styles_or_scripts_the_policy_would_block(client, alerted):
    anna, _, _ = alerted

    for html in (page(client, "/phones/"), page(client, f"/phones/{anna.ref}")):
        assert "<style" not in html and "style=" not in html and "<script" not in html


@pytest.mark.parametrize(("base", "secure"), [
    ("https://dispatch.example.org", True), ("http://127.0.0.1:5000", False),
])
def test_the_session_cookie_is_httponly_lax_and_secure_over_https(
    make_app, alerted, base, secure
):
    anna, _, _ = alerted
    http = make_app(PUBLIC_BASE_URL=base).test_client()

    response = http.get(f"/phones/{anna.ref}")

    [cookie] = response.headers.getlist("Set-Cookie")
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert cookie.startswith("session=")
    assert "httponly" in flags and "samesite=lax" in cookie.lower()
    assert ("secure" in flags) is secure


def test_workers_of_one_deployment_accept_each_others_sessions(make_app, rt, alerted):
    anna, _, _ = alerted
    first, second = make_app().test_client(), make_app().test_client()
    csrf = csrf_from(page(first, f"/phones/{anna.ref}"))
    second.set_cookie("session", first.get_cookie("session").value)

    response = post_reply(second, anna, "YES", csrf)

    assert response.status_code == 302
    assert alert_of(rt, anna).state == "accepted"


def test_the_secret_key_is_made_once_and_kept_in_the_instance_folder(tmp_path):
    first = sessions.instance_secret(str(tmp_path))

    assert sessions.instance_secret(str(tmp_path)) == first
    assert len(first) == 64
    kept = tmp_path / sessions.SECRET_FILE
    assert kept.read_text() == first and kept.stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == [sessions.SECRET_FILE]
