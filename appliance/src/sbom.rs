//! Reading SBOM files (CycloneDX and SPDX JSON) in one streaming pass with every cap enforced
//! while parsing: no whole document, no `serde_json::Value`, at most [`MAX_SBOM_COMPONENTS`]
//! components counted, [`MAX_SBOM_KEPT`] kept, [`MAX_SBOM_STRING`] bytes in any one JSON
//! string (read or skipped) and [`MAX_SBOM_TEXT`] bytes of kept component text, whatever the
//! file's size. Unknown fields
//! are skipped with `IgnoredAny`, which serde_json does without buffering them.
//!
//! The answers are those of [`crate::policy::inspect_sbom_value`] on the same document, as
//! one-line reasons.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::policy::{
    CYCLONEDX_PREDICATE_TYPE, MAX_COMPONENT_LICENSES, MAX_SBOM_COMPONENTS, MAX_SBOM_KEPT,
    MAX_SBOM_TOOLS, SPDX_PREDICATE_TYPE, SbomComponent, SbomSummary, spdx_license, spdx_tool,
    tool_line,
};

/// The longest JSON string (key or value, read or skipped) an SBOM file may hold.
pub const MAX_SBOM_STRING: usize = 64 << 10;

/// The most bytes of component text (names, versions, purls, licenses) kept from one SBOM.
pub const MAX_SBOM_TEXT: usize = 4 << 20;

const NEITHER: &str = "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON";

fn too_many() -> String {
    format!("SBOM lists more than {MAX_SBOM_COMPONENTS} components")
}

/// Reads a CycloneDX or SPDX JSON SBOM (or an in-toto statement carrying one as its
/// predicate) from `reader`, buffered, in one pass. Errors are one line.
pub fn read_sbom(reader: impl Read) -> Result<SbomSummary, String> {
    let long_string = Rc::new(Cell::new(false));
    let capped = StringCap {
        inner: BufReader::with_capacity(64 << 10, reader),
        in_string: false,
        escaped: false,
        length: 0,
        tripped: long_string.clone(),
    };
    let ctx = Ctx::default();
    let mut de = serde_json::Deserializer::from_reader(capped);
    let parsed = DocSeed { ctx: &ctx }
        .deserialize(&mut de)
        .and_then(|doc| de.end().map(|()| doc));
    let doc = match parsed {
        Ok(doc) => doc,
        Err(_) if long_string.get() => {
            return Err(format!(
                "SBOM holds a JSON string longer than {MAX_SBOM_STRING} bytes"
            ));
        }
        Err(e) => {
            return Err(match ctx.fatal.take() {
                Some(reason) => reason,
                None => format!("not JSON: {e}"),
            });
        }
    };
    let Some(doc) = doc else {
        return Err(NEITHER.to_owned());
    };
    let doc = match (doc.predicate_type.as_deref(), doc.predicate) {
        (Some(CYCLONEDX_PREDICATE_TYPE | SPDX_PREDICATE_TYPE), Some(predicate)) => match *predicate
        {
            Some(p) => p,
            None => return Err(NEITHER.to_owned()),
        },
        (_, _) => Doc {
            predicate_type: None,
            predicate: None,
            ..doc
        },
    };
    if doc.bom_format.as_deref() == Some("CycloneDX") {
        let version = doc.spec_version.ok_or("CycloneDX BOM has no specVersion")?;
        let components = doc.components.unwrap_or(Ok(Vec::new()))?;
        let metadata = doc.metadata.unwrap_or_default();
        return Ok(SbomSummary {
            format: format!("CycloneDX {version}"),
            components,
            component_count: doc.component_count,
            tools: metadata.tools,
            serial: doc.serial_number,
            created: metadata.created,
        });
    }
    if let Some(version) = doc.spdx_version {
        let creation = doc.creation_info.unwrap_or_default();
        return Ok(SbomSummary {
            format: version,
            components: doc.packages.unwrap_or(Ok(Vec::new()))?,
            component_count: doc.package_count,
            tools: creation.tools,
            serial: doc.document_namespace,
            created: creation.created,
        });
    }
    Err(NEITHER.to_owned())
}

