"""Readers for the binary formats official benchmark files come in."""
