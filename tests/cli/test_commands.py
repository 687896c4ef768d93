"""The flask commands: clients, imports, demo data, the demo control room and the outbox."""

from __future__ import annotations

import json
import re
import threading

import pytest
from sqlalchemy import select, text
from werkzeug.serving import make_server

from dispatcher.control_rooms import clients
from dispatcher.store.models import Aed, Alert, Client, Incident, Message, Responder
from tests.builders import count_rows, create_incident, make_control_room, make_volunteer


def printed(output: str, label: str) -> str:
    """Return the value printed after a label such as "token:"."""
    match = re.search(rf"^\s*{label}:\s+(\S+)\s*$", output, re.MULTILINE)
    assert match, f"no {label} in:\n{output}"
    return match.group(1)


def status_code_with(http, token: str) -> int:
    """Ask the status API about an unknown incident with a token: 401 unknown, 404 known."""
    return http.get("/api/v1/incidents/nothing-here",
                    headers={"Authorization": f"Bearer {token}"}).status_code


# ---------------------------------------------------------------- clients


def test_clients_create_prints_a_secret_and_a_token_and_stores_only_the_tokens_hash(
    cli, rt, client
):
    result = cli("clients", "create", "SOS Alarm Stockholm")

    assert result.exit_code == 0, result.output
    secret, token = printed(result.output, "secret"), printed(result.output, "token")
    assert secret.startswith("whsec_") and token.startswith("crt_")
    with rt.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM clients"))]
    [row] = rows
    assert row["name"] == "SOS Alarm Stockholm"
    assert row["secret"] == secret
    assert row["token_hash"] == clients.hash_token(token)
    assert not any(token in str(value) for value in row.values())
    assert status_code_with(client, token) == 404  # known token, unknown incident


def test_clients_create_takes_scopes_and_an_events_url(cli, rt, client):
    result = cli("clients", "create", "feed", "--scope", "positions:write",
                 "--events-url", "https://cad.example.org/hooks")

    assert result.exit_code == 0, result.output
    with rt.transaction() as session:
        made = session.scalars(select(Client)).one()
        assert (made.scopes, made.events_url) == ("positions:write",
                                                  "https://cad.example.org/hooks")
    assert status_code_with(client, printed(result.output, "token")) == 403


@pytest.mark.parametrize("url", ["ftp://cad.example.org/x", "cad.example.org/hooks", "https://"])
def test_clients_create_refuses_an_events_url_that_is_not_http(cli, rt, url):
    result = cli("clients", "create", "feed", "--events-url", url)

    assert result.exit_code != 0
    assert "events URL must be http" in result.output
    assert count_rows(rt, Client) == 0


def test_an_events_url_can_be_changed_and_removed(cli, rt):
    cli("clients", "create", "feed", "--events-url", "https://cad.example.org/old")

    changed = cli("clients", "set-events-url", "feed", "https://cad.example.org/new")
    with rt.transaction() as session:
        assert session.scalars(select(Client.events_url)).one() == "https://cad.example.org/new"
    removed = cli("clients", "set-events-url", "feed")
    refused = cli("clients", "set-events-url", "feed", "mailto:cad@example.org")
    unknown = cli("clients", "set-events-url", "nobody", "https://cad.example.org/x")

    assert (changed.exit_code, removed.exit_code) == (0, 0)
    assert "no events are sent" in removed.output
    with rt.transaction() as session:
        assert session.scalars(select(Client.events_url)).one() is None
    assert refused.exit_code != 0 and "must be http" in refused.output
    assert unknown.exit_code != 0 and "no client named 'nobody'" in unknown.output


def test_clients_create_refuses_a_name_that_exists(cli, rt):
    first = cli("clients", "create", "SOS Alarm")

    second = cli("clients", "create", "SOS Alarm")

    assert first.exit_code == 0
    assert second.exit_code != 0
    assert "exists already" in second.output
    assert "whsec_" not in second.output
    assert count_rows(rt, Client) == 1


