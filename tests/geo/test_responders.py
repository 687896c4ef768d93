import random
import threading
from datetime import UTC, datetime

import numpy as np
import pytest

from geo.responders import Position, PositionChange, ResponderHit, ResponderIndex

INCIDENT = (59.3326, 18.0649)


def make_position(id, *, responder_id=1, lat=59.3326, lon=18.0649, kind="home", schedule=None):
    return Position(
        id=id,
        responder_id=responder_id,
        lat=lat,
        lon=lon,
        kind=kind,
        schedule=schedule,
        observed_at=None,
        accuracy_m=None,
    )


def make_live(id, *, responder_id=1, lat=59.3326, lon=18.0649):
    return Position(
        id=id,
        responder_id=responder_id,
        lat=lat,
        lon=lon,
        kind="live",
        schedule=None,
        observed_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        accuracy_m=15.0,
    )


def upserted(seq, position):
    return PositionChange(seq=seq, position=position, position_id=position.id, deleted=False)


def deleted(seq, position_id):
    return PositionChange(seq=seq, position=None, position_id=position_id, deleted=True)


def north_of_incident(metres):
    """Return the latitude `metres` north of the incident (1 m is about 9e-6 degrees)."""
    return INCIDENT[0] + metres / 111_195.0


def make_index(*positions):
    index = ResponderIndex()
    index.apply(upserted(seq, position) for seq, position in enumerate(positions, start=1))
    return index


def nearest_ids(index, radius_m=5_000, **options):
    return [hit.responder_id for hit in index.nearest_responders(*INCIDENT, radius_m, **options)]


def test_a_new_index_is_empty_and_has_seen_no_changes():
    index = ResponderIndex()
    assert index.last_seq == 0
    assert len(index) == 0
    assert index.apply([]) == 0
    assert index.nearest_responders(*INCIDENT, 5_000) == []


def test_apply_indexes_positions_and_advances_last_seq():
    home, work = make_position(10), make_position(11, kind="work", lat=north_of_incident(500))
    index = ResponderIndex()
    assert index.apply([upserted(4, home), upserted(9, work)]) == 2
    assert index.last_seq == 9
    assert len(index) == 2
    assert index.position(11) == work


def test_applying_the_same_changes_again_changes_nothing():
    changes = [upserted(1, make_position(10)), upserted(2, make_position(11, responder_id=2))]
    index = ResponderIndex()
    index.apply(changes)
    assert index.apply(changes) == 0
    assert index.last_seq == 2
    assert len(index) == 2


def test_only_changes_above_last_seq_are_applied():
    index = make_index(make_position(10), make_position(11), make_position(12))
    moved = make_position(11, lat=north_of_incident(900))
    changes = [upserted(2, make_position(11)), upserted(3, make_position(12)), upserted(4, moved)]
    assert index.apply(changes) == 1
    assert index.position(11) == moved


def test_changes_are_applied_in_sequence_order():
    first, then = make_position(10), make_position(10, lat=north_of_incident(300))
    index = ResponderIndex()
    index.apply(iter([upserted(2, then), upserted(1, first)]))
    assert index.position(10) == then
    assert index.last_seq == 2


def test_an_update_moves_the_position():
    index = make_index(make_position(10))
    index.apply([upserted(2, make_position(10, lat=north_of_incident(2_000)))])
    assert nearest_ids(index, radius_m=1_000) == []
    assert nearest_ids(index, radius_m=3_000) == [1]
    assert len(index) == 1


def test_a_tombstone_removes_the_position():
    index = make_index(make_position(10), make_position(11, responder_id=2))
    assert index.apply([deleted(3, 10)]) == 1
    assert index.position(10) is None
    assert len(index) == 1
    assert nearest_ids(index) == [2]


def test_a_tombstone_may_carry_the_deleted_row():
    position = make_position(10)
    index = make_index(position)
    index.apply([PositionChange(seq=2, position=position, position_id=10, deleted=True)])
    assert len(index) == 0


