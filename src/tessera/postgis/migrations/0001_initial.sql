-- The scale-out store's first schema: PostGIS, the security store, and each picture's
-- current tracks and overlays. Run by tessera.postgis.migrate in one transaction.

-- A database administrator may have created it already (it needs a superuser).
CREATE EXTENSION IF NOT EXISTS postgis;

-- Security: principals, their tokens and certificates, the audit trail -----------------

CREATE TABLE principals (
    name text CONSTRAINT principals_pkey PRIMARY KEY,
    -- The Principal as Tessera encodes it; checked by decoding before it is stored.
    body jsonb NOT NULL
);

CREATE TABLE tokens (
    id text CONSTRAINT tokens_pkey PRIMARY KEY,
    principal text NOT NULL CONSTRAINT tokens_principal_fkey REFERENCES principals (name),
    -- Only the hash: the secret is shown once and never stored.
    secret_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    -- Insertion order, to break ties between tokens created in the same microsecond.
    added bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX tokens_by_principal ON tokens (principal, created_at, added);

CREATE TABLE certificates (
    name text CONSTRAINT certificates_pkey PRIMARY KEY,
    principal text NOT NULL
        CONSTRAINT certificates_principal_fkey REFERENCES principals (name),
    serial text NOT NULL,
    -- SHA-256 of the DER form, lowercase hex: a presented certificate is found by it.
    fingerprint text NOT NULL CONSTRAINT certificates_fingerprint_key UNIQUE
        CONSTRAINT certificates_fingerprint_hex CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    added bigint GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE audit (
    -- Writers take a table lock before inserting, so seq order is commit order and a
    -- reader paging by seq never skips an event committed late.
    seq bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT audit_pkey PRIMARY KEY,
    at timestamptz NOT NULL,
    principal text,
    action text NOT NULL,
    outcome text NOT NULL,
    target text NOT NULL,
    address text NOT NULL,
    -- json, not jsonb: it keeps the text as written, including \u0000 escapes jsonb refuses.
    detail json NOT NULL
);
CREATE INDEX audit_by_time ON audit (at);

-- Append-only whoever connects: statement triggers refuse even a change matching no row,
-- and TRUNCATE, which row triggers would not see.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Pictures: each picture's current tracks and overlays ---------------------------------

CREATE TABLE pictures (
    name text CONSTRAINT pictures_pkey PRIMARY KEY,
    -- The picture's last change seq, shared by its tracks and overlays; raised in the
    -- same transaction as the rows it numbers.
    seq bigint NOT NULL DEFAULT 0 CONSTRAINT pictures_seq_positive CHECK (seq >= 0),
    -- How far into the journal the rows below are fused, so a restarted fusion worker
    -- replays only the journal's tail.
    journal_seq bigint NOT NULL DEFAULT 0
        CONSTRAINT pictures_journal_seq_positive CHECK (journal_seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Queries, with both GiST indexes in use:
--   by id:        WHERE picture = $1 AND id = $2                       (primary key)
--   a lon/lat box: WHERE picture = $1
--                  AND ST_Intersects(position::geometry, ST_MakeEnvelope($w, $s, $e, $n, 4326))
--                 (a box crossing the antimeridian, west > east, is two boxes)
--   a distance:   WHERE picture = $1 AND ST_DWithin(position, $point::geography, $metres)
-- The box goes through geometry because a bounding box means lines of longitude and
-- latitude, whereas a geography polygon's edges are great circles.
CREATE TABLE tracks (
    picture text NOT NULL
        CONSTRAINT tracks_picture_fkey REFERENCES pictures (name) ON DELETE CASCADE,
    id text NOT NULL,
    -- The Track as Tessera encodes it; the columns below repeat what queries filter on.
    body jsonb NOT NULL,
    position geography(Point, 4326) NOT NULL,
    updated_at timestamptz NOT NULL,
    status text NOT NULL,
    identity text NOT NULL,
    -- The picture's change seq when this row last changed, for "what changed since".
    seq bigint NOT NULL,
    CONSTRAINT tracks_pkey PRIMARY KEY (picture, id)
);
CREATE INDEX tracks_position ON tracks USING gist (position);
CREATE INDEX tracks_position_lonlat ON tracks USING gist ((position::geometry));
CREATE INDEX tracks_by_seq ON tracks (picture, seq);

-- An overlay's geometry is the area it covers (a circle or corridor as its polygon), so a
-- box finds what a map would draw inside it; queries as for tracks.
CREATE TABLE overlays (
    picture text NOT NULL
        CONSTRAINT overlays_picture_fkey REFERENCES pictures (name) ON DELETE CASCADE,
    id text NOT NULL,
    -- The Overlay as Tessera encodes it.
    body jsonb NOT NULL,
    geometry geography(Geometry, 4326) NOT NULL,
    -- The overlay's label.
    classification text NOT NULL,
    releasable_to text[] NOT NULL DEFAULT '{}',
    valid_from timestamptz,
    valid_to timestamptz,
    updated_at timestamptz,
    seq bigint NOT NULL,
    CONSTRAINT overlays_pkey PRIMARY KEY (picture, id)
);
CREATE INDEX overlays_geometry ON overlays USING gist (geometry);
CREATE INDEX overlays_geometry_lonlat ON overlays USING gist ((geometry::geometry));
CREATE INDEX overlays_by_seq ON overlays (picture, seq);
