-- Fencing (DESIGN §10): a fusion worker writes under its lease's epoch (the revision of the
-- lease key it created), and the database refuses an older one. One row per fence: each
-- picture by name, and the report archive ('archive.reports'). A worker taking over raises
-- its rows to its epoch before it reads anything; every write transaction of a worker
-- first reads its rows FOR SHARE, and rolls back if a newer epoch is there.

CREATE TABLE fusion_fences (
    name text CONSTRAINT fusion_fences_pkey PRIMARY KEY,
    epoch bigint NOT NULL CONSTRAINT fusion_fences_epoch_positive CHECK (epoch > 0),
    raised_at timestamptz NOT NULL DEFAULT now()
);

-- The epoch of the writer that last wrote each row (0: written unfenced, by a process
-- that fuses without a lease).
ALTER TABLE pictures ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE fusion_checkpoints ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE report_archive ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