# ---------------------------------------------------------------- demo data


def test_demo_seed_fills_an_empty_database_and_prints_the_demo_credentials(cli, rt, client):
    result = cli("demo", "seed", "--volunteers", "50", "--aeds", "10")

    assert result.exit_code == 0, result.output
    assert "50 volunteers, 10 AEDs" in result.output
    assert (count_rows(rt, Responder), count_rows(rt, Aed)) == (50, 10)
    assert printed(result.output, "secret").startswith("whsec_")
    token = printed(result.output, "token")
    assert token.startswith("crt_")
    assert status_code_with(client, token) == 404


def test_demo_seed_again_writes_nothing_new_and_replaces_the_token(cli, rt, client):
    first = cli("demo", "seed", "--volunteers", "50", "--aeds", "10")
    old_secret, old_token = printed(first.output, "secret"), printed(first.output, "token")

    second = cli("demo", "seed", "--volunteers", "50", "--aeds", "10")

    assert second.exit_code == 0, second.output
    assert "volunteers," not in second.output  # no demo data written this time
    assert (count_rows(rt, Responder), count_rows(rt, Aed), count_rows(rt, Client)) == (50, 10, 1)
    new_token = printed(second.output, "token")
    assert printed(second.output, "secret") == old_secret
    assert new_token != old_token
    assert status_code_with(client, old_token) == 401
    assert status_code_with(client, new_token) == 404


def test_demo_seed_is_the_same_for_the_same_seed(make_app):
    phones = []
    for _ in range(2):
        app = make_app()
        rt = app.extensions["dispatcher"]
        with rt.transaction() as session:
            session.execute(text("DELETE FROM positions"))
            session.execute(text("DELETE FROM responders"))
            session.execute(text("DELETE FROM aeds"))
        assert app.test_cli_runner().invoke(
            args=["demo", "seed", "--volunteers", "20", "--aeds", "2", "--seed", "7"]
        ).exit_code == 0
        with rt.transaction() as session:
            phones.append(sorted(session.scalars(select(Responder.phone))))

    assert phones[0] == phones[1] and len(phones[0]) == 20


# ---------------------------------------------------------------- imports


def test_import_volunteers_prints_each_problem_with_its_line(cli, rt, tmp_path):
    path = tmp_path / "volunteers.csv"
    path.write_text(
        "phone,name,language,birth_year,cert_expires,travel_mode\n"
        "+46701110001,Anna Andersson,sv,1980,2027-06-30,walk\n"
        "12345,Bad Phone,sv,1980,2027-06-30,walk\n"
        "+46701110002,Bad Year,sv,19x0,2027-06-30,walk\n",
        encoding="utf-8",
    )

    result = cli("import", "volunteers", str(path))

    assert result.exit_code == 0, result.output
    assert "line 3: phone: not a valid number (skipped)" in result.output
    assert re.search(r"^line 4: birth_year: .*\(skipped\)$", result.output, re.MULTILINE)
    assert "1 volunteers written, 2 rows skipped, 0 warnings" in result.output
    assert count_rows(rt, Responder) == 1


