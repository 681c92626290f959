-- Fusion checkpoints: each picture's tracker state at a journal position, so a fusion
-- worker taking over replays only the journal's tail. One row per picture; all rows of
-- one checkpoint carry the same journal position and configuration fingerprint.

CREATE TABLE fusion_checkpoints (
    picture text CONSTRAINT fusion_checkpoints_pkey PRIMARY KEY,
    journal_seq bigint NOT NULL CHECK (journal_seq >= 0),
    -- The picture's change seq when the checkpoint was taken.
    seq bigint NOT NULL CHECK (seq >= 0),
    -- What the state depends on (the picture's rule, the fusion settings, the format):
    -- a checkpoint taken under another configuration is not used.
    fingerprint text NOT NULL,
    body bytea NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now()
);
