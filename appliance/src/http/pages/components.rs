//! `GET /components`: SBOM components across every artifact, with the search and pages of
//! `GET /api/v1/components` (one parser for both, `http/query.rs`). A refused search is shown
//! on the page itself with a 400.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use airlock_web::{
    Chrome, ComponentHitLine, ComponentsFilter, ComponentsPage, Pager, Section, Template, Text,
};

use super::{PageError, Signed, blocking, html_with};
use crate::http::AppState;
use crate::http::query::ComponentsQuery;
use crate::store::{self, ComponentHit, Role};

/// Components per page.
const PER_PAGE: i64 = 50;

/// `GET /components`.
pub(super) async fn list(
    signed: Signed,
    state: web::Data<AppState>,
    query: web::Query<ComponentsQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let page = q.page()?;
    let [name, version, purl, licence] = q.shown();
    let shown = ComponentsFilter {
        name: Text::new(name),
        version: Text::new(version),
        purl: Text::new(purl),
        licence: Text::new(licence),
    };
    let parsed = q.filter().map_err(|e| e.to_string());
    let (status, body) = blocking(&state, move |app| {
        let viewer = signed.open(app, Role::Auditor)?.viewer();
        let (status, rows, (total, artifacts), error) = match parsed {
            Ok(filter) => {
                let store = app.reader()?;
                let conn = store.read();
                let rows =
                    store::components::search(conn, &filter, (page - 1) * PER_PAGE, PER_PAGE)?;
                (
                    StatusCode::OK,
                    rows,
                    store::components::count(conn, &filter)?,
                    None,
                )
            }
            Err(e) => (
                StatusCode::BAD_REQUEST,
                Vec::new(),
                (0, 0),
                Some(Text::new(e)),
            ),
        };
        let pager = Pager::new(
            "/components",
            &shown.pairs(),
            page as u64,
            PER_PAGE as u64,
            total as u64,
        );
        let page = ComponentsPage {
            chrome: Chrome::new("Components", viewer, Section::Components),
            error,
            rows: rows.into_iter().map(line).collect(),
            artifacts: artifacts as u64,
            pager,
            filter: shown,
        };
        Ok((status, page.render()?))
    })
    .await?;
    Ok(html_with(status, body))
}

/// A component found, as the page shows it.
fn line(h: ComponentHit) -> ComponentHitLine {
    ComponentHitLine {
        artifact_id: h.artifact_id,
        artifact: Text::new(h.artifact),
        import_id: h.import_id,
        verdict: h.verdict.as_str().to_owned(),
        name: Text::new(h.name),
        version: Text::new(h.version.unwrap_or_default()),
        purl: Text::new(h.purl.unwrap_or_default()),
        licence: Text::new(h.licence.unwrap_or_default()),
    }
}
