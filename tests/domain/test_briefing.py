"""The details after YES: the address and door code always arrive, each text within budget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dispatcher.config import DEFAULTS
from dispatcher.domain import briefing, gsm7
from dispatcher.domain.roles import AedRecord
from dispatcher.domain.templates import BUDGET, LANGUAGES
from dispatcher.store.models import Alert, Incident

MONDAY_11 = datetime(2026, 11, 23, 11, 0)
ADDRESS = "Drottninggatan 53, 3 tr, Norrmalm, 111 21 Stockholm (courtyard B)"
MAP = "https://www.openstreetmap.org/?mlat=59.33260&mlon=18.06490"

# (address, notes, the door code, the address as the volunteer reads it, whether it is GSM-7)
WORLD = [
    ("O’Connell Street 5", "Door code 4821, the “green” door – 2nd floor",
     "4821", "O'Connell Street 5", True),
    ("ul. Łódzka 12", "Kod do drzwi 4821, klatka B, dzwonić dwa razy", "4821",
     "ul. Lodzka 12", True),
    ("İstiklal Cad. 45, Beyoğlu", "Kapı kodu 4821, üçüncü kat, sağdaki daire", "4821",
     "Istiklal Cad. 45, Beyoglu", True),
    ("ΟΔΟΣ ΕΡΜΟΥ 10", "ΚΩΔΙΚΟΣ 4821", "4821", "OΔOΣ EPMOY 10", True),
    ("Οδός Ερμού 10", "Κωδικός πόρτας 4821, τρίτος όροφος", "4821", "Οδός Ερμού 10", False),
    ("شارع الملك فهد ١٢", "الباب الخلفي، الرمز 4821، الطابق الثالث", "4821",
     "شارع الملك فهد ١٢", False),
    ("Drottninggatan 53 🏥", "🚪 code 4821", "4821", "Drottninggatan 53 🏥", False),
    ("Storgatan 1", "🚪 code 4821 🔑 under the mat 👍🏽", "4821", "Storgatan 1", False),
    ("O’Connell Street 5 👋", "“Portkod” 4821 — ring “Svensson”. " * 6, "4821",
     "O’Connell Street 5 👋", False),
    ("شارع الملك فهد ١٢ 🚑", "رمز الباب 4821. " + "اصعد إلى الطابق الثالث ثم يسارًا. " * 12,
     "4821", "شارع الملك فهد ١٢ 🚑", False),
]
IDS = ["irish", "polish", "turkish", "greek-caps", "greek", "arabic", "emoji-address",
       "emoji-notes", "quotes-long", "arabic-long"]


def incident(notes: str = "Door code 1234, courtyard entrance", address: str = ADDRESS
             ) -> Incident:
    """An incident as the details read it (never stored)."""
    return Incident(lat=59.3326, lon=18.0649, address=address, notes=notes,
                    created_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


def aed(access: str = "In the yellow cabinet left of the main entrance",
        name: str = "Stockholm Central Station, hall") -> AedRecord:
    """An AED open Monday to Friday."""
    return AedRecord(7, name, 59.33, 18.058, access, "Mo-Fr 06:00-22:00; Sa-Su 08:00-20:00",
                     True)


def render(language: str, notes: str, with_aed: AedRecord | None,
           address: str = ADDRESS) -> list[str]:
    """Render the details for a test incident."""
    return briefing.details(
        language=language, incident=incident(notes, address), alert=Alert(code="77"),
        aed=with_aed, map_template=DEFAULTS["MAP_LINK_TEMPLATE"], local_now=MONDAY_11,
    )


def update(language: str, notes: str, address: str = ADDRESS) -> list[str]:
    """Render the corrected address and notes for a test incident."""
    return briefing.update(language=language, incident=incident(notes, address),
                           alert=Alert(code="77"), map_template=DEFAULTS["MAP_LINK_TEMPLATE"])


def within_budget(texts: list[str], kind: str) -> bool:
    """Tell whether there are one or two texts, each within the template's budget."""
    return 1 <= len(texts) <= 2 and all(gsm7.segments(t) <= BUDGET[kind] for t in texts)


@pytest.mark.parametrize(("address", "notes", "code", "read", "is_gsm7"), WORLD, ids=IDS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("with_aed", [None, aed()], ids=["cpr", "aed"])
def test_the_address_and_door_code_arrive_within_budget_in_any_script(
    language, with_aed, address, notes, code, read, is_gsm7
):
    texts = render(language, notes, with_aed, address)

    assert within_budget(texts, "details_aed" if with_aed else "details_cpr"), texts
    assert read in texts[0]
    assert code in texts[0]
    assert MAP in texts[-1]
    assert "Ref 77" in texts[-1] or "Réf 77" in texts[-1] or "Viite 77" in texts[-1]


@pytest.mark.parametrize(("address", "notes", "code", "read", "is_gsm7"), WORLD, ids=IDS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_update_carries_the_address_and_door_code_within_budget(
    language, address, notes, code, read, is_gsm7
):
    texts = update(language, notes, address)

    assert within_budget(texts, "update"), texts
    assert read in texts[0]
    assert code in texts[0]


@pytest.mark.parametrize(("address", "notes", "code", "read", "is_gsm7"), WORLD, ids=IDS)
def test_a_faithful_transliteration_keeps_the_text_in_gsm7(address, notes, code, read, is_gsm7):
    texts = render("en", notes, aed(), address)

    assert all(gsm7.is_gsm7(t) for t in texts) is is_gsm7, texts


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("O’Connell Street 5", "O'Connell Street 5"),
        ("ul. Łódzka 12, Gdańsk", "ul. Lodzka 12, Gdansk"),
        ("İstiklal Cad. 45, Beyoğlu, Şişli", "Istiklal Cad. 45, Beyoglu, Sisli"),
        ("ΟΔΟΣ ΕΡΜΟΥ 10, ΑΘΗΝΑ", "OΔOΣ EPMOY 10, AΘHNA"),
        ("„Hof“ – links", '"Hof" - links'),
        ("Rue de l’Église — 3ᵉ étage", "Rue de l'Église - 3e étage"),
    ],
)
def test_fields_with_a_faithful_gsm7_form_are_rewritten_into_it(field, expected):
    [text] = render("en", field, None, address=field)

    assert gsm7.is_gsm7(text)
    assert f"GO NOW: {expected}. {expected}." in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("with_aed", [None, aed()], ids=["cpr", "aed"])
