-- The deployment's TAK/TLS certificate authority, one for every gateway: its certificate,
-- its private key (PEM, encrypted under the secret named 'tak-ca-key' in secrets) and its
-- current CRL. One row at most: the first process that needs a CA inserts it unless
-- another did first, then reads back the one that counts.

CREATE TABLE deployment_ca (
    id integer CONSTRAINT deployment_ca_pkey PRIMARY KEY
        CONSTRAINT deployment_ca_one CHECK (id = 1),
    certificate bytea NOT NULL,
    encrypted_key bytea NOT NULL,
    crl bytea NOT NULL,
    created_at timestamptz NOT NULL,
    crl_updated_at timestamptz NOT NULL
);