/// A reader that fails once any JSON string in the stream grows past [`MAX_SBOM_STRING`]
/// bytes, before the parser buffers it.
struct StringCap<R> {
    inner: R,
    in_string: bool,
    escaped: bool,
    length: usize,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for StringCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if !self.in_string {
                if b == b'"' {
                    self.in_string = true;
                    self.length = 0;
                }
                continue;
            }
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
                continue;
            }
            self.length += 1;
            if self.length > MAX_SBOM_STRING {
                self.tripped.set(true);
                return Err(io::Error::other("a JSON string is too long"));
            }
        }
        Ok(n)
    }
}

/// What one parse shares: the counts and the budget, and the reason a cap stopped it.
#[derive(Default)]
struct Ctx {
    components: Cell<usize>,
    packages: Cell<usize>,
    text: Cell<usize>,
    fatal: Cell<Option<String>>,
}

impl Ctx {
    /// Stops the parse with `reason` (reported instead of serde's error).
    fn stop<E: de::Error>(&self, reason: String) -> E {
        self.fatal.set(Some(reason));
        E::custom("stopped")
    }

    fn count<E: de::Error>(&self, counter: &Cell<usize>) -> Result<(), E> {
        if counter.get() == MAX_SBOM_COMPONENTS {
            return Err(self.stop(too_many()));
        }
        counter.set(counter.get() + 1);
        Ok(())
    }

    /// Charges kept text against [`MAX_SBOM_TEXT`].
    fn keep<E: de::Error>(&self, s: Option<String>) -> Result<Option<String>, E> {
        if let Some(s) = &s {
            let total = self.text.get().saturating_add(s.len());
            if total > MAX_SBOM_TEXT {
                return Err(self.stop(format!("SBOM component text exceeds {MAX_SBOM_TEXT} bytes")));
            }
            self.text.set(total);
        }
        Ok(s)
    }
}

/// The fields of a document either format needs, each as found.
struct Doc {
    bom_format: Option<String>,
    spec_version: Option<String>,
    spdx_version: Option<String>,
    components: Option<Result<Vec<SbomComponent>, String>>,
    packages: Option<Result<Vec<SbomComponent>, String>>,
    predicate_type: Option<String>,
    predicate: Option<Box<Option<Doc>>>,
    serial_number: Option<String>,
    document_namespace: Option<String>,
    metadata: Option<Meta>,
    creation_info: Option<Meta>,
    /// How many components its own `components` listed (nested ones included); those of
    /// a `predicate` beside them are the predicate's.
    component_count: usize,
    /// How many packages its own `packages` listed.
    package_count: usize,
}

/// CycloneDX `metadata` or SPDX `creationInfo`: the tools and the creation time.
#[derive(Default)]
struct Meta {
    tools: Vec<String>,
    created: Option<String>,
}

/// A document: an object (`Some`), or anything else (`None`, skipped).
struct DocSeed<'a> {
    ctx: &'a Ctx,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = Option<Doc>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Skips whatever value is not what was expected; `visit_map`/`visit_seq` are written by the
/// visitors that expect them.
macro_rules! skip_scalars {
    ($value:expr, except_unit) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
    ($value:expr) => {
        skip_scalars!($value, except_unit);
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = Option<Doc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an SBOM document")
    }

    skip_scalars!(None);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut doc = Doc {
            bom_format: None,
            spec_version: None,
            spdx_version: None,
            components: None,
            packages: None,
            predicate_type: None,
            predicate: None,
            serial_number: None,
            document_namespace: None,
            metadata: None,
            creation_info: None,
            component_count: 0,
            package_count: 0,
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "bomFormat" => doc.bom_format = map.next_value_seed(AnyString)?,
                "specVersion" => doc.spec_version = map.next_value_seed(AnyString)?,
                "spdxVersion" => doc.spdx_version = map.next_value_seed(AnyString)?,
                "predicateType" => doc.predicate_type = map.next_value_seed(AnyString)?,
                "serialNumber" => {
                    doc.serial_number = self.ctx.keep(map.next_value_seed(AnyString)?)?;
                }
                "documentNamespace" => {
                    doc.document_namespace = self.ctx.keep(map.next_value_seed(AnyString)?)?;
                }
                "metadata" => {
                    doc.metadata = map.next_value_seed(MetaSeed {
                        ctx: self.ctx,
                        spdx: false,
                    })?;
                }
                "creationInfo" => {
                    doc.creation_info = map.next_value_seed(MetaSeed {
                        ctx: self.ctx,
                        spdx: true,
                    })?;
                }
                "components" => {
                    let mut out = Vec::new();
                    let before = self.ctx.components.get();
                    let shape = map.next_value_seed(Components {
                        ctx: self.ctx,
                        out: &mut out,
                    })?;
                    doc.components = Some(shape.map(|()| out));
                    doc.component_count = self.ctx.components.get() - before;
                }
                "packages" => {
                    let before = self.ctx.packages.get();
                    doc.packages = Some(map.next_value_seed(Packages { ctx: self.ctx })?);
                    doc.package_count = self.ctx.packages.get() - before;
                }
                "predicate" => {
                    doc.predicate = Some(Box::new(map.next_value_seed(DocSeed { ctx: self.ctx })?));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(doc))
    }
}

