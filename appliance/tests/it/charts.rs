//! The dashboard's charts over real HTTPS: today's bar counts the day's imports and verdicts,
//! and each import that updated trust adds a point with its freshness margin.

use chrono::Utc;

use crate::artifacts::stocked;
use crate::pages::BodyText;

#[test]
fn the_dashboard_charts_the_days_verdicts_and_each_imports_trust_margin() {
    let (site, auditor, _) = stocked(91);
    let history =
        airlock_appliance::store::trust::history(site.server.app().store().read(), 60).unwrap();
    assert_eq!(
        history.iter().map(|h| h.import_id).collect::<Vec<_>>(),
        [1, 2],
        "each import verified the carried TUF repository"
    );
    for h in &history {
        let at = chrono::DateTime::parse_from_rfc3339(&h.reference_time).unwrap();
        let expiry = chrono::DateTime::parse_from_rfc3339(&h.first_expiry).unwrap();
        assert!(expiry > at, "{h:?}");
    }

    let html = site.web.get("/", Some(&auditor.cookie())).text();
    assert!(html.contains(
        "<svg viewBox=\"0 0 640 180\" role=\"img\" aria-labelledby=\"verdict-chart-t verdict-chart-d\""
    ));
    assert!(html.contains(
        "<title id=\"verdict-chart-t\">Artifacts judged per day, by verdict, the last 30 days (UTC)</title>"
    ));
    let today = Utc::now().format("%Y-%m-%d");
    for (verdict, n) in [("passed", 2), ("warned", 1), ("failed", 1)] {
        assert!(
            html.contains(&format!(
                "class=\"bar-{verdict}\"><title>{today}: {n} {verdict} of 4 artifacts in 2 imports</title>"
            )),
            "{verdict}: {html}"
        );
    }
    assert_eq!(html.matches("<rect ").count(), 3, "one day with imports");
    assert_eq!(
        html.matches("<circle ").count(),
        2,
        "two imports updated trust"
    );
    assert!(html.contains("The latest of 2 imports updating trust (#2) had its "));
}
