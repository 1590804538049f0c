-- Accounts, issue 16. Sign-in throttling moves from one counter per account and one per address (five failures
-- locked both for everyone) to one counter per (account, address) and a far larger one per address; lockouts are
-- recorded so people can see and end them. Site operators create organizations; members join by accepting an
-- invitation. Sessions are found by user, so a password reset or "sign out everywhere" ends them all.

DROP TABLE login_throttle;

-- Failed sign-ins in the current window. `email` is the address typed (lower-case, whether or not an account has
-- it); the row with email '' counts every failure from the address.
CREATE TABLE sign_in_failures (
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    wait_until BIGINT NOT NULL,
    PRIMARY KEY (email, address)
);

-- Each time a counter starts making an address wait. Ended by a right password, by an unlock, or open until then.
CREATE TABLE sign_in_lockouts (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    failures BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    wait_until BIGINT NOT NULL,
    ended_at BIGINT,
    ended_by TEXT
);
CREATE INDEX sign_in_lockouts_by_email ON sign_in_lockouts(email, started_at);

-- Site operators run the installation: they create organizations. The oldest account becomes one.
ALTER TABLE users ADD COLUMN is_operator BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET is_operator = TRUE WHERE id = (SELECT id FROM users ORDER BY created_at, id LIMIT 1);

CREATE INDEX sessions_by_user ON sessions(user_id);

-- An invitation to join an organization with a role, answered by the person it names. Only the hash of its
-- single-use token is kept.
CREATE TABLE invitations (
    org_id UUID NOT NULL REFERENCES organizations(id),
    id UUID NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    token_hash BYTEA NOT NULL UNIQUE,
    invited_by UUID NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    answered_at BIGINT,
    answer TEXT CHECK (answer IN ('accepted', 'declined', 'withdrawn')),
    PRIMARY KEY (org_id, id)
);
CREATE INDEX invitations_by_email ON invitations(email);
