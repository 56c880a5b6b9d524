//! SBOMs: the requirement (present, at least so many components), what an SBOM says as far as
//! policy and the pages need it ([`SbomSummary`]), reading it from a JSON value (an SBOM
//! attestation's predicate) and [`evaluate_sbom`], which judges an artifact's SBOMs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{PolicyError, invalid};

/// The in-toto predicate type of a CycloneDX SBOM attestation.
pub const CYCLONEDX_PREDICATE_TYPE: &str = "https://cyclonedx.org/bom";
/// The in-toto predicate type of an SPDX SBOM attestation.
pub const SPDX_PREDICATE_TYPE: &str = "https://spdx.dev/Document";
/// The most components an SBOM may list before [`inspect_sbom`] refuses it.
pub const MAX_SBOM_COMPONENTS: usize = 100_000;

/// What SBOM an artifact needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SbomRequirement {
    /// An SBOM (file or attestation) must be present and readable.
    pub required: bool,
    /// The fewest components an SBOM must list (0: any number).
    #[serde(serialize_with = "serialize_count")]
    pub min_components: usize,
}

/// TOML integers are `i64`; a count beyond that (never valid, see [`super::Policy::validate`]) saturates
/// rather than making serialisation fail.
fn serialize_count<S: serde::Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(i64::try_from(*n).unwrap_or(i64::MAX))
}

impl SbomRequirement {
    pub(super) fn validate(&self, prefix: &str) -> Result<(), PolicyError> {
        if self.min_components > MAX_SBOM_COMPONENTS {
            return Err(invalid(
                format!("{prefix}.min_components"),
                format!(
                    "SBOMs are read up to {MAX_SBOM_COMPONENTS} components, so {} can never be met",
                    self.min_components
                ),
            ));
        }
        Ok(())
    }
}

/// One component an SBOM lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SbomComponent {
    /// Name (empty if the SBOM gives none).
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Package URL.
    pub purl: Option<String>,
    /// Its licences: CycloneDX license ids, names or expressions, in order, joined with
    /// `, ` (at most [`MAX_COMPONENT_LICENSES`]); SPDX `licenseConcluded`, else
    /// `licenseDeclared` (`NOASSERTION` is no answer and falls through; `NONE`, the SPDX
    /// statement that there is no licence, is kept as written).
    pub license: Option<String>,
}

/// The most `licenses` entries of one CycloneDX component read (the rest are skipped).
pub const MAX_COMPONENT_LICENSES: usize = 16;

/// The most tools of one SBOM kept (the rest are skipped).
pub const MAX_SBOM_TOOLS: usize = 16;

