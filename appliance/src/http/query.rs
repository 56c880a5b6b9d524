//! The list queries the API and the pages share: the imports list's filters
//! `?verdict=&publisher=&since=&until=&page=`, the artifacts list's
//! `?verdict=&name=&digest=&signer=&publisher=&since=&until=&rule=&sort=&page=`, the audit
//! log's `?action=&actor=&subject=&since=&until=&page=`, and the component search's
//! `?name=&version=&purl=&licence=&page=`. Values are
//! trimmed and an empty one means "any" (as forms send them). Each side maps a
//! [`QueryError`] to its own error: the API to a JSON 400, the pages to a 400 page (the
//! lists show a filter's error on themselves).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::report::Verdict;
use crate::store::{ArtifactFilter, ArtifactSort, AuditFilter, ComponentFilter, ImportFilter};

/// The highest page number accepted (keeps offsets far from overflow).
pub(crate) const MAX_PAGE: i64 = 1_000_000;

/// The verdicts and states `verdict=` may name.
pub(crate) const VERDICTS: [&str; 8] = [
    "passed",
    "warned",
    "failed",
    "running",
    "releasing",
    "done",
    "rejected",
    "interrupted",
];

/// Why a list query was refused; `Display` is the one line either side shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QueryError {
    /// `page=` is not a whole number from 1 to [`MAX_PAGE`].
    #[error("page must be 1 to {MAX_PAGE}")]
    Page,
    /// `verdict=` names none of [`VERDICTS`].
    #[error("verdict must be one of {}", VERDICTS.join(", "))]
    Verdict,
    /// `since=` or `until=` is neither a date nor an RFC 3339 time.
    #[error("{field} must be a date (YYYY-MM-DD) or an RFC 3339 time")]
    Time {
        /// `since` or `until`.
        field: &'static str,
    },
    /// The artifacts list's `verdict=` is not an artifact's verdict.
    #[error("verdict must be one of passed, warned, failed")]
    ArtifactVerdict,
    /// `digest=` is not a prefix of a hex SHA-256.
    #[error("digest must be 1 to 64 hexadecimal digits (a SHA-256 or its start)")]
    Digest,
    /// `sort=` names no order.
    #[error("sort must be one of {}", SORTS.join(", "))]
    Sort,
    /// A text filter is longer than [`MAX_TEXT`].
    #[error("{field} must be at most {MAX_TEXT} characters")]
    TooLong {
        /// Which filter.
        field: &'static str,
    },
    /// The component search's `purl=` is not the start of a package URL.
    #[error("purl must start with pkg:")]
    Purl,
    /// A text filter holds a control character (no SBOM value worth finding has one).
    #[error("{field} must not contain control characters")]
    Control {
        /// Which filter.
        field: &'static str,
    },
}

/// The longest text filter (name, signer, publisher, rule) accepted, in characters.
pub(crate) const MAX_TEXT: usize = 256;

/// The orders `sort=` may name.
const SORTS: [&str; 5] = ArtifactSort::ALL_NAMES;

/// `?verdict=&publisher=&since=&until=&page=` of the imports list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ImportsQuery {
    verdict: String,
    publisher: String,
    since: String,
    until: String,
    page: String,
}

impl ImportsQuery {
    /// The page asked for (see [`page`]).
    pub(crate) fn page(&self) -> Result<i64, QueryError> {
        page(&self.page)
    }

    /// The filter: a known verdict or state, a publisher, and time bounds (see [`bound`]);
    /// each `None` when empty. The verdict is checked first, then `since`, then `until`.
    pub(crate) fn filter(&self) -> Result<ImportFilter, QueryError> {
        let verdict = given(&self.verdict);
        if let Some(v) = &verdict
            && !VERDICTS.contains(&v.as_str())
        {
            return Err(QueryError::Verdict);
        }
        Ok(ImportFilter {
            verdict,
            publisher: given(&self.publisher),
            since: given(&self.since).map(|s| bound("since", &s)).transpose()?,
            until: given(&self.until).map(|s| bound("until", &s)).transpose()?,
        })
    }

