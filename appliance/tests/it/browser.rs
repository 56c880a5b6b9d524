//! The pages in a real browser: headless Chromium driven through WebDriver (Debian's
//! `chromium` and `chromium-driver`, installed by `tests/setup-browser.sh`). An operator signs
//! in, uploads an archive, sees its verdicts, opens a report and downloads its VSA; an admin
//! disables a signer and the next upload's artifact fails; an auditor is offered no admin
//! action and is refused one when reaching for it (in the browser and directly over HTTP).
//! Screenshots of the main pages are saved under `target/screenshots/`.
//!
//! The WebDriver client is the handful of W3C WebDriver commands the test needs, spoken over
//! loopback HTTP with ureq (already a dependency), rather than a full client crate and its
//! async stack.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use airlock_tests::UNTRUSTED_IDENTITY;

use crate::common::{ADMIN, AUDITOR, OPERATOR};
use crate::pages::{BodyText as _, WebSite};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long one wait for the browser may take at most (a bound, not a pause).
const WAIT: Duration = Duration::from_secs(60);

/// Where screenshots go: `target/screenshots/` of the workspace.
fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots")
}

/// chromedriver, running on a loopback port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
    http: ureq::Agent,
}

impl Driver {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .new_agent();
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http,
        };
        let start = Instant::now();
        loop {
            let ready = driver
                .http
                .get(format!("{}/status", driver.url))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break driver;
            }
            assert!(start.elapsed() < WAIT, "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A new headless browser session downloading into `downloads`.
    fn session(&self, downloads: &Path, profile: &Path) -> Browser<'_> {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--ignore-certificate-errors",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "acceptInsecureCerts": true,
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": args,
                    "prefs": {
                        "download.default_directory": downloads.display().to_string(),
                        "download.prompt_for_download": false,
                        "download.directory_upgrade": true,
                        "safebrowsing.enabled": false,
                    },
                },
            }}
        });
        let v = self.call("POST", "/session", Some(caps));
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_owned();
        let browser = Browser { driver: self, id };
        // Headless Chromium downloads only where it is told to.
        browser.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Browser.setDownloadBehavior", "params": {
                "behavior": "allow", "downloadPath": downloads.display().to_string()}})),
        );
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.url);
        let response = match (method, body) {
            ("GET", _) => self.http.get(&url).call(),
            ("DELETE", _) => self.http.delete(&url).call(),
            (_, body) => self
                .http
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string().as_bytes()),
        };
        let mut response = response.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(status < 300, "WebDriver {method} {path}: {status} {v}");
        v
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
struct Browser<'d> {
    driver: &'d Driver,
    id: String,
}