def test_a_tombstone_for_an_unknown_position_still_advances_last_seq():
    index = ResponderIndex()
    assert index.apply([deleted(5, 99)]) == 1
    assert index.last_seq == 5
    assert len(index) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (PositionChange(2, None, 10, deleted=False), "no position"),
        (PositionChange(2, make_position(11), 10, deleted=False), "carries position 11"),
        (PositionChange(2, make_position(10, lat=91.0), 10, deleted=False), "latitude"),
    ],
    ids=["upsert without a position", "mismatched ids", "invalid latitude"],
)
def test_a_malformed_change_rejects_the_whole_batch(change, message):
    index = ResponderIndex()
    with pytest.raises(ValueError, match=message):
        index.apply([upserted(1, make_position(12)), change])
    assert index.last_seq == 0
    assert len(index) == 0


def test_live_position_follows_the_responder():
    index = ResponderIndex()
    assert index.live_position(1) is None
    index.apply([upserted(1, make_position(10)), upserted(2, make_live(11))])
    assert index.live_position(1) == make_live(11)
    moved = make_live(11, lat=north_of_incident(100))
    index.apply([upserted(3, moved)])
    assert index.live_position(1) == moved
    index.apply([deleted(4, 11)])
    assert index.live_position(1) is None
    assert index.position(10) is not None


def test_a_position_that_stops_being_live_is_no_longer_the_live_position():
    index = make_index(make_live(11))
    index.apply([upserted(2, make_position(11, kind="home"))])
    assert index.live_position(1) is None


def test_a_position_that_becomes_live_is_the_live_position():
    index = make_index(make_position(11, kind="work"))
    index.apply([upserted(2, make_live(11))])
    assert index.live_position(1).id == 11


def test_a_live_position_handed_to_another_responder_moves_with_it():
    index = make_index(make_live(11, responder_id=1))
    index.apply([upserted(2, make_live(11, responder_id=2))])
    assert index.live_position(1) is None
    assert index.live_position(2).id == 11


def test_the_newest_live_position_wins_and_outlives_the_old_ones_tombstone():
    index = make_index(make_live(11))
    index.apply([upserted(2, make_live(12)), deleted(3, 11)])
    assert index.live_position(1).id == 12


def test_responders_come_nearest_first():
    index = make_index(
        make_position(10, responder_id=1, lat=north_of_incident(800)),
        make_position(11, responder_id=2, lat=north_of_incident(200)),
        make_position(12, responder_id=3, lat=north_of_incident(500)),
    )
    hits = index.nearest_responders(*INCIDENT, 1_000)
    assert [hit.responder_id for hit in hits] == [2, 3, 1]
    assert [hit.distance_m for hit in hits] == pytest.approx([200, 500, 800], abs=0.01)
    assert hits[0] == ResponderHit(2, index.position(11), hits[0].distance_m)


def test_positions_outside_the_radius_are_not_returned():
    index = make_index(make_position(10, lat=north_of_incident(1_001)))
    assert nearest_ids(index, radius_m=1_000) == []


def test_a_responder_appears_once_at_their_nearest_position():
    index = make_index(
        make_position(10, responder_id=1, kind="home", lat=north_of_incident(900)),
        make_live(11, responder_id=1, lat=north_of_incident(100)),
        make_position(12, responder_id=2, kind="work", lat=north_of_incident(400)),
    )
    hits = index.nearest_responders(*INCIDENT, 1_000)
    assert [(hit.responder_id, hit.position.id) for hit in hits] == [(1, 11), (2, 12)]


def test_unusable_positions_are_skipped_for_the_next_usable_one():
    index = make_index(
        make_live(11, responder_id=1, lat=north_of_incident(100)),
        make_position(10, responder_id=1, kind="home", lat=north_of_incident(900)),
        make_position(12, responder_id=2, kind="work", lat=north_of_incident(400)),
    )
    hits = index.nearest_responders(*INCIDENT, 1_000, usable=lambda p: p.kind != "live")
    assert [(hit.responder_id, hit.position.id) for hit in hits] == [(2, 12), (1, 10)]


