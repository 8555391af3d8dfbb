"""The only place that knows SQL: schema, store, sealing at rest, the writers' fair lock, migrations."""