/// CycloneDX `metadata` (`tools`, `timestamp`) or, when `spdx`, SPDX `creationInfo`
/// (`creators`, `created`); `None` for anything but an object.
struct MetaSeed<'a> {
    ctx: &'a Ctx,
    spdx: bool,
}

impl<'de> DeserializeSeed<'de> for MetaSeed<'_> {
    type Value = Option<Meta>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetaSeed<'_> {
    type Value = Option<Meta>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SBOM metadata")
    }

    skip_scalars!(None);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut meta = Meta::default();
        let (created, tools) = if self.spdx {
            ("created", "creators")
        } else {
            ("timestamp", "tools")
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                k if k == created => {
                    meta.created = self.ctx.keep(map.next_value_seed(AnyString)?)?;
                }
                k if k == tools && self.spdx => {
                    meta.tools.clear();
                    map.next_value_seed(Creators {
                        ctx: self.ctx,
                        out: &mut meta.tools,
                    })?;
                }
                k if k == tools => {
                    meta.tools.clear();
                    map.next_value_seed(Tools {
                        ctx: self.ctx,
                        out: &mut meta.tools,
                        object_form: true,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(meta))
    }
}

/// CycloneDX `metadata.tools`: the 1.4 array of tools, or (when `object_form`) the 1.5+
/// object whose `components` and `services` are such arrays. Each tool is appended to `out`
/// as [`tool_line`] writes it, up to [`MAX_SBOM_TOOLS`].
struct Tools<'a> {
    ctx: &'a Ctx,
    out: &'a mut Vec<String>,
    object_form: bool,
}

impl<'de> DeserializeSeed<'de> for Tools<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tools<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CycloneDX tools")
    }

    skip_scalars!(());

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while let Some(tool) = seq.next_element_seed(Tool {
            keep: self.out.len() < MAX_SBOM_TOOLS,
        })? {
            if let Some(line) = self.ctx.keep(tool)? {
                self.out.push(line);
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // The components' tools come before the services', whatever the key order.
        let (mut components, mut services) = (Vec::new(), Vec::new());
        while let Some(key) = map.next_key::<String>()? {
            let out = match key.as_str() {
                "components" if self.object_form => &mut components,
                "services" if self.object_form => &mut services,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            out.clear();
            map.next_value_seed(Tools {
                ctx: self.ctx,
                out,
                object_form: false,
            })?;
        }
        self.out.extend(components.into_iter().chain(services));
        self.out.truncate(MAX_SBOM_TOOLS);
        Ok(())
    }
}

/// One CycloneDX tool, component or service: its line if it is kept and names anything.
struct Tool {
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for Tool {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tool {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CycloneDX tool")
    }

    skip_scalars!(None);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if !self.keep {
            return drain_map(map).map(|()| None);
        }
        let (mut vendor, mut group, mut name, mut version) = (None, None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "vendor" => vendor = map.next_value_seed(AnyString)?,
                "group" => group = map.next_value_seed(AnyString)?,
                "name" => name = map.next_value_seed(AnyString)?,
                "version" => version = map.next_value_seed(AnyString)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(tool_line(
            vendor.or(group).as_deref(),
            name.as_deref(),
            version.as_deref(),
        ))
    }
}

/// SPDX `creationInfo.creators`: each `Tool: …` appended to `out`, up to
/// [`MAX_SBOM_TOOLS`] (people and organisations are left out).
struct Creators<'a> {
    ctx: &'a Ctx,
    out: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Creators<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Creators<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SPDX creators")
    }

    skip_scalars!(());

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while let Some(creator) = seq.next_element_seed(AnyString)? {
            if self.out.len() < MAX_SBOM_TOOLS
                && let Some(tool) = self.ctx.keep(creator.as_deref().and_then(spdx_tool))?
            {
                self.out.push(tool);
            }
        }
        Ok(())
    }
}

