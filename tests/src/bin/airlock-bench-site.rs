//! `airlock-bench-site`: prepares an import benchmark — a site (an initialised appliance that
//! trusts the world's publisher, TUF root and release identity) and an archive for it.
//!
//! `airlock-bench-site DIR small N`   N small artifacts, each with its own Sigstore bundle
//! `airlock-bench-site DIR large MIB FILES`  FILES signed artifacts of random data, MIB in all
//! `airlock-bench-site DIR sboms COUNT MIB [ARTIFACTS]`  ARTIFACTS (1) artifacts each carrying
//!   COUNT CycloneDX SBOMs of MIB each (100,000 components padded with an unread field: the
//!   most the appliance reads), and one plain signed file
//!
//! `airlock-bench-site DIR image MIB LAYERS`  one signed OCI image of LAYERS layers of random
//!   data, MIB in all, tagged `1.0` (for `bench/registry.sh`)
//!
//! Prints the data folder and the archive path; `bench/import.sh` times the import.

use std::path::PathBuf;

use airlock_appliance::admin;
use airlock_appliance::appliance::Appliance;
use airlock_appliance::init::{InitOptions, init};
use airlock_appliance::policy::PolicyDocument;
use airlock_tests::{ArtifactPlan, ISSUER, TRUSTED_IDENTITY, TUF_NAME, World};
use anyhow::{Context as _, bail};
use sha2::{Digest as _, Sha256};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sbom_policy = "";
    let (dir, plans) = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [dir, "small", n] => {
            let n: usize = n.parse().context("N")?;
            let plans = (0..n)
                .map(|i| {
                    ArtifactPlan::signed(
                        &format!("small-{i:06}.bin"),
                        format!("artifact {i}\n").as_bytes(),
                    )
                })
                .collect::<Vec<_>>();
            (PathBuf::from(dir), plans)
        }
        [dir, "large", mib, files] => {
            let mib: usize = mib.parse().context("MIB")?;
            let files: usize = files.parse().context("FILES")?;
            let per_file = mib * 1024 * 1024 / files.max(1);
            let plans = (0..files)
                .map(|i| {
                    ArtifactPlan::signed(&format!("large-{i:03}.bin"), &pseudo_random(i, per_file))
                })
                .collect::<Vec<_>>();
            (PathBuf::from(dir), plans)
        }
        [dir, "sboms", count, mib, ref more @ ..] if more.len() <= 1 => {
            let count: usize = count.parse().context("COUNT")?;
            let mib: usize = mib.parse().context("MIB")?;
            let artifacts: usize = more
                .first()
                .map_or(Ok(1), |a| a.parse())
                .context("ARTIFACTS")?;
            // Beside DIR, which is made anew below.
            let sboms = PathBuf::from(format!("{dir}.sboms"));
            if sboms.exists() {
                std::fs::remove_dir_all(&sboms)?;
            }
            std::fs::create_dir_all(&sboms)?;
            sbom_policy = "[sbom]\nrequired = true\n";
            let mut plans = Vec::new();
            for a in 0..artifacts {
                let paths = (0..count)
                    .map(|i| {
                        let path = sboms.join(format!("padded-{a}-{i}.cdx.json"));
                        padded_sbom(&path, a * count + i, mib << 20).map(|()| path)
                    })
                    .collect::<std::io::Result<Vec<_>>>()?;
                plans.push(ArtifactPlan {
                    extra_sboms: paths,
                    ..ArtifactPlan::complete(
                        &format!("sbom-heavy-{a}.tar.gz"),
                        format!("artifact {a} with heavy SBOMs\n").as_bytes(),
                    )
                });
            }
            plans.push(ArtifactPlan::signed("notes.txt", b"release notes\n"));
            (PathBuf::from(dir), plans)
        }
        [dir, "image", mib, layers] => {
            let mib: usize = mib.parse().context("MIB")?;
            let layers: usize = layers.parse().context("LAYERS")?;
            let per_layer = mib * 1024 * 1024 / layers.max(1);
            let layout_dir = PathBuf::from(format!("{dir}.layout"));
            if layout_dir.exists() {
                std::fs::remove_dir_all(&layout_dir)?;
            }
            let bytes: Vec<Vec<u8>> = (0..layers)
                .map(|i| pseudo_random(1000 + i, per_layer))
                .collect();
            let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
            let (layout, manifest) = airlock_tests::OciLayout::new(&layout_dir, &refs)?;
            drop(bytes);
            layout.point_index_at_tagged(&manifest, "1.0")?;
            (
                PathBuf::from(dir),
                vec![ArtifactPlan::image("bench-image", &layout.dir)?],
            )
        }
        _ => bail!(
            "usage: airlock-bench-site DIR small N | DIR large MIB FILES | DIR sboms COUNT MIB [ARTIFACTS] | DIR image MIB LAYERS"
        ),
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let now = chrono::Utc::now();
    let mut world = World::new(77, &dir.join("world"), now - chrono::Duration::hours(1))?;
    let archive = world.archive("bench", 1, &plans, None)?;
    drop(plans);
    let data = dir.join("data");
    init(&InitOptions {
        data: data.clone(),
        tuf_roots: vec![(TUF_NAME.to_owned(), world.tuf_root().to_vec())],
        admin: "admin".into(),
        admin_password: Some("bench".into()),
        tls: None,
        hostnames: Vec::new(),
        site: None,
        now,
    })?;
    let app = Appliance::open(&data)?;
    let key = airlock_bundler::keys::load_public_key(&world.publisher().pub_path)?;
    admin::add_publisher_key(&app, "bench", "release-team", &key)?;
    let policy = format!(
        "enforcement = \"enforce\"\n{sbom_policy}[[signer]]\nname = \"release\"\nissuer = \"{ISSUER}\"\nsubject = \"{TRUSTED_IDENTITY}\"\n"
    );
    admin::import_policy(&app, "bench", &PolicyDocument::from_toml(&policy)?)?;
    println!("{}", data.display());
    println!("{}", archive.display());
    Ok(())
}

/// A CycloneDX SBOM of 100,000 components (the most the appliance reads) whose unread
/// `description` fields pad it to `size` bytes; `seed` makes each file's bytes distinct.
fn padded_sbom(path: &std::path::Path, seed: usize, size: usize) -> std::io::Result<()> {
    use std::io::Write as _;
    const COMPONENTS: usize = 100_000;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let head = format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","serialNumber":"urn:bench:{seed}","components":["#
    );
    out.write_all(head.as_bytes())?;
    let per = (size.saturating_sub(head.len()) / COMPONENTS)
        .saturating_sub(60)
        .min(60_000);
    let filler = "x".repeat(per);
    for i in 0..COMPONENTS {
        let comma = if i > 0 { "," } else { "" };
        write!(
            out,
            r#"{comma}{{"name":"component-{i}","version":"1.0.{i}","description":"{filler}"}}"#
        )?;
    }
    out.write_all(b"]}")?;
    out.flush()
}

/// Incompressible bytes, fast: SHA-256 in counter mode.
fn pseudo_random(seed: usize, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 0u64;
    while out.len() < len {
        let block = Sha256::new()
            .chain_update(seed.to_le_bytes())
            .chain_update(counter.to_le_bytes())
            .finalize();
        out.extend_from_slice(&block);
        counter += 1;
    }
    out.truncate(len);
    out
}
