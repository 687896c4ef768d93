"""Outgoing messages: written with the change that causes them, handed to the SMS port."""
