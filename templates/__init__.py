"""The reply templates shipped with responder, one YAML file per language; a practice replaces any kind
with its own (config key templates)."""