def test_a_responder_with_no_usable_position_is_left_out():
    index = make_index(make_position(10, responder_id=1), make_position(11, responder_id=2))
    assert nearest_ids(index, usable=lambda p: p.responder_id != 1) == [2]


def test_equidistant_responders_are_ordered_by_responder_id():
    # Position ids run opposite to responder ids, so ordering by position
    # id would give the wrong answer.
    index = make_index(
        make_position(10, responder_id=3),
        make_position(11, responder_id=2),
        make_position(12, responder_id=1),
    )
    assert nearest_ids(index) == [1, 2, 3]


@pytest.mark.parametrize(("limit", "expected"), [(None, [1, 2, 3, 4]), (3, [1, 2, 3]), (0, [])])
def test_limit_counts_responders_not_positions(limit, expected):
    index = make_index(
        make_position(9, responder_id=1, lat=north_of_incident(10)),
        make_position(10, responder_id=1, lat=north_of_incident(20)),
        make_position(11, responder_id=2, lat=north_of_incident(30)),
        make_position(12, responder_id=4, lat=north_of_incident(50)),
        make_position(13, responder_id=3, lat=north_of_incident(50)),
    )
    assert nearest_ids(index, limit=limit) == expected


def test_a_tie_at_the_limit_goes_to_the_lower_responder_id():
    index = make_index(make_position(10, responder_id=2), make_position(11, responder_id=1))
    assert nearest_ids(index, limit=1) == [1]


def test_negative_limit_is_rejected():
    with pytest.raises(ValueError, match="limit"):
        make_index(make_position(10)).nearest_responders(*INCIDENT, 1_000, limit=-1)


def test_usable_may_consult_the_index():
    index = make_index(make_position(10, responder_id=1), make_live(11, responder_id=2))

    def has_live(position):
        return index.live_position(position.responder_id) is not None

    assert nearest_ids(index, usable=has_live) == [2]