def test_import_volunteers_reads_a_file_saved_with_a_byte_order_mark(cli, rt, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("phone,name,language,birth_year,cert_expires,travel_mode\n"
                    "+46701110001,Anna Andersson,sv,1980,2027-06-30,walk\n",
                    encoding="utf-8-sig")

    result = cli("import", "volunteers", str(path))

    assert "1 volunteers written, 0 rows skipped" in result.output
    assert count_rows(rt, Responder) == 1


def test_import_volunteers_with_an_owner_registers_them_to_that_client(cli, rt, tmp_path):
    room = make_control_room(rt, name="sos-north")
    path = tmp_path / "volunteers.csv"
    path.write_text("phone,name,language,birth_year,cert_expires,travel_mode\n"
                    "+46701110001,Anna Andersson,sv,1980,2027-06-30,walk\n", encoding="utf-8")

    result = cli("import", "volunteers", str(path), "--owner", "sos-north")

    assert result.exit_code == 0, result.output
    with rt.transaction() as session:
        assert session.scalars(select(Responder.owner_id)).all() == [room.client.id]


def test_import_volunteers_for_an_unknown_owner_is_refused_and_writes_nothing(cli, rt, tmp_path):
    path = tmp_path / "volunteers.csv"
    path.write_text("phone,name,language,birth_year,cert_expires,travel_mode\n"
                    "+46701110001,Anna Andersson,sv,1980,2027-06-30,walk\n", encoding="utf-8")

    result = cli("import", "volunteers", str(path), "--owner", "nobody")

    assert result.exit_code != 0
    assert "no client named 'nobody'; nothing imported" in result.output
    assert count_rows(rt, Responder) == 0


def test_import_aeds_takes_geojson_by_its_suffix(cli, rt, tmp_path):
    path = tmp_path / "aeds.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "node/1", "properties": {"name": "Bahnhof"},
         "geometry": {"type": "Point", "coordinates": [8.54, 47.37]}},
        {"type": "Feature", "id": "node/2", "properties": {}, "geometry": None},
    ]}), encoding="utf-8")

    result = cli("import", "aeds", str(path))

    assert result.exit_code == 0, result.output
    assert "line 2: lat: missing position (skipped)" in result.output
    assert "1 AEDs written, 1 rows skipped, 0 warnings" in result.output
    assert count_rows(rt, Aed) == 1


def test_import_aeds_reports_the_zurich_files_unreadable_hours_as_kept(cli, rt, shared_data):
    result = cli("import", "aeds", str(shared_data / "aeds_zurich_osm.csv"))

    assert result.exit_code == 0, result.output
    assert "865 AEDs written, 0 rows skipped, 17 warnings" in result.output
    assert len(re.findall(r"^line \d+: opening_hours: .*\(kept\)$", result.output,
                          re.MULTILINE)) == 17


def test_import_refuses_a_file_in_an_unknown_encoding_and_writes_nothing(cli, rt, tmp_path):
    path = tmp_path / "aeds.csv"
    # Neither UTF-8 nor Windows-1252 (0x81 and 0x8d are undefined there).
    path.write_bytes(b"lat,lon,name\n47.37,8.54,Bahnhof \x81\x8d\n")

    result = cli("import", "aeds", str(path))

    assert result.exit_code != 0
    assert "nothing imported" in result.output
    assert count_rows(rt, Aed) == 0


def test_import_refuses_a_file_that_does_not_exist(cli, tmp_path):
    result = cli("import", "volunteers", str(tmp_path / "missing.csv"))

    assert result.exit_code != 0
    assert "does not exist" in result.output


# ---------------------------------------------------------------- outbox


def test_outbox_lists_the_messages_newest_last(cli, rt, client):
    near = make_volunteer(rt, north_m=200, phone="+46701000001")
    nearer = make_volunteer(rt, north_m=100, phone="+46701000002")
    create_incident(client, make_control_room(rt), rt)

    result = cli("outbox")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert all("->" in line and "CPR ALERT" in line for line in lines)
    with rt.transaction() as session:
        stored = session.scalars(select(Message).order_by(Message.id)).all()
        assert [m.address for m in stored] == [line.split()[2] for line in lines]
    assert {line.split()[2] for line in lines} == {near.phone, nearer.phone}


def test_outbox_shows_only_the_newest_messages_up_to_the_limit(cli, rt, client):
    make_volunteer(rt, north_m=200, phone="+46701000001")
    make_volunteer(rt, north_m=100, phone="+46701000002")
    create_incident(client, make_control_room(rt), rt)
    with rt.transaction() as session:
        newest = session.scalars(select(Message).order_by(Message.id.desc())).first().address

    result = cli("outbox", "--limit", "1")

    assert result.exit_code == 0
    [line] = result.output.splitlines()
    assert newest in line


