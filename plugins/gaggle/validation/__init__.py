"""Validation backends: evidence that a rewrite keeps every consumer's results."""
