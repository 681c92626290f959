-- History snapshots: each picture's fusion state at journal positions taken now and
-- then, so the picture at a past time is a snapshot plus a short replay of the journal.
-- Dropped with the journal entries a replay from them would need.

CREATE TABLE history_snapshots (
    picture text NOT NULL,
    journal_seq bigint NOT NULL CHECK (journal_seq >= 0),
    -- The journal time of the entry at journal_seq.
    at timestamptz NOT NULL,
    -- What the state depends on (the picture's rule, the fusion settings, the format).
    fingerprint text NOT NULL,
    body bytea NOT NULL,
    overlays bytea NOT NULL,
    CONSTRAINT history_snapshots_pkey PRIMARY KEY (picture, journal_seq)
);

CREATE INDEX history_snapshots_at ON history_snapshots (picture, at);
