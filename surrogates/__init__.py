"""surrogates: (placeholder until its issue lands)."""
