//! The read-only pages every role sees: the dashboard, imports, an import, an artifact's
//! report, trust and the witness (the artifacts list and the audit log have their own
//! modules). Each reads the store, builds its view model and renders it on the blocking pool.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use airlock_bundler::archive::ArtifactKind;
use airlock_web::{
    ActiveException, Chrome, DashboardPage, Downloads, EvidenceLink, ExceptionsView, ImportPage,
    ImportsFilter, ImportsPage, Pager, ReportPage, Section, Template, Text, TrustPage,
    VerdictCounts, WitnessPage, WitnessedLog,
};
use serde::Deserialize;

use super::{PageError, Signed, blocking, html, html_with, views};
use crate::appliance::Appliance;
use crate::http::AppState;
use crate::http::query::{self, ImportsQuery};
use crate::report::{ArtifactReport, Verdict};
use crate::store::{self, ImportFilter, Role};

/// Imports per page of the list.
const IMPORTS_PER_PAGE: i64 = 50;

/// Imports on the dashboard.
const RECENT: i64 = 10;

/// Days in the dashboard's verdict chart (today included).
const CHART_DAYS: u64 = 30;

/// Imports in the dashboard's trust freshness chart.
const MARGIN_POINTS: i64 = 60;

/// Checkpoints shown per log on the witness page.
const HISTORY: i64 = 20;

/// A numeric id from the path (anything else is a 404 page, not a JSON error).
pub(super) fn id(path: &str, what: &str) -> Result<i64, PageError> {
    path.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| PageError::NotFound(format!("no such {what}: {}", Text::new(path))))
}

/// `page=`: 1 when absent or empty, else 1 ..= [`MAX_PAGE`](crate::http::query::MAX_PAGE).
fn page(value: Option<&str>) -> Result<i64, PageError> {
    Ok(query::page(value.unwrap_or_default())?)
}

/// `GET /`.
pub(super) async fn dashboard(
    signed: Signed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let daily = state.daily.clone();
    let totals = state.artifact_totals.clone();
    let body = blocking(&state, move |app| {
        let viewer = signed.open(app, Role::Auditor)?.viewer();
        let now = app.now();
        let first_day = now.date_naive() - chrono::Days::new(CHART_DAYS - 1);
        let page = {
            let store = app.reader()?;
            let conn = store.read();
            let (recent, _) = store::imports::list(conn, &ImportFilter::default(), 0, RECENT)?;
            // Counting 100,000 artifacts by verdict takes milliseconds: kept until the
            // registry generation moves, as the artifacts list's totals are.
            let count = |verdict| {
                totals.total(
                    conn,
                    &store::ArtifactFilter {
                        verdict: Some(verdict),
                        ..store::ArtifactFilter::default()
                    },
                )
            };
            let (passed, warned, failed) = (
                count(Verdict::Passed)?,
                count(Verdict::Warned)?,
                count(Verdict::Failed)?,
            );
            let days = daily.since(conn, &first_day.format("%Y-%m-%d").to_string())?;
            DashboardPage {
                chrome: Chrome::new("Dashboard", viewer, Section::Dashboard),
                counts: VerdictCounts {
                    passed,
                    warned,
                    failed,
                },
                verdict_chart: views::verdict_chart(first_day, CHART_DAYS, &days),
                margin_chart: views::margin_chart(&store::trust::history(conn, MARGIN_POINTS)?),
                recent: recent.iter().map(views::import_line).collect(),
                trust: store::trust::list(conn)?
                    .iter()
                    .map(|r| views::freshness(r, now))
                    .collect(),
                logs: store::witness::heads(conn)?
                    .iter()
                    .map(views::log_head)
                    .collect(),
                alarms: store::alarms::open(conn)?
                    .iter()
                    .map(views::alarm_line)
                    .collect(),
                exceptions: active_exceptions(conn, now)?,
            }
        };
        Ok(page.render()?)
    })
    .await?;
    Ok(html(body))
}

