//! `GET /artifacts`: every artifact across imports, with the filters, order and pages of
//! `GET /api/v1/artifacts` (one parser for both, `http/query.rs`). A refused filter is shown
//! on the page itself with a 400.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use airlock_web::{
    ArtifactListLine, ArtifactsFilter, ArtifactsPage, Chrome, Pager, Section, Template, Text,
};

use super::{PageError, Signed, blocking, html_with};
use crate::http::AppState;
use crate::http::query::ArtifactsQuery;
use crate::store::{self, ArtifactListRow, Role};

/// Artifacts per page.
const PER_PAGE: i64 = 50;

/// `GET /artifacts`.
pub(super) async fn list(
    signed: Signed,
    state: web::Data<AppState>,
    query: web::Query<ArtifactsQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let page = q.page()?;
    let given = q.shown();
    let shown = ArtifactsFilter {
        verdict: given.verdict.to_owned(),
        name: Text::new(given.name),
        digest: Text::new(given.digest),
        signer: Text::new(given.signer),
        publisher: Text::new(given.publisher),
        since: Text::new(given.since),
        until: Text::new(given.until),
        rule: Text::new(given.rule),
        sort: given.sort.to_owned(),
    };
    let parsed = q
        .filter()
        .and_then(|filter| Ok((filter, q.sort()?)))
        .map_err(|e| e.to_string());
    let totals = state.artifact_totals.clone();
    let (status, body) = blocking(&state, move |app| {
        let viewer = signed.open(app, Role::Auditor)?.viewer();
        let (status, rows, total, error) = match parsed {
            Ok((filter, sort)) => {
                let store = app.reader()?;
                let conn = store.read();
                let rows =
                    store::artifacts::page(conn, &filter, sort, (page - 1) * PER_PAGE, PER_PAGE)?;
                (StatusCode::OK, rows, totals.total(conn, &filter)?, None)
            }
            Err(e) => (StatusCode::BAD_REQUEST, Vec::new(), 0, Some(Text::new(e))),
        };
        let mut keep: Vec<(&str, &str)> = shown.pairs().to_vec();
        keep.push(("sort", &shown.sort));
        let pager = Pager::new(
            "/artifacts",
            &keep,
            page as u64,
            PER_PAGE as u64,
            total as u64,
        );
        let page = ArtifactsPage {
            chrome: Chrome::new("Artifacts", viewer, Section::Artifacts),
            error,
            rows: rows.into_iter().map(line).collect(),
            pager,
            filter: shown,
        };
        Ok((status, page.render()?))
    })
    .await?;
    Ok(html_with(status, body))
}

/// A listed artifact as the page shows it.
fn line(r: ArtifactListRow) -> ArtifactListLine {
    ArtifactListLine {
        id: r.id,
        import_id: r.import_id,
        name: Text::new(r.name),
        kind: crate::report::kind_str(r.kind).to_owned(),
        digest: r.digest,
        size: r.size,
        verdict: r.verdict.as_str().to_owned(),
        rule: Text::new(r.rule),
        publisher: r.publisher.map(Text::new),
        imported_at: r.imported_at,
        signers: r.signers.iter().map(|s| Text::new(s.identity())).collect(),
    }
}
