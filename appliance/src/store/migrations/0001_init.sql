-- 0001: the appliance's first schema. Times are RFC 3339 UTC text; digests lowercase hex.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
    password_hash TEXT NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen    TEXT NOT NULL
) STRICT;

-- A publisher (a bundler team) and the last sequence number accepted from it.
CREATE TABLE publishers (
    name          TEXT PRIMARY KEY,
    last_sequence INTEGER,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE publisher_keys (
    key_id     TEXT PRIMARY KEY,
    publisher  TEXT NOT NULL REFERENCES publishers(name) ON DELETE CASCADE,
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    enabled    INTEGER NOT NULL DEFAULT 1,
    added_at   TEXT NOT NULL
) STRICT;

-- Pinned TUF roots (set at init, out of band) and the accepted state of each repository.
CREATE TABLE tuf_repositories (
    name        TEXT PRIMARY KEY,
    pinned_root BLOB NOT NULL,
    state       TEXT,
    trusted_root BLOB,
    updated_at  TEXT
) STRICT;

-- Every checkpoint the witness accepted, per log; the newest (largest size) is the head.
CREATE TABLE checkpoints (
    id          INTEGER PRIMARY KEY,
    origin      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    root_hash   TEXT NOT NULL,
    note        TEXT NOT NULL,
    import_id   INTEGER REFERENCES imports(id),
    witnessed_at TEXT NOT NULL,
    UNIQUE (origin, size)
) STRICT;

-- Persistent alarms (a log fork, a TUF rollback attempt); cleared only by an admin.
CREATE TABLE alarms (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('log-fork', 'rollback')),
    subject    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    import_id  INTEGER REFERENCES imports(id),
    raised_at  TEXT NOT NULL,
    cleared_at TEXT,
    cleared_by TEXT
) STRICT;

-- One import of one archive. state: running → (releasing →) done | rejected | interrupted.
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL CHECK (source IN ('upload', 'inbox', 'cli')),
    file_name     TEXT NOT NULL,
    archive_path  TEXT,
    archive_size  INTEGER NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('running', 'releasing', 'done', 'rejected', 'interrupted')),
    reason        TEXT,
    archive_id    TEXT,
    publisher     TEXT,
    sequence      INTEGER,
    key_ids       TEXT,
    created_at    TEXT,
    site          TEXT,
    notes         TEXT,
    manifest      TEXT,
    passed        INTEGER NOT NULL DEFAULT 0,
    warned        INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    started_by    TEXT NOT NULL
) STRICT;
CREATE INDEX imports_started ON imports(started_at);
CREATE INDEX imports_publisher ON imports(publisher);

-- Each pipeline step of an import, with what it found and how long it took.
CREATE TABLE import_steps (
    import_id   INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    step        TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    detail      TEXT NOT NULL,
    duration_us INTEGER NOT NULL,
    PRIMARY KEY (import_id, position)
) STRICT;

CREATE TABLE artifacts (
    id           INTEGER PRIMARY KEY,
    import_id    INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    media_type   TEXT NOT NULL,
    verdict      TEXT NOT NULL CHECK (verdict IN ('passed', 'warned', 'failed')),
    reasons      TEXT NOT NULL,
    rule         TEXT NOT NULL,
    report       TEXT NOT NULL,
    vsa          BLOB NOT NULL,
    location     TEXT,
    UNIQUE (import_id, position)
) STRICT;
CREATE INDEX artifacts_digest ON artifacts(digest);
CREATE INDEX artifacts_verdict ON artifacts(verdict);

-- Trusted signers: keyless (issuer + subject, exact or anchored regex) or a PEM public key.
CREATE TABLE signers (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('keyless', 'key')),
    issuer     TEXT,
    subject    TEXT,
    subject_is_regex INTEGER NOT NULL DEFAULT 0,
    public_key TEXT,
    enabled    INTEGER NOT NULL DEFAULT 1,
    expires_at TEXT,
    added_at   TEXT NOT NULL
) STRICT;

-- The append-only audit chain: each row's hash covers the previous row's hash.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
