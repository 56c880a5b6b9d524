//! Every page rendered with hostile strings where untrusted text goes: markup, quotes, a 10 kB
//! name, a right-to-left override. Nothing may come out as markup or as a raw override.

use askama::Template;

use crate::*;

const SCRIPT: &str = "<script>alert(1)</script>";
const QUOTES: &str = "\"'><img src=x onerror=alert(2)>";
const RLO: &str = "invoice\u{202E}fdp.exe";
/// What [`SCRIPT`] becomes (Askama escapes with numeric references).
const ESCAPED_SCRIPT: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

fn hostile() -> Text {
    Text::new(format!("{SCRIPT}{QUOTES}{RLO}"))
}

fn long() -> Text {
    Text::new(format!("{}{SCRIPT}", "A".repeat(10 * 1024)))
}

fn viewer(role: Role) -> Viewer {
    Viewer {
        name: hostile(),
        role,
        csrf: "csrf-token-value".into(),
    }
}

fn chrome(role: Role) -> Chrome {
    Chrome::new(hostile(), viewer(role), Section::Imports)
}

/// The rendered page has no markup from the hostile strings and no raw override.
fn assert_inert(html: &str) {
    assert!(!html.contains("<script"), "raw <script in:\n{html}");
    assert!(!html.contains("<img"), "raw <img in:\n{html}");
    assert!(
        !html.contains("onerror=alert(2)>"),
        "unescaped quote context"
    );
    assert!(!html.contains('\u{202E}'), "raw right-to-left override");
    assert!(html.contains(ESCAPED_SCRIPT), "{html}");
    assert!(html.contains("[U+202E]"));
    // Nothing on the page may load a script, inline or not.
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(!html.contains(" style="), "inline styles break the CSP");
}

fn import_line() -> ImportLine {
    ImportLine {
        id: 7,
        file_name: long(),
        publisher: Some(hostile()),
        sequence: Some(3),
        state: "done".into(),
        reason: Some(hostile()),
        passed: 1,
        warned: 0,
        failed: 2,
        started_at: "2026-11-22T10:11:12.000000Z".into(),
    }
}

fn bundle() -> BundleView {
    BundleView {
        digest: "ab".repeat(32),
        ok: false,
        trusted_signer: Some(hostile()),
        error: Some(hostile()),
        bundle_version: Some(hostile()),
        artifact_binding: Some(hostile()),
        ignored_certificates: vec![hostile()],
        signer: Some(SignerView::Certificate {
            identity: hostile(),
            issuer: hostile(),
            serial: hostile(),
            not_before: "2026-11-22 10:00:00 UTC".into(),
            not_after: "2026-11-22 10:10:00 UTC".into(),
            certificate_authority: hostile(),
            sct_log_ids: vec!["cd".repeat(32)],
        }),
        log_entries: vec![LogEntryView {
            log_base_url: hostile(),
            log_id: "ef".repeat(32),
            log_index: 42,
            kind: hostile(),
            integrated_time: Some("2026-11-22 10:01:00 UTC".into()),
            proof_index: Some(42),
            checkpoint: Some(CheckpointView {
                origin: hostile(),
                size: 43,
                root_hash: "01".repeat(32),
                note: hostile(),
            }),
            promise_only: false,
        }],
        times: vec![TimeView {
            time: "2026-11-22 10:01:00 UTC".into(),
            source: hostile(),
        }],
        dsse: Some(DsseView {
            payload_type: hostile(),
            predicate_type: hostile(),
            subjects: vec![long()],
        }),
        witnessed: vec![WitnessedView {
            origin: hostile(),
            size: 43,
            by: "unwitnessed".into(),
        }],
        seen: Some(SeenView {
            identities: hostile(),
            issuer: Some(hostile()),
            key_hint: None,
            log_entries: vec![SeenLogView {
                log_id: "cd".repeat(32),
                log_index: 7,
                kind: hostile(),
                integrated_time: Some("2026-03-01 00:00:00 UTC".into()),
            }],
            expected: vec![ExpectedView {
                name: hostile(),
                identity: Some(long()),
                issuer: Some(hostile()),
                key_id: None,
            }],
            identity_mismatch: false,
            issuer_mismatch: true,
        }),
    }
}