/// Failed artifacts released by an exception active at `now`, the soonest to expire first.
fn active_exceptions(
    conn: &rusqlite::Connection,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<ActiveException>, PageError> {
    let soon = now + chrono::Duration::days(7);
    let mut out = Vec::new();
    for e in store::exceptions::open(conn, now)? {
        let Some(approved_by) = e.approved_by.clone() else {
            continue;
        };
        let artifact = store::artifacts::get(conn, e.artifact_id)?
            .map(|a| a.name)
            .unwrap_or_default();
        out.push(ActiveException {
            artifact_id: e.artifact_id,
            artifact: Text::new(artifact),
            expires_at: e
                .expires_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            approved_by: Text::new(approved_by),
            expiring_soon: e.expires_at <= soon,
        });
    }
    Ok(out)
}

/// What the artifact page shows of its exceptions to `actor`.
fn exceptions_view(
    app: &Appliance,
    row: &store::ArtifactRow,
    actor: &str,
) -> Result<ExceptionsView, PageError> {
    let now = app.now();
    let rules = crate::settings::Settings::load(app)
        .map_err(PageError::internal)?
        .policy
        .0
        .exceptions;
    let rows = store::exceptions::of_artifact(app.reader()?.read(), row.id)?;
    let with_state = |state| {
        rows.iter()
            .find(|e| e.state(now) == state)
            .map(|e| views::exception_line(e, now))
    };
    let pending = rows
        .iter()
        .find(|e| e.state(now) == store::exceptions::ExceptionState::Pending);
    Ok(ExceptionsView {
        failed: row.verdict == crate::report::Verdict::Failed,
        active: with_state(store::exceptions::ExceptionState::Active),
        pending: with_state(store::exceptions::ExceptionState::Pending),
        may_approve: pending.is_some_and(|e| e.approvals == 1 || e.requested_by != actor),
        approvals: rules.approvals,
        max_days: rules.max_days,
        history: rows.iter().map(|e| views::exception_line(e, now)).collect(),
    })
}

/// `GET /imports`.
pub(super) async fn imports(
    signed: Signed,
    state: web::Data<AppState>,
    query: web::Query<ImportsQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let page = q.page()?;
    let [verdict, publisher, since, until] = q.shown();
    let shown = ImportsFilter {
        verdict: verdict.to_owned(),
        publisher: Text::new(publisher),
        since: since.to_owned(),
        until: until.to_owned(),
    };
    let filter = q.filter().map_err(|e| e.to_string());
    let (status, body) = blocking(&state, move |app| {
        let viewer = signed.open(app, Role::Auditor)?.viewer();
        let keep = [
            ("verdict", shown.verdict.clone()),
            ("publisher", shown.publisher.as_str().to_owned()),
            ("since", shown.since.clone()),
            ("until", shown.until.clone()),
        ];
        let keep: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, rows, total, error) = match filter {
            Ok(filter) => {
                let (rows, total) = store::imports::list(
                    app.reader()?.read(),
                    &filter,
                    (page - 1) * IMPORTS_PER_PAGE,
                    IMPORTS_PER_PAGE,
                )?;
                (StatusCode::OK, rows, total, None)
            }
            Err(e) => (StatusCode::BAD_REQUEST, Vec::new(), 0, Some(Text::new(e))),
        };
        let page = ImportsPage {
            chrome: Chrome::new("Imports", viewer, Section::Imports),
            error,
            rows: rows.iter().map(views::import_line).collect(),
            pager: Pager::new(
                "/imports",
                &keep,
                page as u64,
                IMPORTS_PER_PAGE as u64,
                total as u64,
            ),
            filter: shown,
        };
        Ok((status, page.render()?))
    })
    .await?;
    Ok(html_with(status, body))
}

/// `GET /imports/{id}`.
pub(super) async fn import(
    signed: Signed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = id(&path, "import")?;
    let body = blocking(&state, move |app| {
        let viewer = signed.open(app, Role::Auditor)?.viewer();
        let (row, manifest, steps, artifacts) = {
            let store = app.reader()?;
            let conn = store.read();
            let row = store::imports::get(conn, id)?
                .ok_or_else(|| PageError::NotFound(format!("import {id} not found")))?;
            (
                row,
                store::imports::summary(conn, id)?,
                store::imports::steps(conn, id)?,
                store::artifacts::of_import(conn, id)?,
            )
        };
        let page = ImportPage {
            chrome: Chrome::new(format!("Import #{id}"), viewer, Section::Imports),
            import: views::import_facts(&row),
            manifest: manifest.as_ref().map(views::manifest_summary),
            steps: steps.iter().map(views::step_line).collect(),
            artifacts: artifacts.iter().map(views::artifact_line).collect(),
        };
        Ok(page.render()?)
    })
    .await?;
    Ok(html(body))
}

/// What the artifact page offers to download or pull: the file or the image while it is
/// served, the withdrawal if there was one, and every piece of carried evidence.
fn downloads(
    app: &Appliance,
    registry: &crate::registry::Cache,
    row: &store::ArtifactRow,
    report: &ArtifactReport,
) -> Result<Downloads, PageError> {
    use crate::registry::{self as reg, EvidenceKind};
    let served = reg::is_served(app, row)?;
    let withdrawn = store::registry::withdrawal(app.reader()?.read(), row.id)?.map(|w| {
        Text::new(format!(
            "by {} at {}: {}",
            w.withdrawn_by, w.withdrawn_at, w.reason
        ))
    });
    let file = (served && row.kind == ArtifactKind::File)
        .then(|| format!("/api/v1/artifacts/{}/file", row.id));
    let image = if served && row.kind == ArtifactKind::OciImage {
        let index = registry.index(app).map_err(PageError::internal)?;
        index.repositories.iter().find_map(|(name, repo)| {
            repo.images
                .iter()
                .find(|i| i.row.artifact_id == row.id)
                .map(|i| {
                    (
                        Text::new(name.clone()),
                        i.tags.iter().cloned().map(Text::new).collect(),
                    )
                })
        })
    } else {
        None
    };
    let evidence = reg::evidence_of(report)
        .into_iter()
        .map(|(digest, kind, _)| EvidenceLink {
            kind: match kind {
                EvidenceKind::Signature => "signature",
                EvidenceKind::Attestation => "attestation",
                EvidenceKind::Sbom => "sbom",
            },
            digest: digest.hex(),
            href: format!("/api/v1/artifacts/{}/evidence/{digest}", row.id),
        })
        .collect();
    Ok(Downloads {
        file,
        image,
        withdrawn,
        evidence,
    })
}

