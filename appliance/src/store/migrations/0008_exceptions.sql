-- 0008: exceptions (waivers) that release a failed, quarantined artifact for a while.
--
-- An exception never changes its artifact's verdict: it is a separate fact, with who asked,
-- who approved (the same admin when the policy needs one approval, another when it needs
-- two), why, until when, and who revoked it. Its state is derived: pending until approved,
-- active from its approval until `expires_at` (read against the clock by whoever serves),
-- revoked once revoked. The registry generation moves on every change, so the registry
-- rebuilds its index; expiry, which no row records, is handled by the index itself.
CREATE TABLE exceptions (
    id              INTEGER PRIMARY KEY,
    artifact_id     INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    justification   TEXT NOT NULL CHECK (length(justification) BETWEEN 1 AND 2000),
    expires_at      TEXT NOT NULL,
    -- How many distinct admins the policy required when it was requested (1 or 2).
    approvals       INTEGER NOT NULL CHECK (approvals IN (1, 2)),
    requested_by    TEXT NOT NULL,
    requested_at    TEXT NOT NULL,
    approved_by     TEXT,
    approved_at     TEXT,
    -- The VSA issued when it became active (DSSE, signed by the appliance key); the
    -- artifact's original VSA stays on its row.
    vsa             BLOB,
    revoked_by      TEXT,
    revoked_at      TEXT,
    revoke_reason   TEXT,
    CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
    CHECK ((approved_by IS NULL) = (vsa IS NULL)),
    CHECK ((revoked_by IS NULL) = (revoked_at IS NULL)),
    CHECK ((revoked_by IS NULL) = (revoke_reason IS NULL)),
    CHECK (approvals = 1 OR approved_by IS NULL OR approved_by <> requested_by)
) STRICT;
-- At most one pending or active exception per artifact: `admin::request_exception` checks
-- it under the writer lock (an expired one no longer counts, which no index can say).
CREATE INDEX exceptions_artifact ON exceptions(artifact_id);
CREATE INDEX exceptions_open ON exceptions(expires_at) WHERE revoked_at IS NULL;

CREATE TRIGGER registry_exception_inserted AFTER INSERT ON exceptions
BEGIN UPDATE registry_state SET generation = generation + 1; END;
CREATE TRIGGER registry_exception_updated AFTER UPDATE ON exceptions
BEGIN UPDATE registry_state SET generation = generation + 1; END;
CREATE TRIGGER registry_exception_deleted AFTER DELETE ON exceptions
BEGIN UPDATE registry_state SET generation = generation + 1; END;
