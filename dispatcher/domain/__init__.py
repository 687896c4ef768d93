"""Pure rules: policy, roles, opening hours, reply grammar, message texts (no framework)."""
