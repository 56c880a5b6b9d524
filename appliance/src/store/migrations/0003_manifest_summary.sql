-- 0003: an import keeps a summary of its manifest instead of the whole manifest. The signed
-- manifest itself stays in quarantine/<id>/evidence/ and in the kept archive; a manifest of
-- many artifacts is tens of megabytes the import page had to parse on every view.
ALTER TABLE imports ADD COLUMN summary TEXT;
UPDATE imports SET summary = json_object(
    'version', json_extract(manifest, '$.version'),
    'artifacts', json_array_length(manifest, '$.artifacts'),
    'blobs', json_array_length(manifest, '$.blobs'),
    'blob_bytes', (SELECT coalesce(sum(json_extract(b.value, '$.size')), 0)
                   FROM json_each(manifest, '$.blobs') AS b),
    'trust', (SELECT json_group_array(json_extract(t.value, '$.name'))
              FROM json_each(manifest, '$.trust') AS t),
    'logs', (SELECT json_group_array(json_object(
                 'origin', json_extract(l.value, '$.origin'),
                 -- A checkpoint's second line is its tree size.
                 'size', CAST(substr(rest, 1, instr(rest, char(10)) - 1) AS INTEGER)))
             FROM (SELECT value,
                          substr(json_extract(value, '$.checkpoint'),
                                 instr(json_extract(value, '$.checkpoint'), char(10)) + 1) AS rest
                   FROM json_each(manifest, '$.logs')) AS l)
) WHERE manifest IS NOT NULL AND json_valid(manifest);
ALTER TABLE imports DROP COLUMN manifest;
