"""The reply templates shipped with responder; a practice overrides them file by file (config key templates)."""
