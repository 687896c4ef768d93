"""Thin HTTP translators: each view checks its input's form, calls one use case, maps errors."""