def test_concurrent_apply_and_queries_agree_with_applying_in_one_thread():
    responders, moves = 50, 40
    changes = [
        upserted(
            seq,
            make_live(
                id=100 + seq % responders,
                responder_id=seq % responders,
                lat=north_of_incident(seq % 997),
            ),
        )
        for seq in range(1, responders * moves + 1)
    ]
    expected = ResponderIndex()
    expected.apply(changes)
    index = ResponderIndex()
    errors = []
    start = threading.Barrier(8)

    def feed():
        start.wait()
        # Like a process before a query: pull the changes above last_seq.
        # Feeders race, so their batches overlap and some are re-applied.
        while (seen := index.last_seq) < len(changes):
            index.apply(changes[seen : seen + 37])

    def query():
        start.wait()
        for _ in range(200):
            hits = index.nearest_responders(*INCIDENT, 2_000)
            ids = [hit.responder_id for hit in hits]
            if len(ids) != len(set(ids)):
                errors.append(ids)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    threads += [threading.Thread(target=query) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert index.last_seq == expected.last_seq
    assert len(index) == len(expected) == responders
    assert all(index.position(100 + r) == expected.position(100 + r) for r in range(responders))
    assert all(index.live_position(r) == expected.live_position(r) for r in range(responders))


# --- travel modes, rings and bulk loads ----------------------------------------------------

from geo.columns import PositionRows, encode, micros  # noqa: E402
from geo.positions import ResponderChange  # noqa: E402


def moded(seq, responder_id, mode):
    return ResponderChange(seq=seq, responder_id=responder_id, mode=mode)


def test_a_ring_holds_one_modes_positions_between_two_distances_nearest_first():
    index = ResponderIndex()
    index.apply([moded(1, 1, "car"), moded(2, 2, "walk"), moded(3, 3, "car")])
    index.apply([upserted(4, make_position(10, responder_id=1, lat=north_of_incident(300))),
                 upserted(5, make_position(11, responder_id=2, lat=north_of_incident(200))),
                 upserted(6, make_position(12, responder_id=3, lat=north_of_incident(100)))])
    assert [(key, owner) for _, key, owner in index.ring(*INCIDENT, "car", 500)] == [(12, 3),
                                                                                      (10, 1)]
    assert [key for _, key, _ in index.ring(*INCIDENT, "car", 500, beyond_m=150)] == [10]
    assert [key for _, key, _ in index.ring(*INCIDENT, "walk", 500)] == [11]
    assert index.ring(*INCIDENT, "bike", 500) == []


def test_a_new_travel_mode_moves_the_responders_positions_to_that_modes_search():
    index = make_index(make_position(10), make_live(11))
    index.apply([moded(3, 1, "bike")])
    assert index.mode_of(1) == "bike"
    assert index.ring(*INCIDENT, "walk", 100) == []
    assert sorted(key for _, key, _ in index.ring(*INCIDENT, "bike", 100)) == [10, 11]
    assert nearest_ids(index) == [1]


def test_an_unknown_mode_is_refused_with_the_batch():
    index = ResponderIndex()
    with pytest.raises(ValueError, match="unknown mode"):
        index.apply([upserted(1, make_position(10)), moded(2, 1, "swim")])
    assert index.last_seq == 0 and len(index) == 0


def rows_of(positions):
    kinds, schedules = ([], {}), ([], {})
    return PositionRows(
        ids=np.array([p.id for p in positions], np.int64),
        responder_ids=np.array([p.responder_id for p in positions], np.int64),
        lat=np.array([p.lat for p in positions]), lon=np.array([p.lon for p in positions]),
        kind_codes=encode([p.kind for p in positions], *kinds), kind_names=kinds[0],
        schedule_codes=encode([p.schedule for p in positions], *schedules),
        schedule_names=schedules[0],
        observed_us=np.array([micros(p.observed_at) for p in positions], np.int64),
        accuracy_m=np.array([np.nan if p.accuracy_m is None else p.accuracy_m
                             for p in positions]))


def test_a_bulk_load_answers_as_the_same_positions_applied_one_by_one():
    rng = random.Random(3)
    positions = [make_position(i, responder_id=i % 40, lat=north_of_incident(rng.uniform(0, 900)),
                               kind=rng.choice(["home", "work"]),
                               schedule=rng.choice([None, "Mo-Fr 08:00-17:00"]))
                 for i in range(1, 120)]
    positions += [make_live(200 + r, responder_id=r, lat=north_of_incident(r * 7))
                  for r in range(0, 40, 3)]
    modes = {r: rng.choice(["walk", "bike", "car"]) for r in range(40)}
    one_by_one = ResponderIndex()
    one_by_one.apply([moded(r + 1, r, mode) for r, mode in modes.items()])
    one_by_one.apply(upserted(100 + n, p) for n, p in enumerate(positions))
    bulk = ResponderIndex()
    codes = [("walk", "bike", "car").index(mode) for mode in modes.values()]
    bulk.load(rows_of(positions), np.array(list(modes)), np.array(codes), last_seq=500)

    assert (bulk.last_seq, len(bulk)) == (500, len(positions))
    for mode in ("walk", "bike", "car"):
        assert bulk.ring(*INCIDENT, mode, 1_000) == one_by_one.ring(*INCIDENT, mode, 1_000)
    assert bulk.nearest_responders(*INCIDENT, 1_000) == one_by_one.nearest_responders(
        *INCIDENT, 1_000)
    assert all(bulk.live_position(r) == one_by_one.live_position(r) for r in range(40))
    assert [bulk.position(p.id) for p in positions] == positions
    # and it goes on from there like any index
    bulk.apply([deleted(501, 1), upserted(502, make_position(1, lat=north_of_incident(5)))])
    assert bulk.position(1).lat == north_of_incident(5)


def test_a_bulk_load_with_bad_coordinates_changes_nothing():
    index = make_index(make_position(10))
    bad = rows_of([make_position(11)])
    bad.lat[0] = 91.0
    with pytest.raises(ValueError, match="coordinates"):
        index.load(bad, np.array([1]), np.array([0]), last_seq=9)
    assert (index.last_seq, len(index), index.position(10) is not None) == (1, 1, True)
