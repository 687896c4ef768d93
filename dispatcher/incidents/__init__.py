"""Incidents: intake, dispatch, waves and escalation, delivery follow-through, status, follow-up."""
