-- 0007: the lists' filters: the artifacts list across imports (`/artifacts`,
-- `GET /api/v1/artifacts`) and the audit log's (`/audit`, `GET /api/v1/audit`).
--
-- Who verifiably signed each artifact, one row per signer, recorded at import from the typed
-- report (`ArtifactReport::signer_identities`), so the list can filter on an identity without
-- reading every stored report. Rows of artifacts imported before this migration are written
-- by the store right after it, in the same transaction, from their stored reports.
CREATE TABLE artifact_signers (
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('certificate', 'key')),
    -- A certificate's identity (its SAN), or a key's id (hex SHA-256 of its SPKI).
    identity    TEXT NOT NULL,
    -- A certificate's OIDC issuer; NULL for a key.
    issuer      TEXT,
    PRIMARY KEY (artifact_id, position),
    CHECK ((kind = 'certificate') = (issuer IS NOT NULL))
) STRICT, WITHOUT ROWID;
CREATE INDEX artifact_signers_identity ON artifact_signers(identity);

-- An artifact row carries its report and signed VSA, so a scan of the table reads kilobytes
-- per row. Each filter and sort of the list reads a narrow index instead (the verdict and
-- the digest already have one; the import's publisher and time go through `imports`); the
-- ids alone in order, for pages deep into the whole list.
CREATE INDEX artifacts_newest ON artifacts(id);
CREATE INDEX artifacts_name ON artifacts(name, id DESC);
CREATE INDEX artifacts_size ON artifacts(size);
CREATE INDEX artifacts_rule ON artifacts(rule);

-- The audit log filtered by action (a name or its dotted family: `import` is `import.*`),
-- actor, subject and time, newest first within each.
CREATE INDEX audit_action ON audit(action);
CREATE INDEX audit_actor ON audit(actor);
CREATE INDEX audit_subject ON audit(subject);
CREATE INDEX audit_at ON audit(at);
