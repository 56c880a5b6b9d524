//! `airlock-demo`: the whole product on one machine. Mints a private Sigstore-like instance,
//! builds a signed archive with three artifacts (one with provenance and an SBOM signed by the
//! release pipeline, one signed by an identity the site does not trust, one unsigned),
//! initialises an appliance in a fresh folder, imports the archive with no network, and serves
//! the appliance on https://127.0.0.1:8443, printing the URL and the admin login.
//!
//! `airlock-demo [--out DIR] [--listen ADDR] [--no-serve]`

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use airlock_appliance::admin;
use airlock_appliance::appliance::Appliance;
use airlock_appliance::http::{self, ServeOptions};
use airlock_appliance::init::{InitOptions, init};
use airlock_appliance::pipeline::{self, ImportRequest, Original};
use airlock_appliance::policy::PolicyDocument;
use airlock_appliance::store::ImportSource;
use airlock_tests::{
    ArtifactPlan, BUILDER_ID, ISSUER, Signing, TRUSTED_IDENTITY, TUF_NAME, UNTRUSTED_IDENTITY,
    World,
};
use anyhow::{Context as _, bail};

/// The file that marks a folder as the demo's own, so a rerun may replace it.
const MARKER: &str = ".airlock-demo";

struct Args {
    out: PathBuf,
    listen: SocketAddr,
    serve: bool,
    image: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        out: PathBuf::from("target/demo"),
        listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
        serve: true,
        image: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--out" => args.out = it.next().context("--out needs a folder")?.into(),
            "--listen" => {
                args.listen = it
                    .next()
                    .context("--listen needs an address")?
                    .parse()
                    .context("--listen")?;
            }
            "--no-serve" => args.serve = false,
            "--image" => args.image = Some(it.next().context("--image needs a folder")?.into()),
            "-h" | "--help" => {
                println!(
                    "airlock-demo [--out DIR] [--listen ADDR] [--no-serve] [--image LAYOUT]\n\n\
                     Mints a private Sigstore, builds a signed archive, initialises an appliance in\n\
                     DIR/appliance (default target/demo), imports the archive and serves it.\n\
                     With the appliance's own OCI image layout (images/build.sh writes\n\
                     target/images/appliance, used when present), the archive carries it too and\n\
                     the appliance verifies its own image."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let out = &args.out;
    if out.exists() {
        if !out.join(MARKER).exists() {
            bail!(
                "{} exists and is not a previous demo folder; choose another with --out",
                out.display()
            );
        }
        std::fs::remove_dir_all(out).with_context(|| format!("removing {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join(MARKER), b"")?;

    // 1. The connected side: a private Sigstore, its TUF repository and log, a publisher key.
    println!("1. connected side: minting a private Sigstore, TUF repository and log");
    let now = chrono::Utc::now();
    let mut world = World::new(
        2026,
        &out.join("connected"),
        now - chrono::Duration::hours(1),
    )?;
    let plans = [
        ArtifactPlan::complete(
            "site-tool-1.4.2.tar.gz",
            b"release tarball of the site tool, v1.4.2\n",
        ),
        ArtifactPlan {
            signing: Signing::As(UNTRUSTED_IDENTITY.to_owned()),
            ..ArtifactPlan::signed("plugin-0.9.so", b"an unreviewed plugin\n")
        },
        ArtifactPlan {
            signing: Signing::Unsigned,
            ..ArtifactPlan::signed("install.sh", b"#!/bin/sh\necho installing\n")
        },
    ];
    let mut plans = plans.to_vec();
    let image = args.image.clone().or_else(|| {
        let built = PathBuf::from("target/images/appliance");
        built.join("index.json").is_file().then_some(built)
    });
    match &image {
        Some(layout) => {
            println!("   with the appliance's own image: {}", layout.display());
            plans.push(ArtifactPlan::image(
                &format!("airlock-appliance:{}", env!("CARGO_PKG_VERSION")),
                layout,
            )?);
        }
        None => println!("   (no appliance image built; images/build.sh makes one to include)"),
    }
    let archive = world.archive("release-2026-12", 1, &plans, None)?;
    println!("   archive: {}", archive.display());

    // 2. The site: a fresh appliance that pins the TUF root and trusts the publisher.
    println!("2. site: initialising an appliance");
    let data = out.join("appliance");
    let made = init(&InitOptions {
        data: data.clone(),
        tuf_roots: vec![(TUF_NAME.to_owned(), world.tuf_root().to_vec())],
        admin: "admin".into(),
        admin_password: None,
        tls: None,
        hostnames: Vec::new(),
        site: None,
        now,
    })?;
    let app = Arc::new(Appliance::open(&data)?);
    let key = airlock_bundler::keys::load_public_key(&world.publisher().pub_path)?;
    admin::add_publisher_key(&app, "demo", "release-team", &key)?;
    let policy = format!(
        r#"
enforcement = "enforce"
[slsa]
required = true
min_build_level = 2
[[slsa.trusted_builders]]
id = "{BUILDER_ID}"
level = 3
[sbom]
required = true
[[signer]]
name = "release-pipeline"
issuer = "{ISSUER}"
subject = "{TRUSTED_IDENTITY}"
"#
    );
    admin::import_policy(&app, "demo", &PolicyDocument::from_toml(&policy)?)?;

    // 3. Import: everything is verified from what the archive carries; nothing is fetched.
    println!("3. import (offline)");
    let outcome = pipeline::import_file(
        &app,
        ImportRequest {
            source: ImportSource::Cli,
            path: archive.clone(),
            file_name: "release-2026-12.airlock.tar.zst".into(),
            actor: "demo".into(),
            original: Original::Copy,
        },
    )?;
    if let Some(reason) = &outcome.reason {
        bail!("the demo archive was rejected: {reason}");
    }
    for a in &outcome.artifacts {
        println!("   {:<7} {}", a.verdict.as_str(), a.name);
        for reason in &a.reasons {
            println!("           {reason}");
        }
    }

    let url = format!("https://{}/", args.listen);
    let login = match &made.generated_password {
        Some(p) => format!("admin / {p}"),
        None => "admin".to_owned(),
    };
    std::fs::write(out.join("login.txt"), format!("{url}\n{login}\n"))?;
    // The page a browser opens (the API's JSON answers a browser "not signed in").
    let import_page = format!("{url}imports/{}", outcome.import_id);
    if !args.serve {
        println!(
            "\nappliance data: {}\nlogin: {login}\nimport page: {import_page} (once served: \
             airlock-appliance serve --data {} --listen {})",
            data.display(),
            data.display(),
            args.listen
        );
        return Ok(());
    }
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("listening on {} (try --listen)", args.listen))?;
    println!(
        "\n4. serving {url}  (self-signed certificate; TLS 1.3)\n   sign in: {login}\n   import page: {import_page}\n   stop with Ctrl-C"
    );
    actix_web::rt::System::new().block_on(async move {
        http::run(app, listener, &ServeOptions::default())?.await?;
        Ok::<_, anyhow::Error>(())
    })
}
