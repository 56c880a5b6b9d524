//! What every page shares: the signed-in user and the navigation ([`Chrome`]), pagination
//! ([`Pager`]) and the formatting of sizes, durations and stored times.

use std::fmt::Write as _;

use crate::text::{Text, query_value};

/// What a user may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads everything.
    Auditor,
    /// Also uploads archives.
    Operator,
    /// Also manages signers, policy, publishers and users.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auditor => "auditor",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    /// Whether the upload page is offered.
    pub fn can_upload(self) -> bool {
        self >= Self::Operator
    }

    /// Whether the admin pages and actions are offered.
    pub fn is_admin(self) -> bool {
        self == Self::Admin
    }
}

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Sign-in and error pages.
    None,
    /// `/`.
    Dashboard,
    /// `/imports`, `/imports/{id}`, `/artifacts/{id}`.
    Imports,
    /// `/artifacts`.
    Artifacts,
    /// `/components`.
    Components,
    /// `/upload`.
    Upload,
    /// `/trust`.
    Trust,
    /// `/witness`.
    Witness,
    /// `/audit`.
    Audit,
    /// `/admin/…`.
    Admin,
}

impl Section {
    /// The entry's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Dashboard => "dashboard",
            Self::Imports => "imports",
            Self::Artifacts => "artifacts",
            Self::Components => "components",
            Self::Upload => "upload",
            Self::Trust => "trust",
            Self::Witness => "witness",
            Self::Audit => "audit",
            Self::Admin => "admin",
        }
    }
}

/// The signed-in user as the header shows them.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Their name.
    pub name: Text,
    /// Their role.
    pub role: Role,
    /// The session's CSRF token, for the forms on the page (sign-out included).
    pub csrf: String,
}

/// The frame around every page: its title, who is signed in and where the page sits.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page title (may contain untrusted text, e.g. an artifact name).
    pub title: Text,
    /// Who is signed in (`None` on the sign-in page).
    pub viewer: Option<Viewer>,
    /// The navigation entry to mark current.
    pub section: Section,
}

impl Chrome {
    /// The chrome for a signed-in page.
    pub fn new(title: impl Into<Text>, viewer: Viewer, section: Section) -> Self {
        Self {
            title: title.into(),
            viewer: Some(viewer),
            section,
        }
    }

    /// The chrome for a page shown to nobody in particular (sign-in, some errors).
    pub fn anonymous(title: impl Into<Text>) -> Self {
        Self {
            title: title.into(),
            viewer: None,
            section: Section::None,
        }
    }

    /// Whether the page belongs to the navigation entry `name` (`dashboard`, `imports`,
    /// `artifacts`, `upload`, `trust`, `witness`, `audit`, `admin`): the template marks it
    /// current.
    pub fn is(&self, name: &str) -> bool {
        self.section.as_str() == name
    }

    /// The viewer's CSRF token, or empty.
    pub fn csrf(&self) -> &str {
        self.viewer.as_ref().map_or("", |v| v.csrf.as_str())
    }

    /// Whether the viewer may upload.
    pub fn can_upload(&self) -> bool {
        self.viewer.as_ref().is_some_and(|v| v.role.can_upload())
    }

    /// Whether the viewer is an admin.
    pub fn is_admin(&self) -> bool {
        self.viewer.as_ref().is_some_and(|v| v.role.is_admin())
    }
}

/// Pagination links for a list: page `page` of `pages`, the other query parameters kept.
#[derive(Debug, Clone)]
pub struct Pager {
    /// The current page, from 1.
    pub page: u64,
    /// How many pages there are (at least 1).
    pub pages: u64,
    /// Rows in all pages.
    pub total: u64,
    path: String,
    query: String,
}

