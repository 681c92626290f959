-- One-time enrollment tokens: a TAK client enrolls for a client certificate on the TAK
-- enrollment port with the certificate's name and this token, once, before it expires.
-- Only the token's SHA-256 hash is kept.

CREATE TABLE enrollment_tokens (
    name text CONSTRAINT enrollment_tokens_pkey PRIMARY KEY,
    principal text NOT NULL
        CONSTRAINT enrollment_tokens_principal_fkey REFERENCES principals (name),
    secret_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