/// A string, or `None` for any other value (skipped).
struct AnyString;

impl<'de> DeserializeSeed<'de> for AnyString {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnyString {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(s.to_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }
}

/// CycloneDX `components` (at any depth): appended to `out` depth first, each before its
/// children. `Err` is the shape problem the document has, if it is CycloneDX.
struct Components<'a> {
    ctx: &'a Ctx,
    out: &'a mut Vec<SbomComponent>,
}

impl<'de> DeserializeSeed<'de> for Components<'_> {
    type Value = Result<(), String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Components<'_> {
    type Value = Result<(), String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CycloneDX components")
    }

    skip_scalars!(
        Err("CycloneDX components is not an array".to_owned()),
        except_unit
    );

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| Err("CycloneDX components is not an array".to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Self { ctx, out } = self;
        let mut shape = Ok(());
        while let Some(one) = seq.next_element_seed(Component {
            ctx,
            out: &mut *out,
        })? {
            if shape.is_ok() {
                shape = one;
            }
        }
        Ok(shape)
    }
}

/// One CycloneDX component.
struct Component<'a> {
    ctx: &'a Ctx,
    out: &'a mut Vec<SbomComponent>,
}

impl<'de> DeserializeSeed<'de> for Component<'_> {
    type Value = Result<(), String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Component<'_> {
    type Value = Result<(), String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CycloneDX component")
    }

    skip_scalars!(Err("a CycloneDX component is not a JSON object".to_owned()));

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| Err("a CycloneDX component is not a JSON object".to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.ctx.count(&self.ctx.components)?;
        // The component's place comes before its children's, whatever the key order; past
        // the first MAX_SBOM_KEPT, components are counted, not kept.
        let keep = self.out.len() < MAX_SBOM_KEPT;
        let at = self.out.len();
        if keep {
            self.out.push(SbomComponent {
                name: String::new(),
                version: None,
                purl: None,
                license: None,
            });
        }
        let (mut name, mut version, mut purl, mut license) = (None, None, None, None);
        let mut shape = Ok(());
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" | "version" | "purl" | "licenses" if !keep => {
                    map.next_value::<IgnoredAny>()?;
                }
                "name" => name = self.ctx.keep(map.next_value_seed(AnyString)?)?,
                "version" => version = self.ctx.keep(map.next_value_seed(AnyString)?)?,
                "purl" => purl = self.ctx.keep(map.next_value_seed(AnyString)?)?,
                "licenses" => license = self.ctx.keep(map.next_value_seed(Licenses)?)?,
                "components" => {
                    let children = map.next_value_seed(Components {
                        ctx: self.ctx,
                        out: &mut *self.out,
                    })?;
                    if shape.is_ok() {
                        shape = children;
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if keep {
            self.out[at] = SbomComponent {
                name: name.unwrap_or_default(),
                version,
                purl,
                license,
            };
        }
        Ok(shape)
    }
}

/// A CycloneDX `licenses` list: each entry's license id or name, or its expression, in
/// order, joined with `, ` (of the first [`MAX_COMPONENT_LICENSES`] entries).
struct Licenses;

impl<'de> DeserializeSeed<'de> for Licenses {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Licenses {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CycloneDX licenses")
    }

    skip_scalars!(None);

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = Vec::new();
        for _ in 0..MAX_COMPONENT_LICENSES {
            match seq.next_element_seed(LicenseChoice)? {
                Some(one) => found.extend(one),
                None => break,
            }
        }
        drain_seq(seq)?;
        Ok((!found.is_empty()).then(|| found.join(", ")))
    }
}