/// What an SBOM says, as far as policy and the pages need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredSbomSummary")]
pub struct SbomSummary {
    /// `CycloneDX <specVersion>` or the SPDX version (`SPDX-2.3`).
    pub format: String,
    /// The first [`MAX_SBOM_KEPT`] components (CycloneDX nested components included, depth
    /// first): what the report keeps and the pages search.
    pub components: Vec<SbomComponent>,
    /// How many components the SBOM lists (what the policy judges).
    pub component_count: usize,
    /// The tools that wrote it, as the SBOM names them (`anchore syft 1.0.1`, SPDX
    /// `Tool: syft-1.0.1` as `syft-1.0.1`), at most [`MAX_SBOM_TOOLS`]. Left out of the JSON
    /// when there are none (so a report stored before these were read serialises as it did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// CycloneDX `serialNumber`, or the SPDX `documentNamespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// When it says it was made, as written (CycloneDX `metadata.timestamp`, SPDX
    /// `creationInfo.created`); untrusted text, never read as a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// An [`SbomSummary`] as a stored report holds it: reports stored before components were
/// counted lack `component_count`, and kept every component; reports stored before the
/// SBOM's tools, serial and creation time were read lack those.
#[derive(Deserialize)]
struct StoredSbomSummary {
    format: String,
    components: Vec<SbomComponent>,
    #[serde(default)]
    component_count: Option<usize>,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    serial: Option<String>,
    #[serde(default)]
    created: Option<String>,
}

impl From<StoredSbomSummary> for SbomSummary {
    fn from(s: StoredSbomSummary) -> Self {
        Self {
            component_count: s.component_count.unwrap_or(s.components.len()),
            format: s.format,
            components: s.components,
            tools: s.tools,
            serial: s.serial,
            created: s.created,
        }
    }
}

/// The most components of one SBOM a report keeps (all are counted, up to
/// [`MAX_SBOM_COMPONENTS`]): what is kept in memory while an artifact is judged stays small
/// however many components its SBOMs list.
pub const MAX_SBOM_KEPT: usize = 10_000;

impl SbomSummary {
    /// A summary of `components`, keeping the first [`MAX_SBOM_KEPT`]; no tools, serial or
    /// creation time.
    pub fn of(format: String, mut components: Vec<SbomComponent>) -> Self {
        let component_count = components.len();
        components.truncate(MAX_SBOM_KEPT);
        Self {
            format,
            components,
            component_count,
            tools: Vec::new(),
            serial: None,
            created: None,
        }
    }
}

/// A CycloneDX tool (`metadata.tools[]`, or a component or service of the 1.5+ object form)
/// as one line: its vendor or group, name and version, those it gives, space separated.
pub(crate) fn tool_line(
    vendor: Option<&str>,
    name: Option<&str>,
    version: Option<&str>,
) -> Option<String> {
    let parts: Vec<&str> = [vendor, name, version]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// An SPDX creator that is a tool (`Tool: syft-1.0.1`): what follows `Tool:`, trimmed.
pub(crate) fn spdx_tool(creator: &str) -> Option<String> {
    let tool = creator.strip_prefix("Tool:")?.trim();
    (!tool.is_empty()).then(|| tool.to_owned())
}

/// An SPDX licence field as an answer: `NOASSERTION` (and empty) is none.
pub(crate) fn spdx_license(value: Option<String>) -> Option<String> {
    value.filter(|l| !l.trim().is_empty() && l.trim() != "NOASSERTION")
}

const NEITHER: &str = "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON";

fn too_many() -> String {
    format!("SBOM lists more than {MAX_SBOM_COMPONENTS} components")
}

/// Reads an SBOM already parsed as JSON: a CycloneDX or SPDX document, which is also what an
/// in-toto statement of type [`CYCLONEDX_PREDICATE_TYPE`] or [`SPDX_PREDICATE_TYPE`] carries as
/// its predicate. A whole such statement is accepted too.
pub fn inspect_sbom_value(v: &Value) -> Result<SbomSummary, String> {
    let v = match (
        v.get("predicateType").and_then(Value::as_str),
        v.get("predicate"),
    ) {
        (Some(CYCLONEDX_PREDICATE_TYPE | SPDX_PREDICATE_TYPE), Some(predicate)) => predicate,
        _ => v,
    };
    let Some(doc) = v.as_object() else {
        return Err(NEITHER.to_owned());
    };
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return cyclonedx(doc);
    }
    if let Some(version) = doc.get("spdxVersion").and_then(Value::as_str) {
        return spdx(version, doc);
    }
    Err(NEITHER.to_owned())
}

fn string_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A component's nested `components`, if any.
fn cyclonedx_children(v: &Map<String, Value>) -> Result<&[Value], String> {
    match v.get("components") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => Ok(list),
        Some(_) => Err("CycloneDX components is not an array".to_owned()),
    }
}