    /// The filter's values as sent, trimmed (a page shows them again and keeps them in its
    /// links): verdict, publisher, since, until.
    pub(crate) fn shown(&self) -> [&str; 4] {
        [&self.verdict, &self.publisher, &self.since, &self.until].map(|v| v.trim())
    }
}

/// `?verdict=&name=&digest=&signer=&publisher=&since=&until=&rule=&sort=&page=` of the
/// artifacts list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ArtifactsQuery {
    verdict: String,
    name: String,
    digest: String,
    signer: String,
    publisher: String,
    since: String,
    until: String,
    rule: String,
    sort: String,
    page: String,
}

/// The artifacts list's query as sent, trimmed (a page shows it again and keeps it in its
/// links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArtifactsShown<'a> {
    pub(crate) verdict: &'a str,
    pub(crate) name: &'a str,
    pub(crate) digest: &'a str,
    pub(crate) signer: &'a str,
    pub(crate) publisher: &'a str,
    pub(crate) since: &'a str,
    pub(crate) until: &'a str,
    pub(crate) rule: &'a str,
    pub(crate) sort: &'a str,
}

impl ArtifactsQuery {
    /// The page asked for (see [`page`]).
    pub(crate) fn page(&self) -> Result<i64, QueryError> {
        page(&self.page)
    }

    /// The order: newest first when empty.
    pub(crate) fn sort(&self) -> Result<ArtifactSort, QueryError> {
        match given(&self.sort) {
            None => Ok(ArtifactSort::default()),
            Some(s) => ArtifactSort::ALL
                .into_iter()
                .find(|o| o.as_str() == s)
                .ok_or(QueryError::Sort),
        }
    }

    /// The filter, each value `None` when empty; checked in the form's order: the verdict,
    /// the name, the digest (`sha256:` allowed before it, any case), the signer, the
    /// publisher, `since`, `until`, the rule.
    pub(crate) fn filter(&self) -> Result<ArtifactFilter, QueryError> {
        let verdict = given(&self.verdict)
            .map(|v| {
                v.parse::<Verdict>()
                    .map_err(|_| QueryError::ArtifactVerdict)
            })
            .transpose()?;
        let name = text("name", &self.name)?;
        let digest = given(&self.digest).map(|d| digest_prefix(&d)).transpose()?;
        let signer = text("signer", &self.signer)?;
        let publisher = text("publisher", &self.publisher)?;
        let since = given(&self.since).map(|s| bound("since", &s)).transpose()?;
        let until = given(&self.until).map(|s| bound("until", &s)).transpose()?;
        let rule = text("rule", &self.rule)?;
        Ok(ArtifactFilter {
            verdict,
            name,
            digest,
            signer,
            publisher,
            since,
            until,
            rule,
        })
    }

    /// The values as sent, trimmed.
    pub(crate) fn shown(&self) -> ArtifactsShown<'_> {
        ArtifactsShown {
            verdict: self.verdict.trim(),
            name: self.name.trim(),
            digest: self.digest.trim(),
            signer: self.signer.trim(),
            publisher: self.publisher.trim(),
            since: self.since.trim(),
            until: self.until.trim(),
            rule: self.rule.trim(),
            sort: self.sort.trim(),
        }
    }
}

/// `?action=&actor=&subject=&since=&until=&page=` of the audit log.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AuditQuery {
    action: String,
    actor: String,
    subject: String,
    since: String,
    until: String,
    page: String,
}

impl AuditQuery {
    /// The page asked for (see [`page`]).
    pub(crate) fn page(&self) -> Result<i64, QueryError> {
        page(&self.page)
    }

    /// The filter, each value `None` when empty; checked in the form's order.
    pub(crate) fn filter(&self) -> Result<AuditFilter, QueryError> {
        Ok(AuditFilter {
            action: text("action", &self.action)?,
            actor: text("actor", &self.actor)?,
            subject: text("subject", &self.subject)?,
            since: given(&self.since).map(|s| bound("since", &s)).transpose()?,
            until: given(&self.until).map(|s| bound("until", &s)).transpose()?,
        })
    }

