//! Loopback package registries over HTTPS: an npm registry (version documents with
//! `dist.tarball`, `dist.integrity` and `dist.attestations.url`; tarballs; attestations
//! documents) and a PyPI index (the JSON API's `urls[]` with `digests.sha256`; files; PEP 740
//! provenance from the integrity API), answering from what the test publishes and counting
//! every request by path.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use actix_web::{App, HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256, Sha512};

use crate::error::{KitError, Result};
use crate::server::{Running, spawn};
use crate::tls::TlsMaterial;

/// The npm publish attestation's predicate type.
pub const NPM_PUBLISH_PREDICATE: &str =
    "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";
/// PyPI's publish attestation predicate type (PEP 740).
pub const PYPI_PUBLISH_PREDICATE: &str = "https://docs.pypi.org/attestations/publish/v1";

type Routes = Arc<RwLock<BTreeMap<String, (String, Vec<u8>)>>>;
type Seen = Arc<Mutex<BTreeMap<String, Vec<Option<String>>>>>;

/// One HTTPS server playing an npm registry and a PyPI index at once.
#[derive(Debug)]
pub struct PackageServer {
    running: Running,
    routes: Routes,
    hits: Seen,
}

impl PackageServer {
    /// Starts an empty registry over HTTPS with `tls`'s certificate.
    pub fn start_https(tls: &TlsMaterial) -> Result<Self> {
        let routes: Routes = Arc::new(RwLock::new(BTreeMap::new()));
        let hits: Seen = Arc::new(Mutex::new(BTreeMap::new()));
        let (r, h) = (routes.clone(), hits.clone());
        let running = spawn(
            move || {
                let (routes, hits) = (r.clone(), h.clone());
                App::new().default_service(web::to(move |request: HttpRequest| {
                    let (routes, hits) = (routes.clone(), hits.clone());
                    async move {
                        let path = request.uri().path().to_owned();
                        let authorization = request
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        hits.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .entry(path.clone())
                            .or_default()
                            .push(authorization);
                        let found = routes
                            .read()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .get(&path)
                            .cloned();
                        match found {
                            Some((content_type, body)) => HttpResponse::Ok()
                                .insert_header(("Content-Type", content_type))
                                .body(body),
                            None => HttpResponse::NotFound()
                                .content_type("application/json")
                                .body(r#"{"error":"Not found"}"#),
                        }
                    }
                }))
            },
            Some(tls),
        )?;
        Ok(Self {
            running,
            routes,
            hits,
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.running.url
    }

    /// Serves `body` at `path` (as the client sends it, percent-encoding kept).
    pub fn put(&self, path: &str, content_type: &str, body: Vec<u8>) {
        self.routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path.to_owned(), (content_type.to_owned(), body));
    }

    /// Stops serving `path` (404 from now on).
    pub fn remove(&self, path: &str) {
        self.routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(path);
    }

    /// Requests received for `path`.
    pub fn requests(&self, path: &str) -> usize {
        self.authorizations(path).len()
    }

    /// The `Authorization` header of each request for `path` (`None`: it had none).
    pub fn authorizations(&self, path: &str) -> Vec<Option<String>> {
        self.hits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    /// Every path requested so far, with how often.
    pub fn seen(&self) -> BTreeMap<String, usize> {
        self.hits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(path, requests)| (path.clone(), requests.len()))
            .collect()
    }

    /// The JSON document served at `path`, if any.
    pub fn document(&self, path: &str) -> Option<Value> {
        let routes = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        serde_json::from_slice(&routes.get(path)?.1).ok()
    }

    /// Publishes an npm package version: its version document at `/{name}/{version}` (a
    /// scope's `/` written `%2f`), the tarball at `/{name}/-/{base}-{version}.tgz`, and, when
    /// `attestations` are given (predicate type, bundle JSON), the attestations document at
    /// `/-/npm/v1/attestations/{name}@{version}`. Returns the paths served.
    pub fn publish_npm(
        &self,
        name: &str,
        version: &str,
        tarball: &[u8],
        attestations: Option<&[(&str, &[u8])]>,
    ) -> Result<NpmPaths> {
        let escaped = name.replace('/', "%2f");
        let base = name.rsplit('/').next().unwrap_or(name);
        let tarball_path = format!("/{name}/-/{base}-{version}.tgz");
        let version_path = format!("/{escaped}/{version}");
        let attestations_path = format!("/-/npm/v1/attestations/{escaped}@{version}");
        let mut dist = json!({
            "tarball": format!("{}{tarball_path}", self.url()),
            "shasum": "0000000000000000000000000000000000000000",
            "integrity": npm_integrity(tarball),
            "fileCount": 1,
            "unpackedSize": tarball.len(),
        });
        if let Some(list) = attestations {
            /// An entry as npm serves it, its bundle byte for byte as given.
            #[derive(serde::Serialize)]
            struct Entry<'a> {
                #[serde(rename = "predicateType")]
                predicate_type: &'a str,
                bundle: Box<serde_json::value::RawValue>,
            }
            #[derive(serde::Serialize)]
            struct Document<'a> {
                attestations: Vec<Entry<'a>>,
            }
            let mut attestations = Vec::new();
            for (predicate_type, bundle) in list {
                let bundle = crate::github::raw_bundle(bundle, "npm attestation bundle")?;
                attestations.push(Entry {
                    predicate_type,
                    bundle,
                });
            }
            let document =
                serde_json::to_vec(&Document { attestations }).map_err(|e| KitError::Invalid {
                    what: "npm attestations document",
                    detail: e.to_string(),
                })?;
            self.put(&attestations_path, "application/json", document);
            dist["attestations"] = json!({
                "url": format!("{}{attestations_path}", self.url()),
                "provenance": {"predicateType": "https://slsa.dev/provenance/v1"},
            });
        }
        let document = json!({
            "name": name,
            "version": version,
            "description": "minted by the airlock testkit",
            "dist": dist,
        });
        self.put(
            &version_path,
            "application/json",
            document.to_string().into_bytes(),
        );
        self.put(&tarball_path, "application/octet-stream", tarball.to_vec());
        Ok(NpmPaths {
            version: version_path,
            tarball: tarball_path,
            attestations: attestations_path,
        })
    }