#[test]
fn a_failed_bundle_shows_what_it_claims_beside_what_was_expected_with_the_mismatch_marked() {
    let mut b = bundle();
    b.ok = false;
    let seen = b.seen.as_mut().unwrap();
    seen.identities = Text::new("https://fork.example/ci");
    seen.issuer = Some(Text::new("https://issuer.example"));
    seen.expected[0].name = Text::new("release");
    seen.expected[0].identity = Some(Text::new("\"https://ci.example/release\""));
    seen.identity_mismatch = true;
    seen.issuer_mismatch = false;
    let html = ReportPage {
        signatures: vec![b],
        attestations: Vec::new(),
        ..report()
    }
    .render()
    .unwrap();
    assert!(
        html.contains("<th scope=\"col\" class=\"u\">Expected: release</th>"),
        "{html}"
    );
    assert!(html.contains(
        "<tr class=\"mismatch\"><th scope=\"row\">Identity <strong>(does not match)</strong></th>\
         <td class=\"u\"><code>https://fork.example/ci</code></td>\
         <td class=\"u\"><code>&#34;https://ci.example/release&#34;</code></td></tr>"
    ));
    assert!(html.contains("<tr><th scope=\"row\">OIDC issuer</th>"));
    assert!(
        html.contains("Log entry it names (unverified): index 7 in log <code class=\"hash\">cdcd")
    );
}

fn report() -> ReportPage {
    let components: Vec<ComponentRow> = (0..3)
        .map(|_| ComponentRow {
            name: hostile(),
            version: hostile(),
            purl: long(),
            license: hostile(),
        })
        .collect();
    ReportPage {
        chrome: chrome(Role::Auditor),
        artifact: ArtifactFacts {
            id: 9,
            import_id: 7,
            name: long(),
            kind: "file".into(),
            digest: "ab".repeat(32),
            size: 1234,
            media_type: hostile(),
            verdict: "failed".into(),
            location: Some(hostile()),
        },
        rule: hostile(),
        enforcement: "enforce".into(),
        problems: vec![hostile()],
        signatures: vec![bundle()],
        attestations: vec![BundleView {
            signer: Some(SignerView::PublicKey {
                key_id: "12".repeat(32),
                hint: hostile(),
            }),
            ok: true,
            ..bundle()
        }],
        provenance: Some(ProvenanceView {
            predicate_type: hostile(),
            builder_id: hostile(),
            build_type: hostile(),
            source_uri: Some(hostile()),
            source_digest: Some(hostile()),
            build_level: 3,
        }),
        sboms: vec![SbomView {
            digest: "34".repeat(32),
            source: "file".into(),
            format: Some(hostile()),
            components: 3,
            tools: vec![hostile(), long()],
            serial: Some(hostile()),
            created: Some(hostile()),
            error: Some(hostile()),
            href: format!("/api/v1/artifacts/9/evidence/{}", "34".repeat(32)),
        }],
        components: ComponentTable {
            q: hostile(),
            total: 3,
            rows: components,
            pager: Pager::new("/artifacts/9", &[("q", &hostile().to_string())], 1, 100, 3),
        },
        downloads: Downloads {
            file: Some("/api/v1/artifacts/9/file".into()),
            image: Some((hostile(), vec![hostile()])),
            withdrawn: Some(hostile()),
            evidence: vec![EvidenceLink {
                kind: "sbom",
                digest: "cd".repeat(32),
                href: format!("/api/v1/artifacts/9/evidence/sha256:{}", "cd".repeat(32)),
            }],
        },
        exceptions: ExceptionsView {
            failed: true,
            active: Some(exception_line("active")),
            pending: Some(exception_line("pending")),
            may_approve: true,
            approvals: 2,
            max_days: 90,
            history: vec![exception_line("revoked")],
        },
    }
}

