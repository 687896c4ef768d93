"""The reply routes: every intent of the grammar has exactly one use case."""

from __future__ import annotations

from dispatcher.conversation import account, answers, inbound
from dispatcher.domain.replies import INTENTS, parse_reply


def test_every_intent_the_grammar_knows_has_a_route_and_no_route_is_unreachable():
    assert set(inbound.ROUTES) == set(INTENTS)


def test_answers_to_an_alert_go_to_the_answers_and_the_rest_to_the_account():
    home = {intent: handler.__module__ for intent, handler in inbound.ROUTES.items()}
    about_an_alert = {intent for intent, module in home.items() if module == answers.__name__}
    standing = {intent for intent, module in home.items() if module == account.__name__}

    assert about_an_alert == {"accept", "decline", "arrived"}
    assert standing == set(INTENTS) - about_an_alert


def test_a_reply_is_routed_by_what_the_grammar_reads_in_it():
    assert inbound.ROUTES[parse_reply("Ja!").intent] is answers.accept
    assert inbound.ROUTES[parse_reply("nej").intent] is answers.decline
    assert inbound.ROUTES[parse_reply("HERE").intent] is answers.arrive
    assert inbound.ROUTES[parse_reply("STOP").intent] is account.stop
    assert inbound.ROUTES[parse_reply("what is this?").intent] is account.not_understood
