-- 0010: the dashboard's charts. The trust each import accepted, kept per import for the
-- freshness chart: the archive time a TUF repository was verified as of, and the role that
-- expires first then (the margin is the time between). Rows start with this version; the
-- repositories' current state stays in `tuf_repositories`.
CREATE TABLE trust_history (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    import_id      INTEGER NOT NULL REFERENCES imports(id),
    reference_time TEXT NOT NULL,
    first_role     TEXT NOT NULL,
    first_expiry   TEXT NOT NULL,
    recorded_at    TEXT NOT NULL
) STRICT;
CREATE INDEX trust_history_name ON trust_history(name, id);

-- The dashboard's imports-per-day chart reads the start time and verdict counts of the last
-- weeks' imports from this index alone (a row carries its manifest summary, kilobytes).
CREATE INDEX imports_daily ON imports(started_at, passed, warned, failed);
