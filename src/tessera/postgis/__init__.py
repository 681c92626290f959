"""The scale-out store on PostgreSQL with PostGIS (DESIGN §5): connection settings, and the
schema as numbered migrations applied by ``tessera migrate``."""
