-- MyAgency's sign-in with an OpenID Connect provider (issue 21, item 6), beside the one-time link: at most one
-- provider per organization (Login.gov, or a state's own), set by its admins. Times are ms since the epoch.

CREATE TABLE my_sign_in_providers (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES organizations(id),
    -- The provider's name on the sign-in button ("Sign in with {label}").
    label TEXT NOT NULL,
    -- The issuer identifier; its discovery document is {issuer}/.well-known/openid-configuration.
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- How Heard authenticates at the token endpoint; PKCE (S256) is used with every one.
    client_auth TEXT NOT NULL
        CHECK (client_auth IN ('none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt')),
    -- The client secret, or the private key (PKCS #8 or PKCS #1 PEM) for private_key_jwt, sealed by the server.
    credential_sealed BYTEA,
    -- The private key's id (JWT header kid), when the provider asks for one.
    key_id TEXT,
    -- Scopes asked for besides openid, space-separated (email, phone).
    scopes TEXT NOT NULL,
    -- The acr_values sent with each request (Login.gov: urn:acr.login.gov:auth-only), or ''.
    acr_values TEXT NOT NULL,
    -- Whether the sign-in form offers it.
    enabled BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by UUID
);
