-- 0009: the components index (`/components`, `GET /api/v1/components`).
--
-- Every SBOM component each artifact's report keeps (its SBOM files and verified SBOM
-- attestations, at most 10,000 per SBOM), one row per distinct name, version, purl and
-- licence, recorded at import from the typed report, so a search across every artifact
-- ("which artifacts contain zlib 1.3.1?") reads this table and its indexes, never a stored
-- report. Rows of artifacts imported before this migration are written by the store right
-- after it, in the same transaction, from their stored reports. Every value is SBOM text:
-- untrusted, shown escaped, never a path.
CREATE TABLE artifact_components (
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    -- Empty when the SBOM names none.
    name        TEXT NOT NULL,
    version     TEXT,
    purl        TEXT,
    -- Its licences as the report keeps them (`Zlib, MIT OR Apache-2.0`).
    licence     TEXT,
    PRIMARY KEY (artifact_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX artifact_components_name ON artifact_components(name COLLATE NOCASE, version);
CREATE INDEX artifact_components_purl ON artifact_components(purl);