    /// Publishes a PyPI release: `files` (their PEP 740 attestations given as Sigstore
    /// bundle v0.3 JSON, converted here) in the JSON API at `/pypi/{project}/{version}/json`,
    /// each file at `/files/{name}` and, where it has attestations, its provenance at
    /// `/integrity/{project}/{version}/{name}/provenance`.
    pub fn publish_pypi(
        &self,
        project: &str,
        version: &str,
        files: &[PypiFile<'_>],
    ) -> Result<PypiPaths> {
        let mut urls = Vec::new();
        let mut provenance = BTreeMap::new();
        for PypiFile {
            name,
            bytes,
            bundles,
        } in files
        {
            let path = format!("/files/{name}");
            self.put(&path, "application/octet-stream", bytes.to_vec());
            urls.push(json!({
                "filename": name,
                "url": format!("{}{path}", self.url()),
                "size": bytes.len(),
                "digests": {
                    "sha256": hex::encode(Sha256::digest(bytes)),
                    "blake2b_256": "00",
                    "md5": "00",
                },
                "packagetype": if name.ends_with(".whl") { "bdist_wheel" } else { "sdist" },
                "yanked": false,
            }));
            if !bundles.is_empty() {
                let attestations = bundles
                    .iter()
                    .map(|b| pep740_attestation(b))
                    .collect::<Result<Vec<_>>>()?;
                let doc = json!({
                    "version": 1,
                    "attestation_bundles": [{
                        "publisher": {
                            "kind": "GitHub",
                            "repository": "org/project",
                            "workflow": "release.yml",
                            "environment": null,
                        },
                        "attestations": attestations,
                    }],
                });
                let p = format!("/integrity/{project}/{version}/{name}/provenance");
                self.put(&p, "application/json", doc.to_string().into_bytes());
                provenance.insert((*name).to_owned(), p);
            }
        }
        let release = format!("/pypi/{project}/{version}/json");
        let doc = json!({
            "info": {"name": project, "version": version},
            "urls": urls,
            "vulnerabilities": [],
        });
        self.put(&release, "application/json", doc.to_string().into_bytes());
        Ok(PypiPaths {
            release,
            provenance,
        })
    }
}

/// A file of a PyPI release to publish.
#[derive(Debug, Clone)]
pub struct PypiFile<'a> {
    /// Its file name.
    pub name: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Its attestations, as Sigstore bundle v0.3 JSON (none: no provenance is served).
    pub bundles: Vec<Vec<u8>>,
}

/// What [`PackageServer::publish_npm`] serves.
#[derive(Debug, Clone)]
pub struct NpmPaths {
    /// The version document.
    pub version: String,
    /// The tarball.
    pub tarball: String,
    /// The attestations document (served only when attestations were given).
    pub attestations: String,
}

/// What [`PackageServer::publish_pypi`] serves.
#[derive(Debug, Clone)]
pub struct PypiPaths {
    /// The JSON API's release document.
    pub release: String,
    /// Each file's provenance, by file name.
    pub provenance: BTreeMap<String, String>,
}

/// `sha512-<base64>` of `bytes`, as npm's `dist.integrity` writes it.
pub fn npm_integrity(bytes: &[u8]) -> String {
    format!("sha512-{}", B64.encode(Sha512::digest(bytes)))
}

/// A PEP 740 attestation object from a Sigstore bundle v0.3 with a leaf certificate and a
/// DSSE envelope (what PyPI serves for it): the certificate, the log entries as they are,
/// and the envelope's statement and signature.
pub fn pep740_attestation(bundle_json: &[u8]) -> Result<Value> {
    let invalid = |detail: &str| KitError::Invalid {
        what: "PEP 740 attestation",
        detail: detail.to_owned(),
    };
    let bundle: Value = serde_json::from_slice(bundle_json).map_err(|e| invalid(&e.to_string()))?;
    let material = &bundle["verificationMaterial"];
    let certificate = material["certificate"]["rawBytes"]
        .as_str()
        .ok_or_else(|| invalid("the bundle carries no single leaf certificate"))?;
    let envelope = &bundle["dsseEnvelope"];
    let statement = envelope["payload"]
        .as_str()
        .ok_or_else(|| invalid("the bundle has no DSSE envelope"))?;
    let signature = envelope["signatures"][0]["sig"]
        .as_str()
        .ok_or_else(|| invalid("the envelope has no signature"))?;
    Ok(json!({
        "version": 1,
        "verification_material": {
            "certificate": certificate,
            "transparency_entries": material["tlogEntries"].clone(),
        },
        "envelope": {"statement": statement, "signature": signature},
    }))
}