/// `{"license": {"id"|"name": …}}` or `{"expression": …}`.
struct LicenseChoice;

impl<'de> DeserializeSeed<'de> for LicenseChoice {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LicenseChoice {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CycloneDX license choice")
    }

    skip_scalars!(None);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut license, mut expression) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "license" => license = map.next_value_seed(LicenseIdOrName)?,
                "expression" => expression = map.next_value_seed(AnyString)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(license.or(expression))
    }
}

/// A CycloneDX license's `id`, else its `name`.
struct LicenseIdOrName;

impl<'de> DeserializeSeed<'de> for LicenseIdOrName {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LicenseIdOrName {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CycloneDX license")
    }

    skip_scalars!(None);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut name) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => id = map.next_value_seed(AnyString)?,
                "name" => name = map.next_value_seed(AnyString)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(id.or(name))
    }
}

/// SPDX `packages`.
struct Packages<'a> {
    ctx: &'a Ctx,
}

impl<'de> DeserializeSeed<'de> for Packages<'_> {
    type Value = Result<Vec<SbomComponent>, String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Packages<'_> {
    type Value = Result<Vec<SbomComponent>, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SPDX packages")
    }

    skip_scalars!(Err("SPDX packages is not an array".to_owned()), except_unit);

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| Err("SPDX packages is not an array".to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        let mut shape = Ok(());
        while let Some(one) = seq.next_element_seed(Package { ctx: self.ctx })? {
            match one {
                Ok(p) if out.len() < MAX_SBOM_KEPT => out.push(p),
                Ok(_) => {}
                Err(e) if shape.is_ok() => shape = Err(e),
                Err(_) => {}
            }
        }
        Ok(shape.map(|()| out))
    }
}

/// One SPDX package.
struct Package<'a> {
    ctx: &'a Ctx,
}

impl<'de> DeserializeSeed<'de> for Package<'_> {
    type Value = Result<SbomComponent, String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Package<'_> {
    type Value = Result<SbomComponent, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an SPDX package")
    }

    skip_scalars!(Err("an SPDX package is not a JSON object".to_owned()));

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| Err("an SPDX package is not a JSON object".to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.ctx.count(&self.ctx.packages)?;
        let (mut name, mut version, mut purl, mut concluded, mut declared) =
            (None, None, None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = map.next_value_seed(AnyString)?,
                "versionInfo" => version = map.next_value_seed(AnyString)?,
                "licenseConcluded" => concluded = map.next_value_seed(AnyString)?,
                "licenseDeclared" => declared = map.next_value_seed(AnyString)?,
                "externalRefs" => purl = map.next_value_seed(PurlRef)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Ok(SbomComponent {
            name: self.ctx.keep(name)?.unwrap_or_default(),
            version: self.ctx.keep(version)?,
            purl: self.ctx.keep(purl)?,
            license: self
                .ctx
                .keep(spdx_license(concluded).or_else(|| spdx_license(declared)))?,
        }))
    }
}

/// The first `referenceLocator` of an SPDX `externalRefs` entry whose type is `purl`.
struct PurlRef;

impl<'de> DeserializeSeed<'de> for PurlRef {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PurlRef {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SPDX externalRefs")
    }

    skip_scalars!(None);

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(one) = seq.next_element_seed(ExternalRef)? {
            if found.is_none() {
                found = one;
            }
        }
        Ok(found)
    }
}

/// One SPDX external reference: its locator if its type is `purl`.
struct ExternalRef;

impl<'de> DeserializeSeed<'de> for ExternalRef {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ExternalRef {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an SPDX external reference")
    }