fn exception_line(state: &'static str) -> ExceptionLine {
    ExceptionLine {
        id: 3,
        state,
        justification: long(),
        expires_at: "2027-01-01T00:00:00Z".into(),
        requested_by: hostile(),
        requested_at: "2026-12-05T00:00:00Z".into(),
        approved_by: Some(hostile()),
        revoked: Some(hostile()),
    }
}

#[test]
fn the_report_renders_every_hostile_field_inert() {
    let html = report().render().unwrap();
    assert_inert(&html);
    // The identity and the long name are there, escaped, in full on the report.
    assert!(html.contains(&"A".repeat(10 * 1024)));
    assert!(html.contains("The signed VSA (DSSE)"));
    assert!(html.contains("href=\"/api/v1/artifacts/9/vsa\""));
    assert!(html.contains("href=\"/api/v1/artifacts/9/vsa.sigstore.json\""));
    assert!(html.contains("href=\"/api/v1/artifacts/9/file\" download"));
    assert!(html.contains(&format!(
        "href=\"/api/v1/artifacts/9/evidence/sha256:{}\" download>sbom <code class=\"hash\">cdcdcdcdcdcd</code>",
        "cd".repeat(32)
    )));
    // The search echo sits inside an attribute: its quote is escaped.
    assert!(html.contains("value=\"&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;&#62;"));
    // Pagination links carry the search percent-encoded.
    assert!(!html.contains("q=<"));
}

#[test]
fn the_report_says_in_words_how_a_real_world_bundle_was_accepted() {
    let mut page = report();
    let mut promise = bundle();
    promise.ok = true;
    promise.artifact_binding = Some(Text::new(
        "its SHA-512 ab12, named by the signed in-toto statement's subject",
    ));
    promise.ignored_certificates = vec![Text::new("CN=sigstore,O=sigstore.dev (self-signed root)")];
    promise.log_entries[0].checkpoint = None;
    promise.log_entries[0].proof_index = None;
    promise.log_entries[0].promise_only = true;
    promise.witnessed[0].by = "promise".into();
    page.signatures = vec![promise];
    let html = page.render().unwrap();
    assert!(html.contains("Artifact matched by</dt><dd class=\"u\">its SHA-512 ab12"));
    assert!(html.contains("CN=sigstore,O=sigstore.dev (self-signed root)"));
    assert!(html.contains("not used: the chain was built to a CA of the trusted root"));
    assert!(html.contains("accepted on the log's signed promise to include the entry"));
    assert!(html.contains("nothing to witness: the log only promised to include the entry"));
    assert!(!html.contains("(no checkpoint carried)"));
}