impl Pager {
    /// Page `page` of a list of `total` rows, `per_page` to a page, at `path` with the query
    /// parameters `keep` (name, value; empty values are left out).
    pub fn new(path: &str, keep: &[(&str, &str)], page: u64, per_page: u64, total: u64) -> Self {
        let mut query = String::new();
        for (name, value) in keep.iter().filter(|(_, v)| !v.is_empty()) {
            let _ = write!(query, "{name}={}&", query_value(value));
        }
        Self {
            page,
            pages: total.div_ceil(per_page.max(1)).max(1),
            total,
            path: path.to_owned(),
            query,
        }
    }

    /// The link to page `n`.
    pub fn href(&self, n: u64) -> String {
        format!("{}?{}page={n}", self.path, self.query)
    }

    /// The previous page's link, if there is one.
    pub fn prev(&self) -> Option<String> {
        (self.page > 1).then(|| self.href(self.page - 1))
    }

    /// The next page's link, if there is one.
    pub fn next(&self) -> Option<String> {
        (self.page < self.pages).then(|| self.href(self.page + 1))
    }
}

/// A size in bytes for people: `512 B`, `1.5 KiB`, `2.0 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration in microseconds for people: `850 µs`, `12.3 ms`, `4.20 s`.
pub fn micros(us: i64) -> String {
    let us = us.max(0);
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.2} s", us as f64 / 1_000_000.0)
    }
}

/// A stored RFC 3339 UTC time (`2026-11-22T10:11:12.123456Z`) as `2026-11-22 10:11:12 UTC`;
/// anything else is shown as it is.
pub fn time(stamp: &str) -> String {
    let b = stamp.as_bytes();
    let shaped = b.len() >= 20
        && b[10] == b'T'
        && stamp.ends_with('Z')
        && b[..19]
            .iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16) || c.is_ascii_digit());
    if shaped {
        format!("{} {} UTC", &stamp[..10], &stamp[11..19])
    } else {
        Text::new(stamp).to_string()
    }
}

/// [`time`] of an optional stamp, `—` when absent.
pub fn time_or_dash(stamp: Option<&str>) -> String {
    stamp.map_or_else(|| "—".to_owned(), time)
}

/// A span of seconds for people: `45 s`, `12 min`, `5 h 3 min`, `3 d 4 h`.
pub fn age(seconds: i64) -> String {
    let (sign, s) = if seconds < 0 {
        ("in ", -seconds)
    } else {
        ("", seconds)
    };
    let text = match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_times_and_ages_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(micros(850), "850 µs");
        assert_eq!(micros(12_345), "12.3 ms");
        assert_eq!(micros(4_200_000), "4.20 s");
        assert_eq!(
            time("2026-11-22T10:11:12.123456Z"),
            "2026-11-22 10:11:12 UTC"
        );
        assert_eq!(time("yesterday"), "yesterday");
        assert_eq!(time_or_dash(None), "—");
        assert_eq!(age(59), "59 s");
        assert_eq!(age(3 * 86_400 + 4 * 3600 + 5), "3 d 4 h");
        assert_eq!(age(-7200), "in 2 h 0 min");
    }

    #[test]
    fn pager_links_keep_the_filters_encoded() {
        let p = Pager::new(
            "/imports",
            &[("verdict", "failed"), ("publisher", "a&b c"), ("since", "")],
            2,
            50,
            101,
        );
        assert_eq!(p.pages, 3);
        assert_eq!(
            p.prev().as_deref(),
            Some("/imports?verdict=failed&publisher=a%26b%20c&page=1")
        );
        assert_eq!(
            p.next().as_deref(),
            Some("/imports?verdict=failed&publisher=a%26b%20c&page=3")
        );
        let only = Pager::new("/audit", &[], 1, 50, 0);
        assert_eq!((only.pages, only.prev(), only.next()), (1, None, None));
    }

    #[test]
    fn roles_include_the_ones_before() {
        assert!(!Role::Auditor.can_upload() && !Role::Auditor.is_admin());
        assert!(Role::Operator.can_upload() && !Role::Operator.is_admin());
        assert!(Role::Admin.can_upload() && Role::Admin.is_admin());
    }
}
