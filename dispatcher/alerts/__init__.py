"""Alerts: one home for an alert's states, the moves between them, and their lock."""
