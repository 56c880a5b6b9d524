//! `GET /audit` (the log: filtered, its details read out, its subjects linked, the whole
//! chain's status and that of the rows shown) and its exports: `GET /audit/export.jsonl`, the
//! whole chain as `airlock-appliance audit export` writes it, and `GET /audit/export.csv`, the
//! rows the filters select. Every role may read and export them.

use std::collections::HashMap;
use std::io::Write;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use airlock_web::{
    AuditFilterView, AuditLine, AuditPage, ChainStatus, Chrome, PageCheck, Pager, Section,
    Template, Text,
};
use rusqlite::Connection;

use super::{PageError, Signed, attachment, blocking, html_with};
use crate::audit;
use crate::http::AppState;
use crate::http::query::AuditQuery;
use crate::http::stream::{self, Chunks};
use crate::store::{self, AuditRow, Role};

/// Audit rows per page.
const PER_PAGE: i64 = 50;

/// `GET /audit`.
pub(super) async fn log(
    signed: Signed,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let page = q.page()?;
    let [action, actor, subject, since, until] = q.shown();
    let shown = AuditFilterView {
        action: Text::new(action),
        actor: Text::new(actor),
        subject: Text::new(subject),
        since: Text::new(since),
        until: Text::new(until),
    };
    let parsed = q.filter().map_err(|e| e.to_string());
    let totals = state.audit_totals.clone();
    let known_actions = state.audit_actions.clone();
    let watch = state.chain_watch.clone();
    let (status, body) = blocking(&state, move |app| {
        let viewer = signed.open(app, Role::Auditor)?.viewer();
        let admin = viewer.role.is_admin();
        let store = app.reader()?;
        let conn = store.read();
        let (status, rows, total, error) = match parsed {
            Ok(filter) => (
                StatusCode::OK,
                store::audit::filtered(conn, &filter, (page - 1) * PER_PAGE, PER_PAGE)?,
                totals.total(conn, &filter)?,
                None,
            ),
            Err(e) => (StatusCode::BAD_REQUEST, Vec::new(), 0, Some(Text::new(e))),
        };
        let before = audit::predecessors(conn, &rows)?;
        let watched = match watch.status(conn, audit::FULL_CHECK_EVERY)? {
            Ok(chain) => watch.check_latest_head(conn, &app.verifying_key(), chain)?,
            Err(broken) => Err(broken),
        };
        let chain = match watched {
            Ok(status) => ChainStatus::Intact {
                rows: status.rows,
                head: status.head,
            },
            Err(broken) => ChainStatus::Broken {
                error: Text::new(broken.to_string()),
            },
        };
        let artifacts = store::artifacts::ids_at(conn, &artifact_places(&rows))?;
        let actions = known_actions.all(conn)?;
        drop(store);
        // The rows shown, re-hashed and linked once the store is free for other requests.
        let page_check = match (audit::check_rows(&rows, &before), rows.first(), rows.last()) {
            (_, None, _) | (_, _, None) => PageCheck::Empty,
            (Ok(()), Some(newest), Some(oldest)) => PageCheck::Intact {
                first: oldest.seq,
                last: newest.seq,
            },
            (Err(e), _, _) => PageCheck::Broken {
                error: Text::new(e.to_string()),
            },
        };
        let pager = Pager::new(
            "/audit",
            &shown.pairs(),
            page as u64,
            PER_PAGE as u64,
            total as u64,
        );
        let page = AuditPage {
            chrome: Chrome::new("Audit log", viewer, Section::Audit),
            chain,
            page_check,
            error,
            actions: actions.into_iter().map(Text::new).collect(),
            rows: rows
                .into_iter()
                .map(|r| line(r, &artifacts, admin))
                .collect(),
            pager,
            filter: shown,
        };
        Ok((status, page.render()?))
    })
    .await?;
    Ok(html_with(status, body))
}

/// `GET /audit/export.jsonl`: the whole chain and its signed heads, as `audit export` writes
/// them (each line re-hashes alone).
pub(super) async fn export_jsonl(
    signed: Signed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let body = streamed(signed, &state, audit::export).await?;
    Ok(attachment("application/jsonl", "airlock-audit.jsonl").streaming(body))
}

/// `GET /audit/export.csv`: the rows the filters select, oldest first.
pub(super) async fn export_csv(
    signed: Signed,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let filter = query.filter()?;
    let body = streamed(signed, &state, move |conn, out| {
        audit::export_csv(conn, &filter, out)
    })
    .await?;
    Ok(attachment("text/csv; charset=utf-8", "airlock-audit.csv").streaming(body))
}

/// Checks that the session may read the log, then streams what `write` writes from a
/// connection of its own (the log may be long; the page's shared connection stays free).
async fn streamed<F>(signed: Signed, state: &AppState, write: F) -> Result<Chunks, PageError>
where
    F: FnOnce(&Connection, &mut dyn Write) -> Result<i64, audit::ExportError> + Send + 'static,
{
    let database = blocking(state, move |app| {
        signed.open(app, Role::Auditor)?;
        Ok(app.data().database())
    })
    .await?;
    Ok(stream::from_blocking(move |out| {
        let store = store::Store::open_reader(&database).map_err(|e| e.to_string())?;
        write(store.read(), out)
            .map(drop)
            .map_err(|e| e.to_string())
    }))
}

/// The artifacts (import, position) that rows about an artifact name in their subject.
fn artifact_places(rows: &[AuditRow]) -> Vec<(i64, i64)> {
    rows.iter()
        .filter(|r| matches!(r.action.as_str(), "verdict" | "artifact.withdrawn"))
        .filter_map(|r| place(&r.subject))
        .collect()
}

