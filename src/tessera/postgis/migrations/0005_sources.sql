-- The source registry (which principal may report as which source ids), the TAK uid each
-- client certificate reports its own position as, and the deployment's shared secrets
-- (the key report ids are scoped to their submitter with).

CREATE TABLE source_grants (
    principal text NOT NULL
        CONSTRAINT source_grants_principal_fkey REFERENCES principals (name),
    -- An exact source id, or a prefix ending in '*' ('*' alone: every source).
    pattern text NOT NULL,
    granted_at timestamptz NOT NULL,
    CONSTRAINT source_grants_pkey PRIMARY KEY (principal, pattern)
);

CREATE TABLE certificate_uids (
    fingerprint text CONSTRAINT certificate_uids_pkey PRIMARY KEY
        CONSTRAINT certificate_uids_fingerprint_fkey REFERENCES certificates (fingerprint),
    uid text NOT NULL CONSTRAINT certificate_uids_uid_key UNIQUE,
    bound_at timestamptz NOT NULL
);

CREATE TABLE secrets (
    name text CONSTRAINT secrets_pkey PRIMARY KEY,
    value bytea NOT NULL
);