    /// The values as sent, trimmed: action, actor, subject, since, until.
    pub(crate) fn shown(&self) -> [&str; 5] {
        [
            &self.action,
            &self.actor,
            &self.subject,
            &self.since,
            &self.until,
        ]
        .map(|v| v.trim())
    }
}

/// `?name=&version=&purl=&licence=&page=` of the component search.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ComponentsQuery {
    name: String,
    version: String,
    purl: String,
    licence: String,
    page: String,
}

impl ComponentsQuery {
    /// The page asked for (see [`page`]).
    pub(crate) fn page(&self) -> Result<i64, QueryError> {
        page(&self.page)
    }

    /// The search, each value `None` when empty; checked in the form's order: the name, the
    /// version, the purl (which must start with `pkg:`), the licence. Each is at most
    /// [`MAX_TEXT`] characters without control characters.
    pub(crate) fn filter(&self) -> Result<ComponentFilter, QueryError> {
        let name = plain_text("name", &self.name)?;
        let version = plain_text("version", &self.version)?;
        let purl = plain_text("purl", &self.purl)?;
        if let Some(p) = &purl
            && !p.starts_with("pkg:")
        {
            return Err(QueryError::Purl);
        }
        let licence = plain_text("licence", &self.licence)?;
        Ok(ComponentFilter {
            name,
            version,
            purl,
            licence,
        })
    }

    /// The values as sent, trimmed: name, version, purl, licence.
    pub(crate) fn shown(&self) -> [&str; 4] {
        [&self.name, &self.version, &self.purl, &self.licence].map(|v| v.trim())
    }
}

/// A text filter ([`text`]) without control characters.
fn plain_text(field: &'static str, value: &str) -> Result<Option<String>, QueryError> {
    let value = text(field, value)?;
    if value
        .as_deref()
        .is_some_and(|v| v.chars().any(char::is_control))
    {
        return Err(QueryError::Control { field });
    }
    Ok(value)
}

/// A text filter (`field`): trimmed, `None` when empty, at most [`MAX_TEXT`] characters.
fn text(field: &'static str, value: &str) -> Result<Option<String>, QueryError> {
    match given(value) {
        Some(v) if v.chars().count() > MAX_TEXT => Err(QueryError::TooLong { field }),
        other => Ok(other),
    }
}

/// `digest=`: 1 to 64 hex digits, optionally after `sha256:`, in any case; lowercased (as
/// digests are stored).
fn digest_prefix(value: &str) -> Result<String, QueryError> {
    let hex = value
        .strip_prefix("sha256:")
        .or_else(|| value.strip_prefix("SHA256:"))
        .unwrap_or(value);
    if (1..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_lowercase())
    } else {
        Err(QueryError::Digest)
    }
}

/// A value trimmed, or `None` when that leaves nothing.
fn given(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// `page=`: 1 when absent or blank, else a whole number from 1 to [`MAX_PAGE`].
pub(crate) fn page(value: &str) -> Result<i64, QueryError> {
    match given(value) {
        None => Ok(1),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=MAX_PAGE).contains(p))
            .ok_or(QueryError::Page),
    }
}