#[test]
fn the_imports_list_and_detail_render_inert() {
    let list = ImportsPage {
        chrome: chrome(Role::Operator),
        filter: ImportsFilter {
            verdict: "failed".into(),
            publisher: hostile(),
            since: String::new(),
            until: String::new(),
        },
        error: Some(hostile()),
        rows: vec![import_line(); 3],
        pager: Pager::new("/imports", &[("publisher", hostile().as_str())], 1, 50, 3),
    }
    .render()
    .unwrap();
    assert_inert(&list);
    // Lists clip long names; the page stays small.
    assert!(list.contains("more characters)"));
    assert!(!list.contains(&"A".repeat(200)));
    assert!(list.contains("<option value=\"failed\" selected>"));
    assert!(
        list.contains("href=\"/upload\""),
        "operators see the upload link"
    );
    assert!(
        !list.contains("href=\"/admin"),
        "operators see no admin link"
    );

    let detail = ImportPage {
        chrome: chrome(Role::Auditor),
        import: ImportFacts {
            id: 7,
            file_name: long(),
            source: "upload".into(),
            state: "rejected".into(),
            reason: Some(hostile()),
            archive_size: 4096,
            archive_sha256: Some("cd".repeat(32)),
            kept: Some((1_048_576, "ef".repeat(32))),
            archive_id: Some(hostile()),
            publisher: Some(hostile()),
            sequence: Some(3),
            key_ids: vec!["ab".repeat(32)],
            created_at: Some("2026-11-22T10:00:00.000000Z".into()),
            site: Some(hostile()),
            notes: Some(hostile()),
            started_at: "2026-11-22T10:11:12.000000Z".into(),
            finished_at: None,
            started_by: hostile(),
            passed: 0,
            warned: 0,
            failed: 1,
        },
        manifest: Some(ManifestSummary {
            version: "1".into(),
            artifacts: 1,
            blobs: 4,
            blob_bytes: 2048,
            trust: vec![hostile()],
            logs: vec![(hostile(), 43)],
        }),
        steps: vec![StepLine {
            step: "archive".into(),
            ok: false,
            detail: hostile(),
            duration_us: 1500,
        }],
        artifacts: vec![ArtifactLine {
            id: 9,
            position: 0,
            name: long(),
            kind: "file".into(),
            digest: "ab".repeat(32),
            size: 10,
            verdict: "failed".into(),
            reasons: vec![hostile()],
        }],
    }
    .render()
    .unwrap();
    assert_inert(&detail);
    assert!(detail.contains("1.5 ms"));
    assert!(detail.contains(&format!(
        "<dt>SHA-256</dt><dd><code class=\"hash\">{}</code>",
        "cd".repeat(32)
    )));
    assert!(detail.contains(&format!(
        "its first 1048576 bytes, SHA-256 <code class=\"hash\">{}</code>",
        "ef".repeat(32)
    )));
    assert!(
        !detail.contains("href=\"/upload\""),
        "auditors see no upload link"
    );
}

