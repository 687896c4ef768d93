"""The GSM 03.38 alphabet and how many segments a text takes."""

from __future__ import annotations

import pytest

from dispatcher.domain import gsm7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("a" * 460, 4),
        ("", 1),
        ("€" * 80, 1),  # an extension character takes two septets
        ("€" * 81, 2),
        ("a" * 159 + "€", 2),
        ("a" * 158 + "[]", 2),
        ("a" * 158 + "{", 1),
        ("ÅÄÖåäöÉéÜüßÑñ" * 12, 1),  # 156 letters of the basic table, one septet each
        ("ж" * 70, 1),  # outside GSM-7: UCS-2, 70 a segment
        ("ж" * 71, 2),
        ("ж" * 134, 2),  # 67 a part once split
        ("ж" * 135, 3),
        ("a" * 69 + "’", 1),  # one curly quote turns the whole text into UCS-2
        ("a" * 70 + "’", 2),
        ("😀" * 35, 1),  # an emoji is two UTF-16 code units
        ("😀" * 36, 2),
        ("😀" * 66, 2),  # 33 pairs a part: a part never ends inside a pair
        ("😀" * 67, 3),
        ("a" * 66 + "😀" * 34, 3),  # 134 code units, but a pair cannot straddle two parts
        ("a" * 152 + "€" + "a" * 153, 3),  # 307 septets: the escape cannot be split either
        ("a" * 151 + "€" + "a" * 153, 2),
        ("ł" * 70, 1),
        ("شارع الملك فهد ١٢" * 4, 1),
        ("شارع الملك فهد ١٢" * 5, 2),
    ],
    ids=lambda v: v if isinstance(v, int) else f"{len(v)}ch",
)
def test_segments_count_septets_in_gsm7_and_code_units_in_ucs2(text, expected):
    assert gsm7.segments(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CPR ALERT: reply YES or NO", True),
        ("HLR-LARM: hjärtstopp, svara JA", True),
        ("Répondez OUI", True),
        ("Können Sie hin? ÄÖÜ äöü ß", True),
        ("Pääsetkö nyt? KYLLÄ", True),
        ("[code] {x} ~ | ^ \\ €", True),
        ("line one\nline two", True),
        ("it’s", False),  # curly apostrophe
        ("“quoted”", False),
        ("Łódź", False),
        ("snow ☃", False),
        ("ok 👍", False),
        ("tab\there", False),
    ],
)
def test_is_gsm7_tells_whether_every_character_is_in_the_alphabet(text, expected):
    assert gsm7.is_gsm7(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("abc", 3), ("€", 2), ("a€b", 4), ("[]{}", 8), ("", 0)],
)
def test_septets_count_extension_characters_twice(text, expected):
    assert gsm7.septets(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("O’Connell Street 5", "O'Connell Street 5"),
        ("ul. Łódzka 12, Gdańsk, Źródło, Żabka", "ul. Lodzka 12, Gdansk, Zrodlo, Zabka"),
        ("İstiklal Cad. 45, Beyoğlu, Şişli, ılık", "Istiklal Cad. 45, Beyoglu, Sisli, ilik"),
        ("ΟΔΟΣ ΕΡΜΟΥ 10, ΑΘΗΝΑ", "OΔOΣ EPMOY 10, AΘHNA"),  # Greek capitals GSM-7 has
        ("ΆΓΙΟΣ", "AΓIOΣ"),
        ("„Hof“ – links «B» … ‹x›", '"Hof" - links "B" ... \'x\''),
        ("rue de l’Église\u00a0— 3ᵉ", "rue de l'Église - 3e"),
        ("Zürich, Håkan, Ñoño", "Zürich, Håkan, Ñoño"),  # already GSM-7: unchanged
        ("e\u0301tage", "étage"),  # composed first
        ("soft\u00adhyphen\u200b", "softhyphen"),
        ("١٢٣٤", "1234"),
        ("", ""),
    ],
)
def test_transliterate_rewrites_text_with_a_faithful_gsm7_form(text, expected):
    assert gsm7.transliterate(text) == expected
    assert gsm7.is_gsm7(expected)


@pytest.mark.parametrize(
    "text",
    ["Οδός Ερμού 10", "شارع الملك فهد ١٢", "🚪 code 4821", "ok 👍", "Łódź ☃", "東京", "½"],
)
def test_transliterate_refuses_text_without_a_faithful_gsm7_form(text):
    assert gsm7.transliterate(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Łódź ☃", "Lodz"), ("garden ☎, “B”", 'garden, "B"'), ("🚪 code 4821", "code 4821")],
)
def test_to_gsm7_leaves_out_what_has_no_gsm7_form(text, expected):
    assert gsm7.to_gsm7(text) == expected