impl Browser<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)["value"]
            .take()
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_owned()
    }

    fn source(&self) -> String {
        self.cmd("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    fn count(&self, css: &str) -> usize {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .map_or(0, Vec::len)
    }

    fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    /// Waits (bounded) until the browser is at a URL for which `done` holds, after a click
    /// that submits a form (the click returns before the next page has loaded).
    fn wait_url(&self, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let url = self.url();
            let ready = self.cmd(
                "POST",
                "/execute/sync",
                Some(json!({"script": "return document.readyState;", "args": []})),
            );
            if done(&url) && ready == "complete" {
                return url;
            }
            assert!(start.elapsed() < WAIT, "still at {url}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The most lines any element matching `css` is drawn over (its line boxes).
    fn most_lines(&self, css: &str) -> u64 {
        let script = "return Math.max(0, ...Array.from(document.querySelectorAll(arguments[0]), \
                      e => { const r = document.createRange(); r.selectNodeContents(e); \
                             return r.getClientRects().length; }));";
        let lines = self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": [css]})),
        );
        lines.as_u64().unwrap_or_else(|| panic!("{css}: {lines}"))
    }

    fn title(&self) -> String {
        self.cmd("GET", "/title", None).as_str().unwrap().to_owned()
    }

    fn resize(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// Saves a full-page screenshot as `target/screenshots/NAME.png`.
    fn screenshot(&self, name: &str) {
        self.capture(name, true);
    }

    /// Saves a screenshot of what is on screen (the first screenful) as `NAME.png`.
    fn screenful(&self, name: &str) {
        self.capture(name, false);
    }

    fn capture(&self, name: &str, full_page: bool) {
        if !full_page {
            let png = self.cmd("GET", "/screenshot", None);
            return save_png(name, png.as_str().unwrap());
        }
        // Make the viewport as tall as the page, so the picture holds all of it.
        let metrics = self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Page.getLayoutMetrics", "params": {}})),
        );
        let size = |key: &str, fallback: f64| {
            metrics["cssContentSize"][key]
                .as_f64()
                .or_else(|| metrics["contentSize"][key].as_f64())
                .unwrap_or(fallback)
        };
        let width = metrics["cssLayoutViewport"]["clientWidth"]
            .as_f64()
            .unwrap_or_else(|| size("width", 1280.0))
            .round() as u64;
        let height = (size("height", 900.0).round() as u64).clamp(600, 8000);
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(
                json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}}),
            ),
        );
        let png = self.cmd("GET", "/screenshot", None);
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.clearDeviceMetricsOverride", "params": {}})),
        );
        save_png(name, png.as_str().unwrap());
    }

    /// Prints the page to `target/screenshots/NAME.pdf` (the print stylesheet applies).
    fn print(&self, name: &str) {
        let pdf = self.cmd("POST", "/print", Some(json!({"background": false})));
        let bytes = STANDARD.decode(pdf.as_str().unwrap()).unwrap();
        assert!(bytes.starts_with(b"%PDF"), "a PDF");
        std::fs::write(screenshots().join(format!("{name}.pdf")), bytes).unwrap();
    }

    fn sign_in(&self, base: &str, user: (&str, &str)) {
        self.go(&format!("{base}/signin"));
        self.type_into("#name", user.0);
        self.type_into("#password", user.1);
        self.click("form[action='/signin'] button[type=submit]");
        let home = format!("{base}/");
        self.wait_url(|u| u == home);
    }

    /// Waits (bounded) until an element matches `css`, after a click that submits a form
    /// whose answer comes back to the same URL.
    fn wait_for(&self, css: &str) {
        let start = Instant::now();
        while self.count(css) == 0 {
            assert!(start.elapsed() < WAIT, "no {css} in {}", self.source());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn sign_out(&self, base: &str) {
        self.click("form[action='/signout'] button");
        let to = format!("{base}/signin?notice=signed-out");
        self.wait_url(|u| u == to);
    }

    /// Uploads `archive` with the upload form; returns the import page's URL.
    fn upload(&self, base: &str, archive: &Path) -> String {
        self.go(&format!("{base}/upload"));
        self.type_into("#archive", &archive.display().to_string());
        self.click("form[action='/upload'] button[type=submit]");
        let imports = format!("{base}/imports/");
        self.wait_url(|u| u.starts_with(&imports))
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .http
            .delete(format!("{}/session/{}", self.driver.url, self.id))
            .call();
    }
}

/// Writes a base64 PNG from WebDriver as `target/screenshots/NAME.png`.
fn save_png(name: &str, base64: &str) {
    let bytes = STANDARD.decode(base64).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    let dir = screenshots();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
}

/// Waits (bounded) for a file to finish downloading into `dir`.
fn downloaded(dir: &Path) -> PathBuf {
    let start = Instant::now();
    loop {
        let (partial, done): (Vec<PathBuf>, Vec<PathBuf>) = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .partition(|p| {
                // Chromium reserves the final name with an empty file while it writes
                // `….crdownload` (or a hidden temporary): done only once those are gone.
                p.extension()
                    .is_some_and(|e| e == "crdownload" || e == "tmp")
                    || p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            });
        // (Every download here has content: an empty file is a reservation not yet written.)
        if let ([], [one]) = (&partial[..], &done[..])
            && std::fs::metadata(one).is_ok_and(|m| m.len() > 0)
        {
            return one.clone();
        }
        assert!(start.elapsed() < WAIT, "no download in {}", dir.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn operators_admins_and_auditors_in_a_real_browser() {
    for tool in [CHROMEDRIVER, CHROMIUM] {
        if crate::outside::installed_tool(Path::new(tool), "run tests/setup-browser.sh; CI does")
            .is_none()
        {
            return;
        }
    }
    let mut site = WebSite::new(81);
    let base = site.server.url.clone();
    let first = site.archive(
        "release-1",
        &[
            airlock_tests::ArtifactPlan::complete("service.tar", b"the service\n"),
            airlock_tests::ArtifactPlan::signed("cli.bin", b"the cli\n"),
            {
                let mut p = airlock_tests::ArtifactPlan::signed("forked.bin", b"a fork\n");
                p.signing = airlock_tests::Signing::As(airlock_tests::UNTRUSTED_IDENTITY.into());
                p
            },
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = Driver::start();
    let browser = driver.session(&downloads, &tmp.path().join("profile"));

    // A stranger is sent to sign in.
    browser.go(&format!("{base}/imports"));
    assert_eq!(browser.url(), format!("{base}/signin"));
    browser.screenshot("signin");

    // The operator signs in, uploads, and lands on the import with its verdicts.
    browser.sign_in(&base, OPERATOR);
    browser.go(&format!("{base}/upload"));
    browser.screenshot("upload");
    let import_url = browser.upload(&base, &first);
    let page = browser.source();
    assert!(page.contains("Import #"), "{page}");
    let verdicts = "section[aria-labelledby=artifacts-h] td .verdict";
    assert_eq!(
        browser.count(&format!("{verdicts}.v-passed")),
        2,
        "two artifacts passed"
    );
    assert_eq!(
        browser.count(&format!("{verdicts}.v-failed")),
        1,
        "the fork's artifact failed"
    );
    assert!(
        browser.count("section[aria-labelledby=steps-h] td .verdict.v-passed") >= 6,
        "every pipeline step ran"
    );
    assert_eq!(
        browser.count("section[aria-labelledby=steps-h] td .verdict.v-failed"),
        0
    );
    browser.screenshot("import");

    // The report of the complete artifact, and its signed VSA downloaded.
    browser.click("a[href^='/artifacts/']");
    let artifacts = format!("{base}/artifacts/");
    browser.wait_url(|u| u.starts_with(&artifacts));
    assert!(browser.title().starts_with("service.tar"));
    let report = browser.source();
    for fact in [
        "Certificate serial",
        "Inclusion proof",
        "SLSA provenance",
        "zlib",
    ] {
        assert!(report.contains(fact), "the report shows {fact}");
    }
    browser.screenshot("report");
    browser.print("report");
    browser.click("a[download]");
    let vsa = downloaded(&downloads);
    assert!(
        vsa.file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with(".vsa.dsse.json")
    );
    let envelope: Value = serde_json::from_slice(&std::fs::read(&vsa).unwrap()).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    std::fs::remove_file(&vsa).unwrap();
    // The released file itself, from the Downloads section, under its own name.
    browser.click("a[href$='/file']");
    let file = downloaded(&downloads);
    assert_eq!(file.file_name().unwrap(), "service.tar");
    assert_eq!(std::fs::read(&file).unwrap(), b"the service\n");
    std::fs::remove_file(&file).unwrap();
    // And its SBOM, as the archive carried it.
    browser.click("ul.downloads li:last-child a");
    let sbom = downloaded(&downloads);
    assert!(
        sbom.file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with(".sbom.json"),
        "{}",
        sbom.display()
    );
    std::fs::remove_file(&sbom).unwrap();
    // The component search works without a script.
    browser.type_into("#q", "zlib");
    browser.click("form[role=search] button");
    browser.wait_url(|u| u.ends_with("?q=zlib"));
    assert_eq!(browser.count("table.components tbody th"), 1);
    // On a narrow screen the report stays readable.
    // On a narrow screen the report stays readable: a digest in the facts takes two lines
    // at most, one in a table stays on one line (the table scrolls sideways instead).
    browser.resize(390, 844);
    browser.screenful("report-narrow");
    assert_eq!(browser.most_lines("dd code.hash"), 2);
    browser.go(&import_url);
    browser.screenful("import-narrow");
    assert_eq!(browser.most_lines("dd code.hash"), 2);
    assert!(browser.count("td code.hash") > 0);
    assert_eq!(browser.most_lines("td code.hash"), 1);
    browser.resize(1280, 900);

    browser.go(&format!("{base}/imports"));
    browser.screenshot("imports");
    browser.go(&format!("{base}/"));
    browser.screenshot("dashboard");
    browser.go(&format!("{base}/trust"));
    browser.screenshot("trust");
    browser.go(&format!("{base}/witness"));
    browser.screenshot("witness");
    browser.sign_out(&base);

    // The admin disables the release signer with its button.
    browser.sign_in(&base, ADMIN);
    browser.go(&format!("{base}/admin/signers"));
    browser.screenshot("admin-signers");
    assert_eq!(
        browser.count("td .verdict.v-passed"),
        1,
        "release-ci is trusted"
    );
    browser.click("form[action='/admin/signers/enabled'] button");
    // The form answers with a redirect to the same page: wait for the new one.
    let start = Instant::now();
    while browser.count("td .verdict.v-failed") != 1 {
        assert!(start.elapsed() < WAIT, "release-ci was not disabled");
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(browser.url(), format!("{base}/admin/signers"));
    browser.go(&format!("{base}/admin/users"));
    browser.screenshot("admin-users");
    browser.go(&format!("{base}/audit"));
    assert!(browser.source().contains("signer.disabled"));
    browser.screenshot("audit");
    browser.sign_out(&base);

    // The next upload's artifact fails.
    let second = site.archive(
        "release-2",
        &[airlock_tests::ArtifactPlan::signed(
            "cli.bin",
            b"the cli, again\n",
        )],
    );
    browser.sign_in(&base, OPERATOR);
    let second_url = browser.upload(&base, &second);
    assert_ne!(second_url, import_url);
    assert_eq!(browser.count(&format!("{verdicts}.v-failed")), 1);
    assert!(browser.source().contains("not signed by a trusted signer"));
    browser.screenshot("import-failed");
    browser.sign_out(&base);

    // The auditor is offered no admin action or upload, and is refused when reaching for one.
    browser.sign_in(&base, AUDITOR);
    assert_eq!(browser.count("a[href^='/admin']"), 0);
    assert_eq!(browser.count("a[href='/upload']"), 0);
    browser.go(&format!("{base}/admin/signers"));
    assert!(browser.title().starts_with("Forbidden"));
    assert!(browser.source().contains("this needs the admin role"));
    assert_eq!(browser.count("form[action^='/admin']"), 0);
    browser.screenshot("auditor-forbidden");
    browser.go(&format!("{base}/upload"));
    assert!(browser.source().contains("this needs the operator role"));

    // And directly over HTTP, with a valid session and CSRF token: 403, nothing changed.
    let auditor = site.web.sign_in(AUDITOR);
    let reply = site.web.post_form(
        "/admin/signers/enabled",
        Some(&format!("airlock_session={}", auditor.token)),
        &[
            ("csrf", &auditor.csrf),
            ("name", "release-ci"),
            ("enabled", "true"),
        ],
    );
    assert_eq!(reply.status, 403, "{}", reply.text());
    let signers =
        airlock_appliance::store::signers::list(site.server.app().store().read()).unwrap();
    assert!(!signers[0].enabled, "still disabled");
}

#[test]
fn an_auditor_finds_artifacts_across_imports_in_a_real_browser() {
    for tool in [CHROMEDRIVER, CHROMIUM] {
        if crate::outside::installed_tool(Path::new(tool), "run tests/setup-browser.sh; CI does")
            .is_none()
        {
            return;
        }
    }
    // tool.bin passed, rogue.bin failed, legacy.bin warned; then tool.bin again, passed.
    let (site, _, [tool, _, _, _]) = crate::artifacts::stocked(84);
    let base = site.server.url.clone();
    let tool_digest =
        airlock_appliance::store::artifacts::get(site.server.app().store().read(), tool)
            .unwrap()
            .unwrap()
            .digest;
    let tmp = tempfile::tempdir().unwrap();
    let driver = Driver::start();
    let browser = driver.session(&tmp.path().join("downloads"), &tmp.path().join("profile"));
    let rows = "table.artifacts tbody th[scope=row]";
    let submit = "form[action='/artifacts'] button[type=submit]";

    // The dashboard's charts: drawn, sized, and named for assistive technology.
    browser.sign_in(&base, AUDITOR);
    assert_eq!(browser.count("figure.chart svg[role=img]"), 2);
    assert_eq!(browser.count("svg.verdict-chart rect"), 3);
    assert_eq!(browser.count("svg.margin-chart circle"), 2);
    let charts = browser.cmd(
        "POST",
        "/execute/sync",
        Some(
            json!({"script": "return [...document.querySelectorAll('figure.chart svg')].map(s => [\
            s.getBoundingClientRect().height, \
            s.getAttribute('aria-labelledby').split(' ')\
                .map(id => document.getElementById(id).textContent).join(' | ')]);", "args": []}),
        ),
    );
    for chart in charts.as_array().unwrap() {
        assert!(chart[0].as_f64().unwrap() > 100.0, "{chart}");
    }
    assert!(
        charts[0][1]
            .as_str()
            .unwrap()
            .starts_with("Artifacts judged per day, by verdict, the last 30 days (UTC) | From ")
    );
    assert!(charts[1][1].as_str().unwrap().starts_with(
        "Trust freshness margin of the latest imports that updated trust | The latest of 2 imports"
    ));
    browser.screenshot("dashboard");

    // The dashboard's Failed tile opens the failed artifacts.
    browser.click("a[href='/artifacts?verdict=failed']");
    browser.wait_url(|u| u.ends_with("/artifacts?verdict=failed"));
    assert_eq!(browser.count(rows), 1);
    assert!(browser.source().contains("rogue.bin"));
    assert_eq!(browser.count("#verdict option[value=failed][selected]"), 1);

    // Every artifact, newest first; then narrowed with the form: a name, and a date typed as
    // text (UTC, no date picker).
    browser.click("a[href='/artifacts']");
    browser.wait_url(|u| u == format!("{base}/artifacts"));
    assert_eq!(browser.count(rows), 4);
    browser.screenshot("artifacts");
    assert_eq!(browser.count("input[type=date]"), 0);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    browser.click("#verdict option[value='']");
    browser.type_into("#name", "tool");
    browser.type_into("#since", &today);
    browser.click(submit);
    browser.wait_url(|u| u.contains("name=tool") && u.contains(&format!("since={today}")));
    assert_eq!(browser.count(rows), 2);

    // Sorting by a column keeps the filters.
    browser.click("th a[href*='sort=size']");
    browser.wait_url(|u| u.contains("sort=size"));
    assert!(browser.url().contains("name=tool"));
    assert_eq!(
        browser.count("th[aria-sort=descending] a[href*='sort=size']"),
        1
    );
    assert_eq!(browser.count(rows), 2);

    // Where is this digest? Its first digits find the one artifact.
    browser.go(&format!("{base}/artifacts"));
    browser.type_into("#digest", &tool_digest[..12]);
    browser.click(submit);
    browser.wait_url(|u| u.contains("digest="));
    assert_eq!(browser.count(rows), 1);
    // Signed by the release pipeline: both tool.bin, neither the fork's nor the unsigned one.
    browser.go(&format!("{base}/artifacts"));
    browser.type_into("#signer", "platform/release");
    browser.click(submit);
    browser.wait_url(|u| u.contains("signer="));
    assert_eq!(browser.count(rows), 2);
    browser.screenshot("artifacts-filtered");

    // A date in a browser's local form is refused with why, on the page.
    browser.go(&format!("{base}/artifacts"));
    browser.type_into("#since", "03/01/2026");
    browser.click(submit);
    browser.wait_url(|u| u.contains("since="));
    assert!(
        browser
            .source()
            .contains("since must be a date (YYYY-MM-DD) or an RFC 3339 time")
    );
    assert_eq!(browser.count(rows), 0);

    // The import says its outcome in the colour of its worst verdict.
    browser.go(&format!("{base}/imports/1"));
    assert_eq!(
        browser.count("h1 .verdict.v-failed"),
        1,
        "{}",
        browser.source()
    );
    assert!(
        browser
            .source()
            .contains(">done: 1 passed, 1 warned, 1 failed</span></h1>")
    );
    browser.screenful("import-outcome");
    // An unknown page is a page, not JSON.
    browser.go(&format!("{base}/no/such/page"));
    assert!(
        browser.title().starts_with("Not Found"),
        "{}",
        browser.title()
    );
    assert!(browser.source().contains("no such page: /no/such/page"));
    browser.screenful("not-found");

    browser.resize(390, 844);
    browser.go(&format!("{base}/artifacts?verdict=passed"));
    browser.screenful("artifacts-narrow");
}

#[test]
fn an_auditor_filters_the_audit_log_and_downloads_its_exports_in_a_real_browser() {
    for tool in [CHROMEDRIVER, CHROMIUM] {
        if crate::outside::installed_tool(Path::new(tool), "run tests/setup-browser.sh; CI does")
            .is_none()
        {
            return;
        }
    }
    let (site, _, [_, rogue, _, _]) = crate::artifacts::stocked(88);
    let base = site.server.url.clone();
    let tmp = tempfile::tempdir().unwrap();
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = Driver::start();
    let browser = driver.session(&downloads, &tmp.path().join("profile"));
    let rows = "table.audit tbody th[scope=row]";
    let submit = "form[action='/audit'] button[type=submit]";

    browser.sign_in(&base, AUDITOR);
    browser.click("nav a[href='/audit']");
    browser.wait_url(|u| u == format!("{base}/audit"));
    let all = browser.count(rows);
    assert!(all > 10, "{all} rows");
    assert_eq!(
        browser.count("p.ok-line[role=status]"),
        2,
        "chain and page intact"
    );
    browser.screenshot("audit");

    // The verdicts only, typed into the form: one per artifact, each linked to its report.
    browser.type_into("#action", "verdict");
    browser.click(submit);
    browser.wait_url(|u| u.contains("action=verdict"));
    assert_eq!(browser.count(rows), 4);
    assert_eq!(browser.count(&format!("a[href='/artifacts/{rogue}']")), 1);
    // A row's actor link narrows to that actor; the family `import` keeps every import row.
    browser.go(&format!("{base}/audit"));
    browser.type_into("#action", "import");
    browser.type_into("#actor", "olga");
    browser.click(submit);
    browser.wait_url(|u| u.contains("action=import") && u.contains("actor=olga"));
    let olgas: Vec<String> = airlock_appliance::store::audit::filtered(
        site.server.app().store().read(),
        &airlock_appliance::store::AuditFilter {
            action: Some("import".into()),
            actor: Some("olga".into()),
            ..Default::default()
        },
        0,
        100,
    )
    .unwrap()
    .into_iter()
    .map(|r| r.action)
    .collect();
    assert!(olgas.iter().all(|a| a.starts_with("import.")));
    assert_eq!(olgas.iter().filter(|a| *a == "import.started").count(), 2);
    assert_eq!(browser.count(rows), olgas.len(), "{olgas:?}");
    browser.screenshot("audit-filtered");

    // The CSV of the rows shown, then the whole chain.
    browser.click("a[href^='/audit/export.csv']");
    let csv = downloaded(&downloads);
    assert_eq!(csv.file_name().unwrap(), "airlock-audit.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("seq,at,actor,action,subject,detail,prev_hash,hash\r\n"));
    assert_eq!(text.matches(",olga,import.started,").count(), 2, "{text}");
    assert_eq!(text.split_terminator("\r\n").count(), 1 + olgas.len());
    std::fs::remove_file(&csv).unwrap();
    browser.click("a[href='/audit/export.jsonl']");
    let jsonl = downloaded(&downloads);
    assert_eq!(jsonl.file_name().unwrap(), "airlock-audit.jsonl");
    let mut expected = Vec::new();
    airlock_appliance::audit::export(site.server.app().store().read(), &mut expected).unwrap();
    // Byte for byte what `airlock-appliance audit export` writes: every row, then the heads.
    let got = std::fs::read(&jsonl).unwrap();
    assert_eq!(got, expected);
    let lines = String::from_utf8(got).unwrap();
    assert_eq!(
        lines
            .lines()
            .filter(|l| l.contains("\"prev_hash\""))
            .count(),
        all
    );

    // A date in a local form is refused with why.
    browser.go(&format!("{base}/audit"));
    browser.type_into("#since", "03/01/2026");
    browser.click(submit);
    browser.wait_url(|u| u.contains("since="));
    assert!(
        browser
            .source()
            .contains("since must be a date (YYYY-MM-DD) or an RFC 3339 time")
    );
    assert_eq!(browser.count(rows), 0);
}

#[test]
fn an_auditor_reads_a_failed_signature_saves_the_report_as_json_and_prints_it() {
    for tool in [CHROMEDRIVER, CHROMIUM] {
        if crate::outside::installed_tool(Path::new(tool), "run tests/setup-browser.sh; CI does")
            .is_none()
        {
            return;
        }
    }
    let (site, _, [_, rogue, _, _]) = crate::artifacts::stocked(90);
    let base = site.server.url.clone();
    let tmp = tempfile::tempdir().unwrap();
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = Driver::start();
    let browser = driver.session(&downloads, &tmp.path().join("profile"));
    browser.sign_in(&base, AUDITOR);

    // Who signed the failed signature, beside whom the policy wanted, the identity marked.
    browser.go(&format!("{base}/artifacts/{rogue}"));
    assert_eq!(browser.count("table.seen tr.mismatch"), 1);
    let source = browser.source();
    assert!(
        source.contains(&format!("<code>{UNTRUSTED_IDENTITY}</code>")),
        "{source}"
    );
    assert!(source.contains("Identity <strong>(does not match)</strong>"));
    browser.screenshot("report-failed-signature");

    // The report as JSON.
    browser.click(".report-export a[href$='/report.json']");
    let json = downloaded(&downloads);
    assert_eq!(
        json.file_name().unwrap().to_str().unwrap(),
        format!("artifact-{rogue}.report.json")
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["schema"], airlock_appliance::export::SCHEMA);
    assert_eq!(doc["artifact"]["id"], rogue);

    // Printed: the print layout drops the navigation, forms and download links, and
    // Chromium's own print makes a PDF of it.
    browser.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {"media": "print"}})),
    );
    let hidden = browser.cmd(
        "POST",
        "/execute/sync",
        Some(
            json!({"script": "return ['header.top', 'nav', '.report-export', 'form']\
            .map(s => document.querySelector(s))\
            .filter(e => e && e.getClientRects().length > 0).length;", "args": []}),
        ),
    );
    assert_eq!(hidden, 0, "elements the print layout should hide are shown");
    browser.screenshot("report-print");
    let pdf = browser.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(json!({"cmd": "Page.printToPDF", "params": {"printBackground": false}})),
    );
    let pdf = STANDARD.decode(pdf["data"].as_str().unwrap()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert!(pdf.len() > 10_000, "{} bytes", pdf.len());
}

#[test]
fn two_admins_release_a_failed_artifact_by_exception_and_revoke_it_in_a_real_browser() {
    for tool in [CHROMEDRIVER, CHROMIUM] {
        if crate::outside::installed_tool(Path::new(tool), "run tests/setup-browser.sh; CI does")
            .is_none()
        {
            return;
        }
    }
    // rogue.bin failed (signed by an identity the policy does not trust).
    let (site, _, [_, rogue, _, _]) = crate::artifacts::stocked(86);
    let app = site.server.app();
    let mut doc = airlock_appliance::admin::export_policy(app).unwrap();
    doc.policy.exceptions = airlock_appliance::policy::ExceptionRules {
        approvals: 2,
        max_days: 30,
    };
    airlock_appliance::admin::import_policy(app, "test", &doc).unwrap();
    airlock_appliance::admin::add_user(
        app,
        "test",
        "bea",
        airlock_appliance::store::Role::Admin,
        Some("bea-password-0"),
    )
    .unwrap();
    let base = site.server.url.clone();
    let report = format!("{base}/artifacts/{rogue}");
    let expires = (chrono::Utc::now() + chrono::Duration::days(5))
        .format("%Y-%m-%d")
        .to_string();
    let tmp = tempfile::tempdir().unwrap();
    let driver = Driver::start();
    let browser = driver.session(&tmp.path().join("downloads"), &tmp.path().join("profile"));

    // The first admin asks, from the failed artifact's report.
    browser.sign_in(&base, ADMIN);
    browser.go(&report);
    assert_eq!(browser.count("#exception-banner"), 0);
    browser.type_into(
        "#exception-justification",
        "The vendor's new release identity; trusted in next week's policy.",
    );
    browser.type_into("#exception-expires", &expires);
    browser.click("#exception-request button[type=submit]");
    browser.wait_for("#exception-pending");
    assert_eq!(browser.url(), report);
    assert_eq!(
        browser.count("form[action='/admin/exceptions/approve']"),
        0,
        "not approvable by its requester"
    );
    assert_eq!(browser.count("a[href$='/file']"), 0, "not served yet");
    browser.screenshot("exception-pending");
    browser.sign_out(&base);

    // The second admin approves: the banner, the file offered, the verdict still failed.
    browser.sign_in(&base, ("bea", "bea-password-0"));
    browser.go(&report);
    browser.click("form[action='/admin/exceptions/approve'] button[type=submit]");
    browser.wait_for("#exception-banner");
    let source = browser.source();
    assert!(source.contains("Released by exception"), "{source}");
    assert!(
        source.contains("approved by <span class=\"u\">bea</span>"),
        "{source}"
    );
    assert!(source.contains(&format!("Expires <time>{expires}T00:00:00Z</time>")));
    assert_eq!(browser.count(".verdict-line .verdict.v-failed"), 1);
    assert_eq!(
        browser.count(&format!("a[href='/api/v1/artifacts/{rogue}/file']")),
        1
    );
    browser.screenshot("exception");

    // The dashboard counts it, expiring within 7 days.
    browser.go(&format!("{base}/"));
    assert!(
        browser.source().contains("expiring within 7 days"),
        "{}",
        browser.source()
    );
    browser.screenful("exception-dashboard");

    // Revoked: the banner goes, the file is no longer offered, the history says why.
    browser.go(&report);
    browser.type_into("#revoke-reason", "The vendor rotated its identity again.");
    browser.click("form[action='/admin/exceptions/revoke'] button[type=submit]");
    browser.wait_for("#exception-request");
    assert_eq!(browser.count("#exception-banner"), 0);
    assert_eq!(browser.count("a[href$='/file']"), 0);
    assert!(browser.source().contains("<strong>revoked</strong>"));
    browser.screenshot("exception-revoked");
}

#[test]
fn an_auditor_finds_which_artifacts_contain_a_component_in_a_real_browser() {
    for tool in [CHROMEDRIVER, CHROMIUM] {
        if crate::outside::installed_tool(Path::new(tool), "run tests/setup-browser.sh; CI does")
            .is_none()
        {
            return;
        }
    }
    // app.tar lists zlib 1.3.1 (and a CycloneDX SBOM naming its tool); other.tar zlib 1.2.13.
    let (site, _, app, _) = crate::components::stocked(304);
    let base = site.server.url.clone();
    let tmp = tempfile::tempdir().unwrap();
    let driver = Driver::start();
    let browser = driver.session(&tmp.path().join("downloads"), &tmp.path().join("profile"));
    let rows = "table.components tbody th[scope=row]";

    // From the main navigation: every component, then which artifacts contain zlib 1.3.1.
    browser.sign_in(&base, AUDITOR);
    browser.click("nav a[href='/components']");
    browser.wait_url(|u| u == format!("{base}/components"));
    assert_eq!(browser.count(rows), 4);
    browser.type_into("#name", "zlib");
    browser.type_into("#version", "1.3.1");
    browser.click("form[action='/components'] button[type=submit]");
    browser.wait_url(|u| u.contains("name=zlib") && u.contains("version=1.3.1"));
    assert_eq!(browser.count(rows), 2);
    assert!(
        browser
            .source()
            .contains("2 components in 1 artifact matching the search")
    );
    assert_eq!(browser.count("input#name[value=zlib]"), 1);
    browser.screenshot("components");

    // Its artifact's report: the SBOM's facts and its download.
    browser.click(&format!("td a[href='/artifacts/{app}']"));
    browser.wait_url(|u| u.ends_with(&format!("/artifacts/{app}")));
    let source = browser.source();
    assert!(source.contains("@cyclonedx cdxgen 10.2.1"), "{source}");
    assert!(source.contains("urn:uuid:0b9a1c2e-53f4-4c47-9d2e-6f0b0d1e2f3a"));
    assert!(browser.count("ul.sboms a[download]") >= 2);
    browser.screenshot("report-sboms");

    // A search that is not a package URL is refused with why.
    browser.go(&format!("{base}/components?purl=npm/zlib"));
    assert!(browser.source().contains("purl must start with pkg:"));
    assert_eq!(browser.count(rows), 0);
}