/// `since=`/`until=` (named by `field`): a date (`2026-03-01`, the start of that day UTC) or an
/// RFC 3339 time, in the form the store compares (stored times are UTC with microseconds).
fn bound(field: &'static str, value: &str) -> Result<String, QueryError> {
    let value = value.trim();
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(date.format("%Y-%m-%d").to_string());
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| {
            t.with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        })
        .map_err(|_| QueryError::Time { field })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn imports(pairs: &[(&str, &str)]) -> ImportsQuery {
        let text = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        actix_web::web::Query::<ImportsQuery>::from_query(&text)
            .unwrap()
            .into_inner()
    }

    #[test]
    fn pages_run_from_1_to_the_limit_and_default_to_1() {
        for (value, expected) in [
            ("", 1),
            ("  ", 1),
            ("1", 1),
            (" 3 ", 3),
            ("1000000", MAX_PAGE),
        ] {
            assert_eq!(page(value), Ok(expected), "{value:?}");
        }
        for bad in [
            "0",
            "-1",
            "1000001",
            "x",
            "1.5",
            "1e3",
            "9223372036854775808",
        ] {
            assert_eq!(page(bad), Err(QueryError::Page), "{bad:?}");
        }
        assert_eq!(QueryError::Page.to_string(), "page must be 1 to 1000000");
        assert_eq!(imports(&[]).page(), Ok(1));
        assert_eq!(imports(&[("page", "7")]).page(), Ok(7));
        let query = actix_web::web::Query::<AuditQuery>::from_query("page=0").unwrap();
        assert_eq!(query.page(), Err(QueryError::Page));
    }

    #[test]
    fn empty_filters_mean_any_and_values_are_trimmed() {
        assert_eq!(imports(&[]).filter().unwrap(), ImportFilter::default());
        let blank = imports(&[("verdict", ""), ("publisher", "+"), ("since", "")]);
        assert_eq!(blank.filter().unwrap(), ImportFilter::default());
        let query = imports(&[
            ("verdict", "+failed+"),
            ("publisher", "+acme+corp+"),
            ("since", "2026-03-01"),
            ("until", "2026-03-01T02%3A00%3A00%2B02%3A00"),
        ]);
        assert_eq!(
            query.filter().unwrap(),
            ImportFilter {
                verdict: Some("failed".into()),
                publisher: Some("acme corp".into()),
                since: Some("2026-03-01".into()),
                until: Some("2026-03-01T00:00:00.000000Z".into()),
            }
        );
        assert_eq!(
            query.shown(),
            [
                "failed",
                "acme corp",
                "2026-03-01",
                "2026-03-01T02:00:00+02:00"
            ]
        );
    }

    #[test]
    fn every_filter_error_names_what_is_wrong_in_order() {
        for verdict in VERDICTS {
            assert!(
                imports(&[("verdict", verdict)]).filter().is_ok(),
                "{verdict}"
            );
        }
        let unknown = imports(&[("verdict", "PASSED"), ("since", "soon")]).filter();
        assert_eq!(unknown, Err(QueryError::Verdict));
        assert_eq!(
            QueryError::Verdict.to_string(),
            "verdict must be one of passed, warned, failed, running, releasing, done, rejected, \
             interrupted"
        );
        let since = imports(&[("since", "soon"), ("until", "later")]).filter();
        assert_eq!(since, Err(QueryError::Time { field: "since" }));
        let until = imports(&[("since", "2026-03-01"), ("until", "2026-13-01")]).filter();
        assert_eq!(until, Err(QueryError::Time { field: "until" }));
        assert_eq!(
            QueryError::Time { field: "until" }.to_string(),
            "until must be a date (YYYY-MM-DD) or an RFC 3339 time"
        );
        // A time needs its offset.
        assert_eq!(
            imports(&[("until", "2026-03-01T00%3A00%3A00")]).filter(),
            Err(QueryError::Time { field: "until" })
        );
    }

    fn artifacts(text: &str) -> ArtifactsQuery {
        actix_web::web::Query::<ArtifactsQuery>::from_query(text)
            .unwrap()
            .into_inner()
    }

    #[test]
    fn the_artifacts_query_reads_every_filter_and_order() {
        assert_eq!(artifacts("").filter().unwrap(), ArtifactFilter::default());
        assert_eq!(artifacts("sort=").sort(), Ok(ArtifactSort::Newest));
        let query = artifacts(
            "verdict=failed&name=+tool+&digest=SHA256%3AAB12&signer=acme%2Frel&\
             publisher=acme&since=2026-03-01&until=2026-03-02T00%3A00%3A00Z&\
             rule=override%3Atools&sort=size&page=3",
        );
        assert_eq!(
            query.filter().unwrap(),
            ArtifactFilter {
                verdict: Some(Verdict::Failed),
                name: Some("tool".into()),
                digest: Some("ab12".into()),
                signer: Some("acme/rel".into()),
                publisher: Some("acme".into()),
                since: Some("2026-03-01".into()),
                until: Some("2026-03-02T00:00:00.000000Z".into()),
                rule: Some("override:tools".into()),
            }
        );
        assert_eq!(query.sort(), Ok(ArtifactSort::Size));
        assert_eq!(query.page(), Ok(3));
        assert_eq!(query.shown().name, "tool");
        assert_eq!(query.shown().digest, "SHA256:AB12");
        for sort in ArtifactSort::ALL {
            assert_eq!(
                artifacts(&format!("sort={}", sort.as_str())).sort(),
                Ok(sort)
            );
        }
        // A whole digest, lowercased.
        let whole = "A".repeat(64);
        assert_eq!(
            artifacts(&format!("digest={whole}"))
                .filter()
                .unwrap()
                .digest,
            Some("a".repeat(64))
        );
    }

    #[test]
    fn every_artifacts_query_error_names_what_is_wrong() {
        // Import states are no artifact's verdict.
        for (text, expected, message) in [
            (
                "verdict=rejected",
                QueryError::ArtifactVerdict,
                "verdict must be one of passed, warned, failed",
            ),
            (
                "digest=xyz",
                QueryError::Digest,
                "digest must be 1 to 64 hexadecimal digits (a SHA-256 or its start)",
            ),
            ("digest=sha256%3A", QueryError::Digest, ""),
            ("digest=sha512%3Aab", QueryError::Digest, ""),
            ("since=yesterday", QueryError::Time { field: "since" }, ""),
            ("until=2026-02-30", QueryError::Time { field: "until" }, ""),
        ] {
            let got = artifacts(text).filter().unwrap_err();
            assert_eq!(got, expected, "{text}");
            if !message.is_empty() {
                assert_eq!(got.to_string(), message);
            }
        }
        let long = "x".repeat(MAX_TEXT + 1);
        let got = artifacts(&format!("signer={long}")).filter().unwrap_err();
        assert_eq!(got.to_string(), "signer must be at most 256 characters");
        assert!(
            artifacts(&format!("name={}", "é".repeat(MAX_TEXT)))
                .filter()
                .is_ok()
        );
        assert_eq!(
            artifacts(&format!("digest={}", "a".repeat(65))).filter(),
            Err(QueryError::Digest)
        );
        let got = artifacts("sort=largest").sort().unwrap_err();
        assert_eq!(
            got.to_string(),
            "sort must be one of newest, oldest, name, size, verdict"
        );
        // The verdict is checked before the rest.
        assert_eq!(
            artifacts("digest=x&verdict=ok").filter(),
            Err(QueryError::ArtifactVerdict)
        );
    }

    fn components(text: &str) -> ComponentsQuery {
        actix_web::web::Query::<ComponentsQuery>::from_query(text)
            .unwrap()
            .into_inner()
    }

    #[test]
    fn the_component_search_is_trimmed_and_each_bad_filter_refused_in_order() {
        let q =
            components("name=+zlib+&version=1.3.1&purl=pkg%3Ageneric%2Fzlib&licence=Zlib&page=2");
        assert_eq!(
            q.filter().unwrap(),
            ComponentFilter {
                name: Some("zlib".into()),
                version: Some("1.3.1".into()),
                purl: Some("pkg:generic/zlib".into()),
                licence: Some("Zlib".into()),
            }
        );
        assert_eq!(q.page(), Ok(2));
        assert_eq!(q.shown(), ["zlib", "1.3.1", "pkg:generic/zlib", "Zlib"]);
        assert_eq!(components("").filter().unwrap(), ComponentFilter::default());
        assert_eq!(
            components("purl=npm/lodash&licence=%00").filter(),
            Err(QueryError::Purl)
        );
        assert_eq!(QueryError::Purl.to_string(), "purl must start with pkg:");
        let long = "x".repeat(MAX_TEXT + 1);
        assert_eq!(
            components(&format!("version={long}&name=%07")).filter(),
            Err(QueryError::Control { field: "name" })
        );
        assert_eq!(
            components(&format!("version={long}"))
                .filter()
                .unwrap_err()
                .to_string(),
            "version must be at most 256 characters"
        );
        assert_eq!(
            components("licence=a%0Ab")
                .filter()
                .unwrap_err()
                .to_string(),
            "licence must not contain control characters"
        );
        assert_eq!(components("page=0").page(), Err(QueryError::Page));
    }
}
