-- The site's registry: pull tokens for machines, withdrawn artifacts, and a generation number
-- that every change to what the registry serves bumps (kept by triggers, so no writer can
-- forget it), which lets the server rebuild its index only when something changed.

CREATE TABLE pull_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    -- Hex SHA-256 of the token (256 random bits: a plain hash is enough at rest).
    token_sha256  TEXT NOT NULL UNIQUE,
    -- A repository prefix the token is limited to (`acme/` or `acme/tool`); NULL: all.
    scope         TEXT,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    revoked_at    TEXT,
    revoked_by    TEXT
) STRICT;

CREATE TABLE withdrawals (
    artifact_id   INTEGER PRIMARY KEY REFERENCES artifacts(id) ON DELETE CASCADE,
    withdrawn_by  TEXT NOT NULL,
    withdrawn_at  TEXT NOT NULL,
    reason        TEXT NOT NULL
) STRICT;

CREATE TABLE registry_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  INTEGER NOT NULL
) STRICT;
INSERT INTO registry_state (id, generation) VALUES (1, 0);

CREATE TRIGGER registry_artifact_inserted AFTER INSERT ON artifacts
BEGIN UPDATE registry_state SET generation = generation + 1; END;
CREATE TRIGGER registry_artifact_updated AFTER UPDATE ON artifacts
BEGIN UPDATE registry_state SET generation = generation + 1; END;
CREATE TRIGGER registry_artifact_deleted AFTER DELETE ON artifacts
BEGIN UPDATE registry_state SET generation = generation + 1; END;
CREATE TRIGGER registry_import_state AFTER UPDATE OF state ON imports
BEGIN UPDATE registry_state SET generation = generation + 1; END;
CREATE TRIGGER registry_withdrawn AFTER INSERT ON withdrawals
BEGIN UPDATE registry_state SET generation = generation + 1; END;
CREATE TRIGGER registry_unwithdrawn AFTER DELETE ON withdrawals
BEGIN UPDATE registry_state SET generation = generation + 1; END;
