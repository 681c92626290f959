-- Every report in the journal, once: the raw observations beside the pictures fused from
-- them, for queries by place, time and source in the database. Written by one process
-- (the active report archiver), with how far into the journal it has got, in the same
-- transaction as the rows.

-- Queries, with the indexes below:
--   by id:         WHERE id = $1                                          (primary key)
--   a lon/lat box: WHERE ST_Intersects(position::geometry, ST_MakeEnvelope(...))
--   a time window: WHERE observed_at >= $1 AND observed_at < $2
--   a source:      WHERE source_id = $1 ORDER BY observed_at
CREATE TABLE reports (
    id text CONSTRAINT reports_pkey PRIMARY KEY,
    journal_seq bigint NOT NULL CONSTRAINT reports_journal_seq_positive CHECK (journal_seq > 0),
    -- The Report as Tessera stores it; the columns below repeat what queries filter on.
    body jsonb NOT NULL,
    position geography(Point, 4326) NOT NULL,
    observed_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    source_id text NOT NULL,
    source_kind text NOT NULL,
    subject text,
    classification text NOT NULL,
    releasable_to text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX reports_position ON reports USING gist (position);
CREATE INDEX reports_position_lonlat ON reports USING gist ((position::geometry));
CREATE INDEX reports_observed_at ON reports (observed_at);
CREATE INDEX reports_by_source ON reports (source_id, observed_at);
CREATE INDEX reports_by_journal_seq ON reports (journal_seq);

CREATE TABLE report_archive (
    only_row boolean CONSTRAINT report_archive_pkey PRIMARY KEY DEFAULT true
        CONSTRAINT report_archive_one_row CHECK (only_row),
    -- How far into the journal the reports table holds every report.
    journal_seq bigint NOT NULL DEFAULT 0
        CONSTRAINT report_archive_journal_seq_positive CHECK (journal_seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO report_archive DEFAULT VALUES;
