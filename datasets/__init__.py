"""datasets: (placeholder until its issue lands)."""
