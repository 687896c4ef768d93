"""The reply grammar against a table of real-world replies in en, sv, nl, fr, de and fi."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.domain import keywords
from dispatcher.domain.replies import Reply, parse_reply

# Twilio's default opt-out keywords and the natural forms in each language we send in,
# restated here so that the test does not read the grammar's own table.
OPT_OUT = {
    "en": ["STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
           "OPTOUT", "OPT-OUT", "Opt out", "stop please", "Please stop", "please unsubscribe me"],
    "sv": ["STOPP", "Stopp!", "AVSLUTA", "Sluta", "avanmäl", "AVREGISTRERA", "snälla sluta"],
    "nl": ["STOP", "AFMELDEN", "Uitschrijven", "stoppen", "opzeggen", "graag afmelden"],
    "fr": ["ARRET", "ARRÊT", "Arrêt", "arrête", "ARRÊTER", "DESABONNER", "désabonner",
           "Désinscrire", "svp arrêt", "STOP"],
    "de": ["STOPP", "Stopp.", "ABMELDEN", "Abbestellen", "beenden", "AUFHÖREN",
           "bitte abmelden", "Bitte Stopp"],
    "fi": ["LOPETA", "Lopeta!", "LOPPU", "lopetus", "kiitos lopeta"],
}
OPT_IN = ["START", "Start", "UNSTOP", "unstop!", "starta", "  START  "]

TABLE: dict[str, dict[str, list[str]]] = {
    "en": {
        "accept": ["YES", "Yes!", "y", "ok", "OK 👍", "okay", "yep", "Yeah", "sure", "1",
                   "on my way", "On my way!", "omw", "OMW 5 min", "coming", "I'm coming",
                   "No problem, on my way", "no worries, coming", "yes, leaving now",
                   "Here in 5 min", "there soon, I'm coming", "I can go", "Yes 4821",
                   "im going"],
        "decline": ["NO", "no.", "n", "2", "Nope", "nah", "No, sorry, at work", "can't",
                    "Cannot", "I can't come", "sorry can't make it", "not coming",
                    "Unable, sorry", "won't make it", "No 4821"],
        "arrived": ["HERE", "here!", "3", "I'm here", "im here", "I am here", "OK I'm here",
                    "yes here", "I'm there"],
        "unknown": ["Ok?", "Yes? Who is this?", "yes no", "yes but I'm far", "yes, but later",
                    "maybe", "maybe later", "if nobody else can", "Who is this", "what?",
                    "Where is it", "How far", "Is this real", "Can I come later",
                    "Do you need me", "not here", "not sure", "No problem", "Yesterday",
                    "yess", "lol", "🙂", "?", "I don't know", "Sure?", "Coming?",
                    "I'm here?", "Here?", "can't? yes", "Yes if I can", "Yes, not now",
                    "no? yes"],
    },
    "sv": {
        "accept": ["JA", "Ja!", "ja tack", "J", "Kommer", "kommer!", "Jag kommer",
                   "På väg", "på väg!", "pa vag", "Jag är på väg", "Ja, kommer om 5 min",
                   "Inga problem, kommer", "Framme om 5 min", "framme snart", "Japp"],
        "decline": ["NEJ", "nej.", "Nej tyvärr", "Kan inte", "kan inte komma",
                    "Jag kommer inte", "Hinner inte", "nej, kan inte"],
        "arrived": ["FRAMME", "framme!", "Framme nu", "Jag är framme", "Är här",
                    "jag är här", "På plats", "ja, framme"],
        "unknown": ["Ja?", "Ja nej", "ja men inte nu", "Ja men jag är långt bort", "kanske",
                    "Vem är detta", "Vem är det?", "Vad händer", "Var är det", "Hur långt",
                    "Kan jag komma senare", "Ska jag åka?", "inte här", "Inga problem",
                    "Kommer?", "Framme?", "Okej då?", "hej"],
    },
    "nl": {
        "accept": ["JA", "Ja!", "Ja, ik kom", "Ik kom", "ik kom eraan", "Kom eraan",
                   "Onderweg", "Ben onderweg", "op weg", "Geen probleem, ik kom",
                   "Ik ben er over 5 min", "ja 4821"],
        "decline": ["NEE", "nee.", "Nee sorry", "Kan niet", "Ik kan niet", "ik kom niet",
                    "Lukt niet", "geen tijd"],
        "arrived": ["Ben er", "Ik ben er", "Aangekomen", "aangekomen!", "Ter plaatse",
                    "ja, ik ben er"],
        "unknown": ["Ja?", "ja nee", "Ja maar later", "ja maar ik ben ver", "misschien",
                    "Wie is dit", "Wat is er", "Waar is het", "Hoe ver", "Moet ik komen",
                    "Kan ik later komen", "Geen probleem", "Is het echt?", "niet hier",
                    "Onderweg?"],
    },
    "fr": {
        "accept": ["OUI", "Oui!", "Ouais", "d'accord", "Si", "J'arrive", "j'arrive!",
                   "J'y vais", "En route", "je suis en route", "en chemin", "Je viens",
                   "Pas de problème, j'arrive", "Oui 4821", "j arrive dans 5 min"],
        "decline": ["NON", "non.", "Non désolé", "Je ne peux pas", "peux pas",
                    "Je ne viens pas", "Impossible", "pas possible", "pas dispo",
                    "Non, je n'y vais pas"],
        "arrived": ["Je suis là", "je suis la", "Arrivé", "arrivée", "Je suis arrivé",
                    "je suis arrive", "Sur place", "suis sur place", "oui, je suis là"],
        "unknown": ["Oui?", "Oui ? C'est qui ?", "oui non", "Oui mais plus tard",
                    "oui mais je suis loin", "peut-être", "Qui est-ce", "C'est quoi",
                    "Où est-ce", "Quand", "Pourquoi moi", "Comment y aller",
                    "Est-ce que je dois venir", "Pas de problème", "je ne suis pas là",
                    "J'arrive?", "arrive"],
    },
    "de": {
        "accept": ["JA", "Ja!", "Jawohl", "Ich komme", "ich komme!", "Komme sofort",
                   "Unterwegs", "Bin unterwegs", "bin auf dem Weg", "Kein Problem, ich komme",
                   "Bin gleich da", "Ja 4821", "ja, bin in 5 min da"],
        "decline": ["NEIN", "nein.", "Nein danke", "Kann nicht", "kann leider nicht",
                    "Ich komme nicht", "schaffe es nicht", "keine Zeit"],
        "arrived": ["Da", "da!", "Bin da", "Ich bin da", "Angekommen", "bin angekommen",
                    "Bin vor Ort", "ja, bin da"],
        "unknown": ["Ja?", "ja nein", "Ja aber später", "ja aber ich bin weit weg",
                    "vielleicht", "Wer ist das", "Was ist los", "Wo ist das", "Wie weit",
                    "Wann", "Soll ich kommen", "Kann ich später kommen", "Kein Problem",
                    "nicht da", "Ich komme?", "Ich komme leider nicht rechtzeitig, aber",
                    "Ist das echt"],
    },
    "fi": {
        "accept": ["KYLLÄ", "kyllä!", "KYLLA", "Joo", "juu", "Tulen", "tulen!", "Tulossa",
                   "Olen tulossa", "Matkalla", "olen matkalla", "Lähden", "Ei hätää, tulen",
                   "Perillä 5 min päästä", "Kyllä 4821"],
        "decline": ["EI", "ei.", "Ei kiitos", "En pääse", "en paase", "En voi", "En ehdi",
                    "Ei, en pääse", "ei onnistu"],
        "arrived": ["Perillä", "olen perillä", "Olen täällä", "täällä", "Paikalla",
                    "olen paikalla", "kyllä, perillä"],
        "unknown": ["Kyllä?", "kyllä ei", "Kyllä mutta myöhemmin", "kyllä mutta olen kaukana",
                    "ehkä", "Kuka olet", "Mikä tämä on", "Missä", "Kuinka kaukana",
                    "Milloin", "Tuletko", "Tarvitaanko minua", "Onko tämä totta",
                    "Pääsenkö myöhemmin", "Ei hätää", "Tulen?"],
    },
}
PAUSES = [
    ("PAUSE", None), ("pause 8", 8.0), ("PAUSE 3h", 3.0), ("PAUSE 3 h", 3.0),
    ("PAUSE 30 min", 0.5), ("PAUSE 2 hours", 2.0), ("PAUSE 1d", 24.0), ("PAUSE 90m", 1.5),
    ("pause 1,5", 1.5), ("pause 2 timmar", 2.0), ("pause 2 Stunden", 2.0),
    ("pause 3 uur", 3.0), ("pause 2 heures", 2.0), ("pause 4 tuntia", 4.0),
    ("pause 2 dagar", 48.0), ("pause 1 Tag", 24.0), ("pause 2 jours", 48.0),
    ("pause 45 minuter", 0.75), ("PAUSE 0", None), ("PAUSE 31 days", None),
    ("PAUSE -2h", None), ("Pause?", None),
]

ROWS = [
    (language, body, intent)
    for language, groups in TABLE.items()
    for intent, bodies in groups.items()
    for body in bodies
] + [(language, body, "stop") for language, bodies in OPT_OUT.items() for body in bodies] + [
    ("any", body, "start") for body in OPT_IN
]
UNCLEAR = [(language, body) for language, groups in TABLE.items()
           for body in groups["unknown"]]


def test_the_table_holds_at_least_three_hundred_replies_in_every_language():
    languages = {language for language, _, _ in ROWS}

    assert len(ROWS) + len(PAUSES) >= 300
    assert {"en", "sv", "nl", "fr", "de", "fi"} <= languages


@pytest.mark.parametrize(("language", "body", "intent"), ROWS,
                         ids=[f"{lang}:{body}" for lang, body, _ in ROWS])
def test_a_reply_in_the_table_means_what_a_person_meant(language, body, intent):
    assert parse_reply(body).intent == intent


@pytest.mark.parametrize(("language", "body"), UNCLEAR,
                         ids=[f"{lang}:{body}" for lang, body in UNCLEAR])
def test_an_unclear_reply_is_never_taken_as_yes_or_no(language, body):
    assert parse_reply(body).intent not in {"accept", "decline"}


@pytest.mark.parametrize(("body", "hours"), PAUSES, ids=[body for body, _ in PAUSES])
def test_a_pause_takes_its_length_with_its_unit(body, hours):
    assert parse_reply(body) == Reply("pause", hours=hours)


@pytest.mark.parametrize(
    "phrase",
    [phrase.strip() for phrase in keywords.COMMANDS["stop"].split(",")],
)
def test_every_opt_out_word_of_the_grammar_opts_out_however_it_is_typed(phrase):
    for body in (phrase, phrase.upper(), phrase.title(), f"{phrase}!", f" {phrase}. ",
                 f"{phrase}?", f"please {phrase}"):
        assert parse_reply(body).intent == "stop", body


def test_a_code_after_a_clear_answer_names_its_alert():
    assert parse_reply("On my way 4821") == Reply("accept", code="4821")
    assert parse_reply("Ich bin da 0042") == Reply("arrived", code="0042")


@given(st.text(max_size=60), st.text(max_size=60))
def test_a_reply_with_a_question_mark_is_never_yes_or_no(before, after):
    assert parse_reply(f"{before}?{after}").intent not in {"accept", "decline"}


@given(st.sampled_from([body for bodies in OPT_OUT.values() for body in bodies]),
       st.text(alphabet=" .!,\n", max_size=5))
def test_an_opt_out_word_with_any_punctuation_around_it_opts_out(word, padding):
    assert parse_reply(padding + word + padding).intent == "stop"


@given(st.sampled_from(["yes", "ja", "oui", "kyllä", "on my way", "kommer", "ich komme"]),
       st.sampled_from(["but", "men", "aber", "maar", "mais", "mutta", "no", "nej", "nein"]),
       st.text(max_size=20))
def test_a_yes_followed_by_but_or_no_is_never_yes_or_no(yes, but, rest):
    assert parse_reply(f"{yes} {but} {rest}").intent not in {"accept", "decline"}
