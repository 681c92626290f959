"""The PostGIS schema as numbered SQL files, ``NNNN_name.sql``, applied in order by
``tessera.postgis.migrate``. A file, once released, never changes: a change is a new file."""