    skip_scalars!(None);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut kind, mut locator) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "referenceType" => kind = map.next_value_seed(AnyString)?,
                "referenceLocator" => locator = map.next_value_seed(AnyString)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(locator.filter(|_| kind.as_deref() == Some("purl")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write as _;

    use super::*;

    /// `n` CycloneDX components, each with `pad` bytes of an unknown field.
    fn cyclonedx(n: usize, pad: usize) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(br#"{"components":["#);
        let filler = "x".repeat(pad);
        for i in 0..n {
            if i > 0 {
                out.push(b',');
            }
            write!(out, r#"{{"name":"c{i}","description":"{filler}"}}"#).unwrap();
        }
        out.extend_from_slice(br#"],"specVersion":"1.5","bomFormat":"CycloneDX"}"#);
        out
    }

    #[test]
    fn format_keys_may_come_after_the_components() {
        let summary = read_sbom(&cyclonedx(3, 10)[..]).unwrap();
        assert_eq!(summary.format, "CycloneDX 1.5");
        assert_eq!(summary.components.len(), 3);
        assert_eq!(summary.components[2].name, "c2");
    }

    #[test]
    fn every_component_is_counted_and_the_first_ten_thousand_kept() {
        let summary = read_sbom(&cyclonedx(MAX_SBOM_KEPT + 5, 3)[..]).unwrap();
        assert_eq!(summary.component_count, MAX_SBOM_KEPT + 5);
        assert_eq!(summary.components.len(), MAX_SBOM_KEPT);
        assert_eq!(summary.components[MAX_SBOM_KEPT - 1].name, "c9999");
    }

    #[test]
    fn more_components_than_the_cap_stop_the_parse_with_the_reason() {
        assert_eq!(
            read_sbom(&cyclonedx(MAX_SBOM_COMPONENTS + 1, 0)[..]).unwrap_err(),
            "SBOM lists more than 100000 components"
        );
    }

    #[test]
    fn a_string_longer_than_the_cap_is_refused_even_where_it_is_skipped() {
        let at_cap = cyclonedx(1, MAX_SBOM_STRING);
        assert_eq!(read_sbom(&at_cap[..]).unwrap().components.len(), 1);
        let over = cyclonedx(1, MAX_SBOM_STRING + 1);
        assert_eq!(
            read_sbom(&over[..]).unwrap_err(),
            "SBOM holds a JSON string longer than 65536 bytes"
        );
        // Escapes count as what they stand for; an escaped quote does not end the string.
        let escaped = format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","x":"{}"}}"#,
            "\\\"".repeat(MAX_SBOM_STRING / 2)
        );
        assert!(read_sbom(escaped.as_bytes()).is_ok());
    }

    #[test]
    fn kept_text_is_budgeted() {
        let name = "n".repeat(60_000);
        let mut doc = String::from(r#"{"spdxVersion":"SPDX-2.3","packages":["#);
        let n = MAX_SBOM_TEXT / name.len() + 1;
        for i in 0..n {
            if i > 0 {
                doc.push(',');
            }
            doc.push_str(&format!(r#"{{"name":"{name}"}}"#));
        }
        doc.push_str("]}");
        assert_eq!(
            read_sbom(doc.as_bytes()).unwrap_err(),
            "SBOM component text exceeds 4194304 bytes"
        );
    }

    #[test]
    fn only_the_document_read_counts_its_components() {
        // Components of a predicate nobody reads (no predicate type) do not count for the
        // document, nor those beside the predicate that is read.
        let beside = br#"{"bomFormat":"CycloneDX","specVersion":"1.5",
            "predicate":{"components":[{"name":"a"},{"name":"b"}]}}"#;
        let summary = read_sbom(&beside[..]).unwrap();
        assert_eq!((summary.component_count, summary.components.len()), (0, 0));
        let statement = br#"{"components":[{"name":"x"}],"packages":[{"name":"y"}],
            "predicateType":"https://spdx.dev/Document",
            "predicate":{"spdxVersion":"SPDX-2.3","packages":[{"name":"p"}]}}"#;
        let summary = read_sbom(&statement[..]).unwrap();
        assert_eq!((summary.component_count, summary.components.len()), (1, 1));
    }

    #[test]
    fn trailing_bytes_and_broken_json_are_not_json() {
        let e = read_sbom(&br#"{"bomFormat":"CycloneDX","specVersion":"1.5"} x"#[..]).unwrap_err();
        assert!(e.starts_with("not JSON: trailing characters"), "{e}");
        let e = read_sbom(&b"{ nope"[..]).unwrap_err();
        assert!(e.starts_with("not JSON: "), "{e}");
    }
}
