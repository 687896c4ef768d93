"""Privacy: the purge of personal data past the retention period."""