def test_outbox_prints_nothing_when_there_are_no_messages(cli):
    result = cli("outbox")

    assert (result.exit_code, result.output) == (0, "")


# ---------------------------------------------------------------- demo incident


@pytest.fixture
def server(app):
    """Serve the app on a loopback port in a thread; return its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def test_demo_incident_posts_a_signed_incident_that_alerts_nearby_volunteers(
    cli, rt, sms, server
):
    assert cli("demo", "seed", "--volunteers", "300", "--aeds", "5").exit_code == 0

    result = cli("demo", "incident", "--url", server, "--seed", "1", "--id", "DEMO-1")

    assert result.exit_code == 0, result.output
    assert "-> 202" in result.output
    answer = json.loads(result.output.split("\n", 1)[1])
    assert answer["id"] == "DEMO-1" and answer["state"] == "open"
    assert sms.sent, "the nearest volunteers were texted"
    assert answer["counts"]["alerted"] == len(sms.sent)
    with rt.transaction() as session:
        incident = session.scalars(select(Incident).where(Incident.external_id == "DEMO-1")).one()
        alerts = session.scalars(select(Alert).where(Alert.incident_id == incident.id)).all()
        alerted = {a.responder.phone: a for a in alerts}
        assert len(alerts) == rt.policy.wave_size  # dozens are in range: the first wave is full
        assert set(alerted) == {m.to for m in sms.sent}
        assert all(a.distance_m <= incident.radius_m for a in alerts)
        for message in sms.sent:
            assert message.body.endswith(alerted[message.to].code)
            assert incident.address not in message.body  # the address only after YES


def test_demo_incident_at_a_given_place_uses_that_place(cli, rt, server):
    assert cli("demo", "seed", "--volunteers", "10", "--aeds", "1").exit_code == 0

    result = cli("demo", "incident", "--url", server, "--id", "DEMO-2",
                 "--lat", "59.3326", "--lon", "18.0649")

    assert result.exit_code == 0, result.output
    with rt.transaction() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.external_id, incident.lat, incident.lon) == ("DEMO-2", 59.3326, 18.0649)


@pytest.mark.parametrize(("flag", "state"), [([], "closed"), (["--cancelled"], "cancelled")])
def test_demo_end_closes_or_cancels_the_incident_and_stands_everyone_down(
    cli, rt, sms, server, flag, state
):
    assert cli("demo", "seed", "--volunteers", "300", "--aeds", "5").exit_code == 0
    assert cli("demo", "incident", "--url", server, "--seed", "1", "--id", "DEMO-3").exit_code == 0
    alerted = len(sms.sent)

    result = cli("demo", "end", "DEMO-3", "--url", server, *flag)

    assert result.exit_code == 0, result.output
    assert json.loads(result.output.split("\n", 1)[1])["state"] == state
    assert len(sms.sent) == 2 * alerted  # one stand-down for each alert


def test_demo_end_of_an_unknown_incident_fails_with_the_answer(cli, server):
    assert cli("demo", "seed", "--volunteers", "1", "--aeds", "0").exit_code == 0

    result = cli("demo", "end", "NO-SUCH", "--url", server)

    assert result.exit_code != 0
    assert "-> 404" in result.output


def test_demo_incident_needs_the_demo_client(cli):
    result = cli("demo", "incident", "--url", "http://127.0.0.1:9")

    assert result.exit_code != 0
    assert "demo seed" in result.output


def test_demo_incident_says_when_the_service_cannot_be_reached(cli):
    assert cli("demo", "seed", "--volunteers", "1", "--aeds", "0").exit_code == 0
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there

    result = cli("demo", "incident", "--url", closed)

    assert result.exit_code != 0
    assert "cannot reach" in result.output
