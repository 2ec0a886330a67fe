"""firmware_templates: (placeholder until its issue lands)."""