def test_long_notes_make_two_texts_with_the_address_and_code_first(language, with_aed):
    texts = render(language, "Ring twice. " * 20 + "Door code 4821.", with_aed)

    assert len(texts) == 2
    assert texts[0].startswith("(1/2) ") and texts[1].startswith("(2/2) ")
    assert ADDRESS in texts[0] and "4821" in texts[0]
    assert MAP in texts[1]
    assert within_budget(texts, "details_aed" if with_aed else "details_cpr")


def test_short_notes_are_given_whole_in_one_text():
    [text] = render("en", "Door code 1234, courtyard entrance", None)

    assert "Door code 1234, courtyard entrance." in text
    assert text.startswith("GO NOW: " + ADDRESS)


def test_notes_too_long_even_for_a_text_of_their_own_keep_the_code_and_its_label():
    texts = render("en", "Lift to the third floor, flat on the left. " * 8 + "Door code 1234. "
                   + "Mind the dog in the yard. " * 8, aed())

    assert within_budget(texts, "details_aed")
    assert "Door code 1234" in texts[0]
    assert "..." in texts[0]
    assert ADDRESS in texts[0]


def test_the_aed_details_name_it_say_where_it_is_and_its_hours_today():
    [text] = render("en", "", aed())

    assert "FETCH THE DEFIBRILLATOR first: Stockholm Central Station, hall" in text
    assert "In the yellow cabinet left of the main entrance" in text
    assert "(open today 06:00-22:00)" in text


def test_an_aed_without_access_notes_leaves_no_stray_comma():
    [text] = render("en", "", aed(access=""))

    assert "Stockholm Central Station, hall (open today 06:00-22:00)." in text


def test_the_aeds_access_note_and_its_code_arrive_with_an_address_outside_gsm7():
    texts = render("en", "🚪 code 4821", aed(access="Cabinet code 9090, left of the lift"),
                   address="Οδός Ερμού 10")

    assert "Cabinet code 9090, left of the lift" in texts[0]
    assert "4821" in texts[0] and "Οδός Ερμού 10" in texts[0]
    assert within_budget(texts, "details_aed")


def test_an_address_too_long_for_a_text_is_cut_at_its_end_before_the_code():
    texts = render("en", "code 4821", aed(), address="شارع " * 60)

    assert "4821" in texts[0]
    assert texts[0].count("شارع") >= 3
    assert within_budget(texts, "details_aed")


@pytest.mark.parametrize(
    ("notes", "kept"),
    [
        ("Ring twice. " * 45 + "Door code 4821.", "Door code 4821."),
        ("Flat 5, floor 3. " * 30 + "4821", "4821."),
        ("Kapı kodu 12, " + "üçüncü kat. " * 60, "Kapi kodu 12,"),
        ("τρίτος όροφος " * 20 + "Κωδικός 4821", "Κωδικός 4821."),
        ("Kod do drzwi 4821. " + "Proszę dzwonić dwa razy. " * 40, "Kod do drzwi 4821."),
    ],
    ids=["label", "unlabelled", "short-labelled", "greek", "label-of-three-words"],
)
def test_codes_and_their_labels_outlast_other_words_when_notes_are_cut(notes, kept):
    texts = render("en", notes, None)

    assert kept in texts[0]
    assert "..." in texts[0]
    assert within_budget(texts, "details_cpr")


def test_control_characters_are_left_out():
    [text] = render("en", "code\x00 4821\x07", None, address="Storgatan\t1\n")

    assert "GO NOW: Storgatan 1. code 4821." in text


@given(
    before=st.text(max_size=300), after=st.text(max_size=300),
    address=st.text(max_size=80),
    label=st.sampled_from(["", "code", "Door code:", "Kod do drzwi", "Kapı kodu", "κωδικός",
                           "رمز", "🚪"]),
    language=st.sampled_from(LANGUAGES), with_aed=st.booleans(),
)
@example(before="ł" * 300, after="😀" * 300, address="ł" * 80, label="code", language="fi",
         with_aed=True)
@example(before="", after="", address="", label="", language="en", with_aed=False)
@example(before="0 " * 150, after="", address="شارع " * 10, label="", language="en",
         with_aed=True)  # a hundred and fifty other numbers: the code still outranks them
@example(before="Flat 5, floor 3. " * 20, after="", address="", label="", language="sv",
         with_aed=False)
@hypothesis_settings(max_examples=300, deadline=None, database=None)
def test_any_notes_with_a_door_code_keep_it_within_budget(
    before, after, address, label, language, with_aed
):
    notes = f"{before} {label} 1234 {after}"
    texts = render(language, notes, aed() if with_aed else None, address=address)

    assert "1234" in texts[0]
    assert within_budget(texts, "details_aed" if with_aed else "details_cpr"), texts