/// `?q=&page=` of the report's component table.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ReportQuery {
    q: String,
    page: String,
}

/// `GET /artifacts/{id}`.
pub(super) async fn artifact(
    signed: Signed,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, PageError> {
    let id = id(&path, "artifact")?;
    let ReportQuery { q, page: p } = query.into_inner();
    let component_page = page(Some(&p))? as u64;
    let q: String = q.chars().take(200).collect();
    let registry = state.registry.clone();
    let body = blocking(&state, move |app| {
        let visitor = signed.open(app, Role::Auditor)?;
        let viewer = visitor.viewer();
        let (row, json) = {
            let store = app.reader()?;
            let conn = store.read();
            let row = store::artifacts::get(conn, id)?
                .ok_or_else(|| PageError::NotFound(format!("artifact {id} not found")))?;
            (row, store::artifacts::report(conn, id)?.unwrap_or_default())
        };
        // Parsed and rendered after the store is released.
        let report: ArtifactReport = serde_json::from_str(&json)
            .map_err(|e| PageError::internal(format!("artifact {id}: stored report: {e}")))?;
        let downloads = downloads(app, &registry, &row, &report)?;
        let exceptions = exceptions_view(app, &row, &visitor.actor())?;
        let report = views::report(id, report);
        let page = ReportPage {
            chrome: Chrome::new(Text::new(row.name.clone()), viewer, Section::Imports),
            artifact: views::artifact_facts(&row),
            rule: report.rule,
            enforcement: report.enforcement,
            problems: report.problems,
            signatures: report.signatures,
            attestations: report.attestations,
            provenance: report.provenance,
            sboms: report.sboms,
            components: views::component_table(report.components, &q, component_page, id),
            downloads,
            exceptions,
        };
        Ok(page.render()?)
    })
    .await?;
    Ok(html(body))
}

/// `GET /trust`.
pub(super) async fn trust(
    signed: Signed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let body = blocking(&state, move |app| {
        let viewer = signed.open(app, Role::Auditor)?.viewer();
        let now = app.now();
        let rows = store::trust::list(app.reader()?.read())?;
        // The store is released: parsing trusted roots and rendering happen without it.
        let page = TrustPage {
            chrome: Chrome::new("Trust", viewer, Section::Trust),
            repositories: rows.iter().map(|r| views::repository(r, now)).collect(),
        };
        Ok(page.render()?)
    })
    .await?;
    Ok(html(body))
}

/// `GET /witness`.
pub(super) async fn witness(
    signed: Signed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let body = blocking(&state, move |app| {
        let viewer = signed.open(app, Role::Auditor)?.viewer();
        let logs = {
            let store = app.reader()?;
            let conn = store.read();
            store::witness::heads(conn)?
                .into_iter()
                .map(|head| {
                    let history = store::witness::history(conn, &head.origin, HISTORY)?;
                    Ok(WitnessedLog {
                        origin: Text::new(head.origin.clone()),
                        note: Text::new(head.note.clone()),
                        head: views::checkpoint_line(&head),
                        history: history.iter().map(views::checkpoint_line).collect(),
                    })
                })
                .collect::<Result<Vec<_>, PageError>>()?
        };
        let page = WitnessPage {
            chrome: Chrome::new("Witness", viewer, Section::Witness),
            logs,
            history_limit: HISTORY,
        };
        Ok(page.render()?)
    })
    .await?;
    Ok(html(body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_pages_and_bounds_are_checked() {
        assert_eq!(id("12", "import").unwrap(), 12);
        for bad in ["0", "-1", "x", "", "1e3"] {
            assert!(
                matches!(id(bad, "import"), Err(PageError::NotFound(_))),
                "{bad}"
            );
        }
        assert_eq!(page(None).unwrap(), 1);
        assert_eq!(page(Some(" ")).unwrap(), 1);
        assert_eq!(page(Some("4")).unwrap(), 4);
        assert!(matches!(
            page(Some("0")),
            Err(PageError::BadRequest(m)) if m == "page must be 1 to 1000000"
        ));
    }
}