fn cyclonedx(doc: &Map<String, Value>) -> Result<SbomSummary, String> {
    let version = doc
        .get("specVersion")
        .and_then(Value::as_str)
        .ok_or("CycloneDX BOM has no specVersion")?;
    let mut components = Vec::new();
    // Depth first with an explicit stack: nesting depth costs heap, never the call stack.
    let mut stack = vec![cyclonedx_children(doc)?.iter()];
    while let Some(top) = stack.last_mut() {
        let Some(item) = top.next() else {
            stack.pop();
            continue;
        };
        let component = item
            .as_object()
            .ok_or("a CycloneDX component is not a JSON object")?;
        if components.len() == MAX_SBOM_COMPONENTS {
            return Err(too_many());
        }
        let licenses: Vec<&str> = component
            .get("licenses")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .take(MAX_COMPONENT_LICENSES)
                    .filter_map(|choice| {
                        choice
                            .pointer("/license/id")
                            .and_then(Value::as_str)
                            .or_else(|| choice.pointer("/license/name").and_then(Value::as_str))
                            .or_else(|| choice.get("expression").and_then(Value::as_str))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let license = (!licenses.is_empty()).then(|| licenses.join(", "));
        components.push(SbomComponent {
            name: string_at(item, "name").unwrap_or_default(),
            version: string_at(item, "version"),
            purl: string_at(item, "purl"),
            license,
        });
        let children = cyclonedx_children(component)?;
        if !children.is_empty() {
            stack.push(children.iter());
        }
    }
    let mut summary = SbomSummary::of(format!("CycloneDX {version}"), components);
    summary.serial = doc
        .get("serialNumber")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let metadata = doc.get("metadata");
    summary.created = metadata.and_then(|m| string_at(m, "timestamp"));
    summary.tools = match metadata.and_then(|m| m.get("tools")) {
        Some(Value::Array(tools)) => tools.iter().filter_map(cyclonedx_tool).collect(),
        Some(Value::Object(kinds)) => ["components", "services"]
            .iter()
            .filter_map(|k| kinds.get(*k).and_then(Value::as_array))
            .flatten()
            .filter_map(cyclonedx_tool)
            .collect(),
        _ => Vec::new(),
    };
    summary.tools.truncate(MAX_SBOM_TOOLS);
    Ok(summary)
}

/// One CycloneDX tool as [`tool_line`] writes it.
fn cyclonedx_tool(tool: &Value) -> Option<String> {
    let field = |key: &str| tool.get(key).and_then(Value::as_str);
    tool_line(
        field("vendor").or_else(|| field("group")),
        field("name"),
        field("version"),
    )
}

fn spdx(version: &str, doc: &Map<String, Value>) -> Result<SbomSummary, String> {
    let packages: &[Value] = match doc.get("packages") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(list)) => list,
        Some(_) => return Err("SPDX packages is not an array".to_owned()),
    };
    if packages.len() > MAX_SBOM_COMPONENTS {
        return Err(too_many());
    }
    let license = |p: &Value, key: &str| spdx_license(string_at(p, key));
    let components = packages
        .iter()
        .map(|p| {
            if !p.is_object() {
                return Err("an SPDX package is not a JSON object".to_owned());
            }
            let purl = p
                .get("externalRefs")
                .and_then(Value::as_array)
                .and_then(|refs| {
                    refs.iter().find_map(|r| {
                        (r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                            .then(|| string_at(r, "referenceLocator"))
                            .flatten()
                    })
                });
            Ok(SbomComponent {
                name: string_at(p, "name").unwrap_or_default(),
                version: string_at(p, "versionInfo"),
                purl,
                license: license(p, "licenseConcluded").or_else(|| license(p, "licenseDeclared")),
            })
        })
        .collect::<Result<_, _>>()?;
    let mut summary = SbomSummary::of(version.to_owned(), components);
    summary.serial = doc
        .get("documentNamespace")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let creation = doc.get("creationInfo");
    summary.created = creation.and_then(|c| string_at(c, "created"));
    summary.tools = creation
        .and_then(|c| c.get("creators"))
        .and_then(Value::as_array)
        .map(|creators| {
            creators
                .iter()
                .filter_map(Value::as_str)
                .filter_map(spdx_tool)
                .take(MAX_SBOM_TOOLS)
                .collect()
        })
        .unwrap_or_default();
    Ok(summary)
}

/// Checks an artifact's SBOMs (as read, unreadable ones included) against the requirement.
///
/// Unreadable SBOMs count as absent; the caller reports their errors as evidence problems.
/// With several SBOMs, the one listing the most components is judged.
pub fn evaluate_sbom(req: &SbomRequirement, sboms: &[Result<SbomSummary, String>]) -> Vec<String> {
    let Some(most) = sboms
        .iter()
        .filter_map(|s| s.as_ref().ok())
        .map(|s| s.component_count)
        .max()
    else {
        return if req.required {
            vec!["no SBOM".to_owned()]
        } else {
            Vec::new()
        };
    };
    if most < req.min_components {
        return vec![format!(
            "SBOM has {most} components, at least {} required",
            req.min_components
        )];
    }
    Vec::new()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sbom::read_sbom as inspect_sbom;

    fn component(name: &str) -> SbomComponent {
        SbomComponent {
            name: name.to_owned(),
            version: None,
            purl: None,
            license: None,
        }
    }

    #[test]
    fn cyclonedx_components_are_read_depth_first_with_licenses() {
        let bom = json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "metadata": { "component": { "name": "the artifact itself" } },
            "components": [
                {
                    "name": "top", "version": "1.0", "purl": "pkg:npm/top@1.0",
                    "licenses": [ { "license": { "id": "MIT" } } ],
                    "components": [
                        {
                            "name": "child",
                            "licenses": [ { "license": { "name": "Custom" } } ],
                            "components": [ { "name": "grandchild", "licenses": [ { "expression": "Apache-2.0 OR MIT" } ] } ]
                        },
                        { "name": "sibling" }
                    ]
                },
                { "name": "last", "components": [] }
            ]
        });
        let summary = inspect_sbom(bom.to_string().as_bytes()).unwrap();
        assert_eq!(summary.format, "CycloneDX 1.5");
        assert_eq!(
            summary.components,
            vec![
                SbomComponent {
                    name: "top".to_owned(),
                    version: Some("1.0".to_owned()),
                    purl: Some("pkg:npm/top@1.0".to_owned()),
                    license: Some("MIT".to_owned()),
                },
                SbomComponent {
                    license: Some("Custom".to_owned()),
                    ..component("child")
                },
                SbomComponent {
                    license: Some("Apache-2.0 OR MIT".to_owned()),
                    ..component("grandchild")
                },
                component("sibling"),
                component("last"),
            ]
        );
    }

    #[test]
    fn spdx_packages_give_purl_and_license() {
        let doc = json!({
            "spdxVersion": "SPDX-2.3",
            "SPDXID": "SPDXRef-DOCUMENT",
            "packages": [
                {
                    "name": "libfoo", "versionInfo": "2.1",
                    "licenseConcluded": "NOASSERTION", "licenseDeclared": "BSD-3-Clause",
                    "externalRefs": [
                        { "referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:foo" },
                        { "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:deb/libfoo@2.1" }
                    ]
                },
                { "name": "bar", "licenseConcluded": "MIT", "licenseDeclared": "GPL-2.0-only" },
                { "name": "baz", "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION" }
            ]
        });
        let summary = inspect_sbom(doc.to_string().as_bytes()).unwrap();
        assert_eq!(summary.format, "SPDX-2.3");
        assert_eq!(
            summary.components,
            vec![
                SbomComponent {
                    name: "libfoo".to_owned(),
                    version: Some("2.1".to_owned()),
                    purl: Some("pkg:deb/libfoo@2.1".to_owned()),
                    license: Some("BSD-3-Clause".to_owned()),
                },
                SbomComponent {
                    license: Some("MIT".to_owned()),
                    ..component("bar")
                },
                component("baz"),
            ]
        );
    }

    /// Both readers (the streaming one for files, the JSON one for attestation predicates)
    /// on `doc`, which must agree.
    fn both(doc: &Value) -> SbomSummary {
        let streamed = inspect_sbom(doc.to_string().as_bytes()).unwrap();
        assert_eq!(inspect_sbom_value(doc).unwrap(), streamed);
        streamed
    }

    #[test]
    fn cyclonedx_1_4_tools_serial_and_timestamp_are_read() {
        let bom = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.4",
            "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
            "metadata": {
                "timestamp": "2024-05-01T10:00:00Z",
                "tools": [
                    { "vendor": "anchore", "name": "syft", "version": "0.98.0" },
                    { "name": "cyclonedx-gomod" },
                    { "hashes": [] },
                    "not a tool"
                ]
            },
            "components": [ {
                "name": "zlib", "version": "1.3.1", "purl": "pkg:generic/zlib@1.3.1",
                "licenses": [
                    { "license": { "id": "Zlib" } },
                    { "license": { "name": "Custom Licence" } },
                    { "expression": "MIT OR Apache-2.0" },
                    { "other": 1 }
                ]
            } ]
        });
        let summary = both(&bom);
        assert_eq!(summary.format, "CycloneDX 1.4");
        assert_eq!(summary.tools, ["anchore syft 0.98.0", "cyclonedx-gomod"]);
        assert_eq!(
            summary.serial.as_deref(),
            Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79")
        );
        assert_eq!(summary.created.as_deref(), Some("2024-05-01T10:00:00Z"));
        assert_eq!(
            summary.components[0].license.as_deref(),
            Some("Zlib, Custom Licence, MIT OR Apache-2.0")
        );
    }

    #[test]
    fn cyclonedx_1_5_tools_as_components_and_services_are_read() {
        let bom = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6",
            "metadata": {
                "tools": {
                    "components": [ { "type": "application", "group": "@cyclonedx", "name": "cdxgen", "version": "10.2.1" } ],
                    "services": [ { "name": "sbom-service" } ]
                }
            }
        });
        let summary = both(&bom);
        assert_eq!(summary.tools, ["@cyclonedx cdxgen 10.2.1", "sbom-service"]);
        // Whatever the key order: the components' tools first, a vendor before a group, and
        // CycloneDX's metadata read by its own keys, not SPDX's.
        let reordered: Value = serde_json::from_str(
            r#"{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"created":"no",
                "tools":{"services":[{"name":"s"}],"components":[{"group":"g","vendor":"v","name":"c"}]}}}"#,
        )
        .unwrap();
        let again = both(&reordered);
        assert_eq!(
            (again.tools, again.created),
            (vec!["v c".to_owned(), "s".to_owned()], None)
        );
        assert_eq!((summary.serial, summary.created), (None, None));
        let many: Vec<Value> = (0..40)
            .map(|i| json!({ "name": format!("t{i}") }))
            .collect();
        let capped = both(&json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": { "tools": many }
        }));
        assert_eq!(capped.tools.len(), MAX_SBOM_TOOLS);
        assert_eq!(capped.tools[MAX_SBOM_TOOLS - 1], "t15");
    }

    #[test]
    fn spdx_creators_namespace_and_created_are_read_and_none_is_kept() {
        let doc = json!({
            "spdxVersion": "SPDX-2.3",
            "documentNamespace": "https://anchore.com/syft/image/alpine-3.19-5f2c",
            "creationInfo": {
                "created": "2024-02-03T04:05:06Z",
                "creators": [ "Organization: Anchore, Inc", "Tool: syft-0.104.0", "Person: A", "Tool:   ", 7 ]
            },
            "packages": [
                { "name": "zlib", "versionInfo": "1.3.1", "licenseConcluded": "NONE", "licenseDeclared": "Zlib" },
                { "name": "musl", "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION" }
            ]
        });
        let summary = both(&doc);
        assert_eq!(summary.tools, ["syft-0.104.0"]);
        assert_eq!(
            summary.serial.as_deref(),
            Some("https://anchore.com/syft/image/alpine-3.19-5f2c")
        );
        assert_eq!(summary.created.as_deref(), Some("2024-02-03T04:05:06Z"));
        assert_eq!(summary.components[0].license.as_deref(), Some("NONE"));
        assert_eq!(summary.components[1].license, None);
    }

    #[test]
    fn sbom_metadata_of_the_wrong_shape_is_skipped() {
        for metadata in [
            json!(null),
            json!([1]),
            json!("x"),
            json!({ "tools": 3, "timestamp": {} }),
        ] {
            let summary = both(&json!({
                "bomFormat": "CycloneDX", "specVersion": "1.5",
                "metadata": metadata, "serialNumber": 12
            }));
            assert_eq!(
                (summary.tools.len(), summary.serial, summary.created),
                (0, None, None)
            );
        }
        let spdx = both(&json!({
            "spdxVersion": "SPDX-2.3", "creationInfo": { "creators": "Tool: x" }, "documentNamespace": []
        }));
        assert_eq!((spdx.tools.len(), spdx.serial), (0, None));
    }

    #[test]
    fn a_summary_stored_before_tools_serial_and_created_still_reads() {
        let stored = r#"{"format":"CycloneDX 1.5","components":[{"name":"a","version":null,"purl":null,"license":null}],"component_count":1}"#;
        let summary: SbomSummary = serde_json::from_str(stored).unwrap();
        assert_eq!(
            summary,
            SbomSummary::of("CycloneDX 1.5".to_owned(), vec![component("a")])
        );
    }

    #[test]
    fn sbom_attestation_predicates_and_statements_are_read() {
        let bom = json!({ "bomFormat": "CycloneDX", "specVersion": "1.6", "components": [ { "name": "a" } ] });
        assert_eq!(
            inspect_sbom_value(&bom).unwrap().components,
            [component("a")]
        );
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [],
            "predicateType": SPDX_PREDICATE_TYPE,
            "predicate": { "spdxVersion": "SPDX-2.2", "packages": [ { "name": "p" } ] }
        });
        let summary = inspect_sbom_value(&statement).unwrap();
        assert_eq!(summary.format, "SPDX-2.2");
        assert_eq!(summary.components, [component("p")]);
    }

    #[test]
    fn unreadable_sboms_say_why_in_one_line() {
        let not_json = inspect_sbom(&b"{ nope"[..]).unwrap_err();
        assert!(not_json.starts_with("not JSON: "), "{not_json}");
        assert!(!not_json.contains('\n'));
        for neither in [
            json!({ "bomFormat": "Other" }),
            json!([1, 2]),
            json!({ "packages": [] }),
        ] {
            assert_eq!(
                inspect_sbom(neither.to_string().as_bytes()).unwrap_err(),
                "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON"
            );
        }
        assert_eq!(
            inspect_sbom_value(
                &json!({ "bomFormat": "CycloneDX", "specVersion": "1.5", "components": {} })
            )
            .unwrap_err(),
            "CycloneDX components is not an array"
        );
        assert_eq!(
            inspect_sbom_value(
                &json!({ "bomFormat": "CycloneDX", "specVersion": "1.5", "components": [1] })
            )
            .unwrap_err(),
            "a CycloneDX component is not a JSON object"
        );
        assert_eq!(
            inspect_sbom_value(&json!({ "bomFormat": "CycloneDX" })).unwrap_err(),
            "CycloneDX BOM has no specVersion"
        );
        assert_eq!(
            inspect_sbom_value(&json!({ "spdxVersion": "SPDX-2.3", "packages": "x" })).unwrap_err(),
            "SPDX packages is not an array"
        );
    }

    #[test]
    fn components_are_capped() {
        let many = |n: usize| -> Vec<Value> { (0..n).map(|_| json!({ "name": "c" })).collect() };
        let at_cap = json!({ "bomFormat": "CycloneDX", "specVersion": "1.5", "components": many(MAX_SBOM_COMPONENTS) });
        let kept = inspect_sbom_value(&at_cap).unwrap();
        assert_eq!(
            (kept.component_count, kept.components.len()),
            (MAX_SBOM_COMPONENTS, MAX_SBOM_KEPT)
        );
        let over = "SBOM lists more than 100000 components";
        let flat = json!({ "bomFormat": "CycloneDX", "specVersion": "1.5", "components": many(MAX_SBOM_COMPONENTS + 1) });
        assert_eq!(inspect_sbom_value(&flat).unwrap_err(), over);
        let nested = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5",
            "components": [ { "name": "parent", "components": many(MAX_SBOM_COMPONENTS) } ]
        });
        assert_eq!(inspect_sbom_value(&nested).unwrap_err(), over);
        let packages: Vec<Value> = (0..=MAX_SBOM_COMPONENTS)
            .map(|_| json!({ "name": "p" }))
            .collect();
        let spdx = json!({ "spdxVersion": "SPDX-2.3", "packages": packages });
        assert_eq!(inspect_sbom_value(&spdx).unwrap_err(), over);
    }

    #[test]
    fn nesting_up_to_the_json_depth_limit_is_read() {
        // serde_json refuses input nested deeper than 128, which bounds what reaches the walk.
        let depth = 60;
        let mut text =
            String::from(r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["#);
        for _ in 0..depth {
            text.push_str(r#"{"name":"n","components":["#);
        }
        text.push_str(r#"{"name":"leaf"}"#);
        text.push_str(&"]}".repeat(depth + 1));
        let summary = inspect_sbom(text.as_bytes()).unwrap();
        assert_eq!(summary.components.len(), depth + 1);
        assert_eq!(summary.components[depth], component("leaf"));
    }

    #[test]
    fn sbom_requirements() {
        let three = Ok(SbomSummary::of(
            "CycloneDX 1.5".to_owned(),
            vec![component("a"), component("b"), component("c")],
        ));
        let one = Ok(SbomSummary::of("SPDX-2.3".to_owned(), vec![component("a")]));
        let broken: Result<SbomSummary, String> = Err("not JSON: eof".to_owned());
        let required = SbomRequirement {
            required: true,
            min_components: 0,
        };
        assert_eq!(evaluate_sbom(&required, &[]), ["no SBOM"]);
        assert_eq!(
            evaluate_sbom(&required, std::slice::from_ref(&broken)),
            ["no SBOM"]
        );
        assert_eq!(
            evaluate_sbom(&required, &[broken.clone(), one.clone()]),
            Vec::<String>::new()
        );
        assert_eq!(
            evaluate_sbom(&SbomRequirement::default(), std::slice::from_ref(&broken)),
            Vec::<String>::new()
        );
        let four = SbomRequirement {
            required: true,
            min_components: 4,
        };
        assert_eq!(
            evaluate_sbom(&four, &[one.clone(), three.clone()]),
            ["SBOM has 3 components, at least 4 required"]
        );
        let two = SbomRequirement {
            required: false,
            min_components: 2,
        };
        assert_eq!(
            evaluate_sbom(&two, std::slice::from_ref(&one)),
            ["SBOM has 1 components, at least 2 required"]
        );
        assert_eq!(evaluate_sbom(&two, &[one, three]), Vec::<String>::new());
        assert_eq!(evaluate_sbom(&two, &[broken]), Vec::<String>::new());
    }
}