#[test]
fn the_other_pages_render_inert() {
    let pages: Vec<String> = vec![
        SignInPage {
            chrome: Chrome::anonymous("Sign in"),
            csrf: "pre".into(),
            name: hostile(),
            error: Some(hostile()),
            notice: Some("Signed out."),
        }
        .render()
        .unwrap(),
        DashboardPage {
            chrome: chrome(Role::Admin),
            counts: VerdictCounts {
                passed: 1,
                warned: 2,
                failed: 3,
            },
            verdict_chart: VerdictChart {
                days: vec![DayBar {
                    day: "2026-03-01".into(),
                    imports: 1,
                    passed: 1,
                    warned: 2,
                    failed: 3,
                }],
            },
            margin_chart: MarginChart {
                points: vec![MarginPoint {
                    import_id: 1,
                    repository: "<script>alert(1)</script>".into(),
                    at: "2026-03-01 00:00:00 UTC".into(),
                    role: "timestamp".into(),
                    margin: 3_600,
                }],
            },
            recent: vec![import_line()],
            trust: vec![TrustFreshness {
                name: hostile(),
                root_version: Some(1),
                timestamp_version: Some(2),
                snapshot_version: Some(2),
                targets_version: Some(2),
                reference_time: Some("2026-11-22 10:00:00 UTC".into()),
                age: Some("2 h 0 min".into()),
                updated_at: None,
                next_expiry: Some("timestamp 2026-11-29 10:00:00 UTC".into()),
                margin: Some("7 d 0 h left".into()),
            }],
            logs: vec![LogHead {
                origin: hostile(),
                size: 43,
                root_hash: "01".repeat(32),
                witnessed_at: "2026-11-22T10:11:12.000000Z".into(),
                import_id: Some(7),
            }],
            alarms: vec![AlarmLine {
                id: 1,
                kind: "log-fork".into(),
                subject: hostile(),
                detail: long(),
                import_id: Some(7),
                raised_at: "2026-11-22T10:11:12.000000Z".into(),
            }],
            exceptions: vec![ActiveException {
                artifact_id: 9,
                artifact: hostile(),
                expires_at: "2026-12-08T00:00:00Z".into(),
                approved_by: hostile(),
                expiring_soon: true,
            }],
        }
        .render()
        .unwrap(),
        TrustPage {
            chrome: chrome(Role::Auditor),
            repositories: vec![RepositoryView {
                name: hostile(),
                pinned_root_version: Some(1),
                pinned_root_expires: None,
                roles: vec![RoleLine {
                    role: hostile(),
                    version: 3,
                    sha256: "ab".repeat(32),
                    expires: Some("2026-11-29 10:00:00 UTC".into()),
                }],
                reference_time: None,
                age: None,
                updated_at: None,
                trusted_root_sha256: None,
                trusted_root: Some(TrustedRootView {
                    certificate_authorities: vec![AuthorityView {
                        subject: hostile(),
                        uri: hostile(),
                        valid_from: "x".into(),
                        valid_until: None,
                    }],
                    timestamp_authorities: Vec::new(),
                    tlogs: vec![LogInstanceView {
                        base_url: hostile(),
                        log_id: "ab".into(),
                        valid_from: "x".into(),
                        valid_until: Some("y".into()),
                    }],
                    ctlogs: Vec::new(),
                }),
                error: Some(hostile()),
            }],
        }
        .render()
        .unwrap(),
        WitnessPage {
            chrome: chrome(Role::Auditor),
            logs: vec![WitnessedLog {
                origin: hostile(),
                head: CheckpointLine {
                    size: 43,
                    root_hash: "01".repeat(32),
                    witnessed_at: "2026-11-22T10:11:12.000000Z".into(),
                    import_id: None,
                },
                note: hostile(),
                history: Vec::new(),
            }],
            history_limit: 20,
        }
        .render()
        .unwrap(),
        AuditPage {
            chrome: chrome(Role::Auditor),
            chain: ChainStatus::Broken { error: hostile() },
            page_check: PageCheck::Broken { error: hostile() },
            filter: AuditFilterView {
                action: hostile(),
                subject: long(),
                ..AuditFilterView::default()
            },
            error: Some(hostile()),
            actions: vec![hostile()],
            rows: vec![AuditLine {
                seq: 1,
                at: "2026-11-22T10:11:12.000000Z".into(),
                actor: hostile(),
                action: hostile(),
                subject: long(),
                subject_href: None,
                details: vec![(hostile(), hostile())],
                detail: Some(hostile()),
                hash: "ab".repeat(32),
            }],
            pager: Pager::new("/audit", &[], 1, 50, 1),
        }
        .render()
        .unwrap(),
        UploadPage {
            chrome: chrome(Role::Operator),
            max_upload: 1 << 30,
            error: Some(hostile()),
        }
        .render()
        .unwrap(),
        ErrorPage {
            chrome: chrome(Role::Auditor),
            status: 404,
            reason: "Not Found",
            message: hostile(),
        }
        .render()
        .unwrap(),
        SignersPage {
            chrome: chrome(Role::Admin),
            tab: AdminTab::Signers,
            signers: vec![SignerLine {
                name: hostile(),
                kind: "keyless".into(),
                issuer: Some(hostile()),
                subject: Some(hostile()),
                subject_is_regex: false,
                public_key: None,
                enabled: true,
                expires_at: None,
                active: true,
            }],
            form: SignerForm {
                name: hostile(),
                ..SignerForm::default()
            },
            error: Some(hostile()),
        }
        .render()
        .unwrap(),
        PolicyPage {
            chrome: chrome(Role::Admin),
            tab: AdminTab::Policy,
            toml: hostile(),
            error: Some(hostile()),
        }
        .render()
        .unwrap(),
        PublishersPage {
            chrome: chrome(Role::Admin),
            tab: AdminTab::Publishers,
            publishers: vec![PublisherLine {
                name: hostile(),
                last_sequence: Some(4),
            }],
            keys: vec![PublisherKeyLine {
                key_id: "ab".repeat(32),
                publisher: hostile(),
                enabled: false,
            }],
            threshold: 1,
            error: Some(hostile()),
        }
        .render()
        .unwrap(),
        UsersPage {
            chrome: chrome(Role::Admin),
            tab: AdminTab::Users,
            users: vec![UserLine {
                name: Text::new("aude"),
                role: "auditor".into(),
                enabled: true,
                failed_logins: 0,
                locked_until: None,
                last_admin: false,
            }],
            generated: Some(Generated {
                name: hostile(),
                password: "pw".into(),
            }),
            error: Some(hostile()),
        }
        .render()
        .unwrap(),
        ComponentsPage {
            chrome: chrome(Role::Auditor),
            filter: ComponentsFilter {
                name: hostile(),
                version: hostile(),
                purl: hostile(),
                licence: hostile(),
            },
            error: Some(hostile()),
            rows: vec![ComponentHitLine {
                artifact_id: 3,
                artifact: long(),
                import_id: 1,
                verdict: "passed".into(),
                name: hostile(),
                version: hostile(),
                purl: hostile(),
                licence: long(),
            }],
            artifacts: 1,
            pager: Pager::new("/components", &[("name", &hostile().to_string())], 1, 50, 1),
        }
        .render()
        .unwrap(),
    ];
    for html in &pages {
        // Hidden form values carry the raw name (escaped), so only the visible text is
        // checked for the override marker on pages with such forms.
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&#60;script&#62;"), "{html}");
    }
    for html in pages.iter().filter(|h| !h.contains("name=\"name\" value=")) {
        assert_inert(html);
    }
}

