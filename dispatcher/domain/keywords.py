"""The words of the reply grammar in en, sv, nl, fr, de and fi, written folded and unaccented.

Every entry is in the form ``replies`` compares against: lower case, accents dropped, and
punctuation read as a space, so "can't" is "can t", "på väg" is "pa vag" and "j'arrive" is
"j arrive". A phrase is a run of such words; the longest phrase wins where two start at one word.
"""

from __future__ import annotations

__all__ = [
    "ANSWERS",
    "COMMANDS",
    "FIRST_ONLY",
    "HEDGES",
    "NEGATIONS",
    "OPT_OUT_ANYWHERE",
    "POLITE",
    "QUESTION_OPENERS",
    "SOON",
    "UNITS",
]

# Commands: the first word (after a polite word) decides. Opt-out is Twilio's default set
# (STOP STOPALL UNSUBSCRIBE CANCEL END QUIT REVOKE OPTOUT, and ARRET, which Twilio also
# filters) and the natural forms in each language we send in; opt-in is Twilio's START and
# UNSTOP, but not its YES, which here answers an alert (see the note in ``replies``).
COMMANDS: dict[str, str] = {
    "stop": """stop, stopall, stop all, unsubscribe, cancel, end, quit, revoke, optout, opt out,
        stopp, avsluta, sluta, avanmal, avregistrera,
        abmelden, abbestellen, beenden, aufhoren,
        afmelden, uitschrijven, stoppen, opzeggen,
        arret, arrete, arreter, arrett, desabonner, desinscrire,
        lopeta, loppu, lopetus""",
    "start": "start, unstop, starta",
    "help": "help, info",
    "pause": "pause",
    "resume": "resume",
}
# Opt-out words that mean nothing else, heard anywhere in a reply: "please unsubscribe me".
OPT_OUT_ANYWHERE = frozenset(
    "unsubscribe optout avanmal avregistrera abmelden abbestellen afmelden uitschrijven "
    "desabonner desinscrire".split()
)
# Words that may come before a command without changing it: "please stop".
POLITE = frozenset("please pls plz snalla bitte alsjeblieft aub svp merci kiitos".split())

# Answers to an alert. "no problem" and its kin are neutral: they neither accept nor decline.
ANSWERS: dict[str, str] = {
    "accept": """yes, ok, okay, yep, yeah, yup, sure, ja, jep, japp, jawohl, oui, ouais,
        d accord, kylla, joo, juu,
        on my way, omw, coming, i m coming, im coming, going now, i m going, im going,
        i will go, i ll go, i can go, i can come, will come, heading there, leaving now, en route,
        kommer, jag kommer, pa vag, ar pa vag, jag ar pa vag, jag gar, aker nu,
        ich komme, komme, komme sofort, gleich da, bin gleich da, unterwegs, bin unterwegs,
        auf dem weg, bin auf dem weg,
        ik kom, kom eraan, ik kom eraan, onderweg, ben onderweg, op weg, ik ga,
        j arrive, j y vais, je viens, je pars, en chemin, je suis en route,
        tulen, tulossa, olen tulossa, matkalla, olen matkalla, lahden, menen""",
    "decline": """no, nope, nah, nej, nee, nein, non, ei,
        can t, cannot, can not, cant, can t come, can t go, can t make it, won t, wont,
        not coming, not going, not available, unable, no can do,
        kan inte, kan inte komma, kommer inte, jag kommer inte, hinner inte, gar inte,
        kann nicht, kann leider nicht, komme nicht, ich komme nicht, nicht kommen,
        schaffe es nicht, keine zeit, nicht moglich,
        kan niet, ik kan niet, kom niet, ik kom niet, lukt niet, geen tijd,
        peux pas, ne peux pas, je ne peux pas, viens pas, ne viens pas, je ne viens pas,
        y vais pas, n y vais pas, pas possible, impossible, pas dispo, indisponible,
        en paase, en voi, en tule, en ehdi, en mene, en lahde, ei onnistu""",
    "arrived": """here, i m here, im here, am here, i am here, i m there, im there, am there,
        framme, ar framme, jag ar framme, ar har, jag ar har, pa plats, ar pa plats,
        angekommen, bin angekommen, bin da, ich bin da, sind da, bin vor ort, vor ort,
        ben er, ik ben er, aangekomen, ter plaatse, ben ter plaatse,
        je suis la, suis la, sur place, suis sur place, arrivee, arrivees, suis arrive,
        je suis arrive,
        perilla, olen perilla, taalla, olen taalla, paikalla, olen paikalla, paikan paalla""",
    "neutral": """no problem, no worries, no prob, np, inga problem, ingen fara, kein problem,
        keine sorge, kein ding, geen probleem, geen zorgen, pas de probleme, pas de souci,
        pas de soucis, pas de prob, ei hataa, ei ongelmaa, ei haittaa""",
}
# Words that count only as the first word: alone they answer, inside a sentence they are
# something else ("il y a", "da ich arbeite", the 3 of "here in 3 min").
FIRST_ONLY: dict[str, str] = {"y": "accept", "j": "accept", "si": "accept", "1": "accept",
                              "n": "decline", "2": "decline", "3": "arrived", "da": "arrived"}

# Words that make a yes or an arrival unclear: "yes but", "maybe", "not".
HEDGES = frozenset(
    "but though however maybe perhaps probably if unless men kanske kanhanda aber vielleicht "
    "falls maar misschien mais peut peutetre mutta ehka jos".split()
)
NEGATIONS = frozenset("not never t inte ej aldrig nicht kein keine nie niet geen nooit pas ne "
                      "jamais".split())
# Time words that make "here" a promise, not an arrival: "here soon", "framme snart".
SOON = frozenset("soon snart strax gleich bald zo straks bientot pian kohta".split())

# A reply that opens with one of these asks something, with or without a question mark.
QUESTION_OPENERS = """who, what, where, when, why, how, which, whose, whom,
    do you, did you, are you, is this, is it, is there, is someone, is anyone, can i, can you,
    could you, should i, shall i, do i, will you,
    vem, vad, var, vart, nar, varfor, hur, vilken, vilket, vilka, kan jag, ska jag,
    behovs jag, ar det,
    wer, was, wo, wohin, woher, wann, warum, wieso, weshalb, wie, welche, welcher, welches,
    soll ich, kann ich, ist das, brauchen sie,
    wat, waar, waarheen, wanneer, waarom, hoe, welke, welk, moet ik, kan ik, is het, zijn er,
    qui, quoi, ou, quand, pourquoi, comment, quel, quelle, quels, quelles, combien, est ce,
    dois je,
    kuka, mika, mita, missa, mihin, mista, milloin, miksi, miten, kuinka, kenen, onko"""

# Units of a pause length, as hours per unit; a bare number is hours.
UNITS: dict[str, float] = {
    **dict.fromkeys("m min mins minute minutes minuter minut minuten mn minuutti minuuttia "
                    "minuutiksi".split(), 1 / 60),
    **dict.fromkeys("h hr hrs hour hours t tim timme timmar timmer std stunde stunden u uur "
                    "heure heures tunti tuntia tunniksi".split(), 1.0),
    **dict.fromkeys("d day days dag dagar dagen tag tage tagen j jour jours pv paiva paivaa "
                    "paivaksi vrk".split(), 24.0),
    **dict.fromkeys("w wk week weeks vecka veckor woche wochen semaine semaines viikko "
                    "viikkoa viikoksi".split(), 168.0),
}
