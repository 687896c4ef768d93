"""Pure rules: policy, roles, opening hours, reply grammar and message texts (no framework, no store)."""