#[test]
fn every_state_changing_form_posts_the_csrf_token() {
    let html = [
        report().render().unwrap(),
        SignersPage {
            chrome: chrome(Role::Admin),
            tab: AdminTab::Signers,
            signers: vec![SignerLine {
                name: Text::new("release-ci"),
                kind: "keyless".into(),
                issuer: None,
                subject: None,
                subject_is_regex: false,
                public_key: None,
                enabled: true,
                expires_at: None,
                active: true,
            }],
            form: SignerForm::default(),
            error: None,
        }
        .render()
        .unwrap(),
        UploadPage {
            chrome: chrome(Role::Operator),
            max_upload: 1,
            error: None,
        }
        .render()
        .unwrap(),
    ]
    .concat();
    let posts = html.matches("method=\"post\"").count();
    let tokens = html
        .matches("<input type=\"hidden\" name=\"csrf\" value=\"csrf-token-value\">")
        .count();
    assert!(posts >= 5, "{posts}");
    assert_eq!(posts, tokens, "a form without the CSRF token");
}

#[test]
fn the_stylesheet_prints_and_fits_narrow_screens() {
    assert!(STYLESHEET.contains("@media print"));
    assert!(STYLESHEET.contains("@media (max-width: 40rem)"));
    assert!(
        !STYLESHEET.contains("url("),
        "no external or embedded assets"
    );
    assert!(!STYLESHEET.contains("@import"));
}

#[test]
fn the_only_enabled_admin_is_offered_neither_disable_nor_a_role_change() {
    let user = |name: &str, role: &str, last_admin| UserLine {
        name: Text::new(name),
        role: role.into(),
        enabled: true,
        failed_logins: 0,
        locked_until: None,
        last_admin,
    };
    let html = UsersPage {
        chrome: chrome(Role::Admin),
        tab: AdminTab::Users,
        users: vec![user("root", "admin", true), user("aude", "auditor", false)],
        generated: None,
        error: None,
    }
    .render()
    .unwrap();
    assert_eq!(html.matches(">Disable<").count(), 1, "only aude's row");
    assert!(html.contains("Disable<span class=\"visually-hidden\"> aude</span>"));
    assert!(!html.contains("visually-hidden\"> root</span>"));
    assert!(html.contains("The only enabled admin: add or enable another admin"));
    assert!(html.contains("the role of aude"));
    assert!(!html.contains("the role of root"));
}