/// `import/position`, as those rows name an artifact.
fn place(subject: &str) -> Option<(i64, i64)> {
    let (import, position) = subject.split_once('/')?;
    Some((import.parse().ok()?, position.parse().ok()?))
}

/// Where a row's subject is shown, if anywhere the viewer may go: an import, an artifact,
/// the trust page; for admins also the admin pages of signers, publishers, users, the policy.
fn subject_href(r: &AuditRow, artifacts: &HashMap<(i64, i64), i64>, admin: bool) -> Option<String> {
    let family = r.action.split('.').next().unwrap_or_default();
    match (r.action.as_str(), family) {
        ("verdict" | "artifact.withdrawn", _) => {
            let at = place(&r.subject)?;
            Some(match artifacts.get(&at) {
                Some(id) => format!("/artifacts/{id}"),
                None => format!("/imports/{}", at.0),
            })
        }
        ("release", _) | (_, "import") => {
            let id: i64 = r.subject.parse().ok()?;
            Some(format!("/imports/{id}"))
        }
        (_, "trust") => Some("/trust".to_owned()),
        _ if !admin => None,
        (_, "signer") => Some("/admin/signers".to_owned()),
        (_, "publisher") => Some("/admin/publishers".to_owned()),
        (_, "user" | "login" | "logout") => Some("/admin/users".to_owned()),
        (_, "policy") => Some("/admin/policy".to_owned()),
        _ => None,
    }
}

/// The row's details as key/value pairs, when they are a JSON object with fields: strings as
/// they are, lists of strings joined with "; ", other values as compact JSON; empty values
/// (null, "", [], {}) left out.
fn details(detail: &str) -> Option<Vec<(Text, Text)>> {
    use serde_json::Value;
    let Value::Object(fields) = serde_json::from_str(detail).ok()? else {
        return None;
    };
    let pairs: Vec<(Text, Text)> = fields
        .into_iter()
        .filter_map(|(k, v)| {
            let shown = match v {
                Value::Null => return None,
                Value::String(s) if s.is_empty() => return None,
                Value::Array(a) if a.is_empty() => return None,
                Value::Object(o) if o.is_empty() => return None,
                Value::String(s) => s,
                Value::Array(items) if items.iter().all(Value::is_string) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            Some((Text::new(k), Text::new(shown)))
        })
        .collect();
    (!pairs.is_empty()).then_some(pairs)
}

fn line(r: AuditRow, artifacts: &HashMap<(i64, i64), i64>, admin: bool) -> AuditLine {
    let pairs = details(&r.detail);
    let subject_href = subject_href(&r, artifacts, admin);
    AuditLine {
        seq: r.seq,
        at: r.at,
        actor: Text::new(r.actor),
        action: Text::new(r.action),
        subject: Text::new(r.subject),
        subject_href,
        detail: match &pairs {
            None if r.detail != "{}" => Some(Text::new(r.detail)),
            _ => None,
        },
        details: pairs.unwrap_or_default(),
        hash: r.hash,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(action: &str, subject: &str, detail: &str) -> AuditRow {
        AuditRow {
            seq: 1,
            at: "t".into(),
            actor: "a".into(),
            action: action.into(),
            subject: subject.into(),
            detail: detail.into(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn subjects_link_where_they_are_shown_and_admin_pages_only_for_admins() {
        let artifacts = HashMap::from([((3, 1), 12)]);
        for (action, subject, admin, expected) in [
            ("verdict", "3/1", false, Some("/artifacts/12")),
            ("verdict", "3/9", false, Some("/imports/3")),
            ("artifact.withdrawn", "3/1", false, Some("/artifacts/12")),
            ("verdict", "x", false, None),
            ("import.started", "3", false, Some("/imports/3")),
            ("import.done", "x", false, None),
            ("release", "3", false, Some("/imports/3")),
            ("trust.updated", "sigstore", false, Some("/trust")),
            ("signer.added", "ci", false, None),
            ("signer.added", "ci", true, Some("/admin/signers")),
            ("publisher.key_added", "k", true, Some("/admin/publishers")),
            ("login", "aude", true, Some("/admin/users")),
            ("user.added", "aude", true, Some("/admin/users")),
            ("policy.changed", "policy", true, Some("/admin/policy")),
            ("alarm.cleared", "1", true, None),
        ] {
            assert_eq!(
                subject_href(&row(action, subject, "{}"), &artifacts, admin).as_deref(),
                expected,
                "{action} {subject} admin={admin}"
            );
        }
    }

    #[test]
    fn details_read_as_pairs_and_anything_else_as_it_is() {
        let line = line(
            row(
                "verdict",
                "3/1",
                r#"{"artifact":"a.bin","reasons":["x","y"],"n":2,"m":[1],"e":[],"z":null,"s":""}"#,
            ),
            &HashMap::new(),
            false,
        );
        let pairs: Vec<(String, String)> = line
            .details
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("artifact".to_owned(), "a.bin".to_owned()),
                ("m".to_owned(), "[1]".to_owned()),
                ("n".to_owned(), "2".to_owned()),
                ("reasons".to_owned(), "x; y".to_owned()),
            ]
        );
        assert!(line.detail.is_none());
        let empty = super::line(row("logout", "a", "{}"), &HashMap::new(), false);
        assert!(empty.details.is_empty() && empty.detail.is_none());
        let odd = super::line(row("test", "a", "[1]"), &HashMap::new(), false);
        assert_eq!(odd.detail.unwrap().as_str(), "[1]");
    }
}
