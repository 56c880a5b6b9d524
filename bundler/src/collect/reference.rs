//! `ImageReference`: an image named in `bundle.toml` (`registry/repository@sha256:…` or
//! `registry/repository:tag`), parsed once into its parts.

use std::fmt;

use serde::Deserialize;

use crate::archive::Sha256Digest;

/// The registry a reference without one names (Docker Hub), and the host its API answers on.
const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The longest reference accepted (the distribution spec bounds names at 255 characters).
const MAX_REFERENCE: usize = 512;

/// What a reference pins: a digest, or a tag to resolve once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// `@sha256:…`: exactly this manifest or index (a tag written before it is kept only
    /// to be shown).
    Digest {
        /// The digest.
        digest: Sha256Digest,
        /// A tag written beside it (`repo:tag@sha256:…`), informational.
        tag: Option<String>,
    },
    /// `:tag` (or no tag: `latest`), resolved to a digest once.
    Tag(String),
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ImageReference {
    /// The registry as written (`127.0.0.1:5000`, `ghcr.io`, `docker.io`).
    registry: String,
    /// The repository path (`team/app`; `library/alpine` on Docker Hub).
    repository: String,
    /// The digest or tag.
    pin: Pin,
}

impl ImageReference {
    /// Parses `[registry/]repository[:tag][@sha256:<hex>]`. A first component with a `.` or
    /// `:`, or `localhost`, is the registry; otherwise the registry is Docker Hub.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("image {text:?}: {why}");
        if text.is_empty() || text.len() > MAX_REFERENCE {
            return Err(bad("must be 1 to 512 characters"));
        }
        if text.contains("://") {
            return Err(bad(
                "write the image without a scheme (registry/repository@sha256:…)",
            ));
        }
        let (name_and_tag, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let digest = digest
                    .parse::<Sha256Digest>()
                    .map_err(|_| bad("the digest must be sha256: and 64 lowercase hex digits"))?;
                (rest, Some(digest))
            }
            None => (text, None),
        };
        // A tag is what follows the last ':' after the last '/' (a registry port precedes it).
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&name_and_tag[..at], Some(&name_and_tag[at + 1..]))
            }
            None => (name_and_tag, None),
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(bad(&format!(
                "tag {tag:?} is not 1 to 128 of A-Z a-z 0-9 _ . - (not starting with . or -)"
            )));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        if !valid_host(&registry) {
            return Err(bad(&format!("registry {registry:?} is not a host[:port]")));
        }
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if !valid_repository(&repository) {
            return Err(bad(&format!(
                "repository {repository:?} is not lowercase path components of a-z 0-9 separated by . _ __ or -"
            )));
        }
        let pin = match (digest, tag) {
            (Some(digest), tag) => Pin::Digest {
                digest,
                tag: tag.map(str::to_owned),
            },
            (None, Some(tag)) => Pin::Tag(tag.to_owned()),
            (None, None) => Pin::Tag("latest".to_owned()),
        };
        Ok(Self {
            registry,
            repository,
            pin,
        })
    }

    /// The registry as written (the key for its credentials and its CA file).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host:port the registry's API answers on (Docker Hub's differs from its name).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// The repository path.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The digest or tag.
    pub fn pin(&self) -> &Pin {
        &self.pin
    }

    /// This repository at `digest`: `registry/repository@sha256:…`.
    pub fn at(&self, digest: &Sha256Digest) -> String {
        format!("{}/{}@{digest}", self.registry, self.repository)
    }
}

impl TryFrom<String> for ImageReference {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        match &self.pin {
            Pin::Digest { digest, tag } => {
                if let Some(tag) = tag {
                    write!(f, ":{tag}")?;
                }
                write!(f, "@{digest}")
            }
            Pin::Tag(tag) => write!(f, ":{tag}"),
        }
    }
}

/// A mirror of a registry (`[[registry]] mirrors = […]`): `host[:port]`, optionally followed by
/// a path the origin's repositories live under on it (`mirror.example/prefix` serves
/// `origin/team/app` as `prefix/team/app`), as containers-registries.conf writes a mirror's
/// location. No scheme: mirrors are HTTPS, like every registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct MirrorLocation {
    host: String,
    prefix: Option<String>,
}

impl MirrorLocation {
    /// Parses `host[:port][/prefix]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("mirror {text:?}: {why}");
        if text.is_empty() || text.len() > MAX_REFERENCE {
            return Err(bad("must be 1 to 512 characters"));
        }
        if text.contains("://") {
            return Err(bad(
                "write the mirror without a scheme (host[:port][/prefix])",
            ));
        }
        let (host, prefix) = match text.split_once('/') {
            Some((host, prefix)) => (host, Some(prefix)),
            None => (text, None),
        };
        if !valid_host(host) {
            return Err(bad(&format!("{host:?} is not a host[:port]")));
        }
        if let Some(prefix) = prefix
            && !valid_repository(prefix)
        {
            return Err(bad(&format!(
                "prefix {prefix:?} is not lowercase path components of a-z 0-9 separated by . _ __ or -"
            )));
        }
        Ok(Self {
            host: host.to_owned(),
            prefix: prefix.map(str::to_owned),
        })
    }

    /// The host:port its API answers on (the key for its credentials and its CA file).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Where the origin's `repository` is on this mirror.
    pub fn repository(&self, repository: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{repository}"),
            None => repository.to_owned(),
        }
    }
}

impl TryFrom<String> for MirrorLocation {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl fmt::Display for MirrorLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)?;
        match &self.prefix {
            Some(prefix) => write!(f, "/{prefix}"),
            None => Ok(()),
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (the distribution spec's tag rule).
pub(crate) fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Path components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`, at most 255 bytes.
fn valid_repository(repository: &str) -> bool {
    repository.len() <= 255 && repository.split('/').all(valid_component)
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator run: one '.', one '_', two '_', or any number of '-'.
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let run = &component[start..i];
        let ok = matches!(run, "." | "_" | "__") || run.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A DNS name or IPv4 address of `[A-Za-z0-9.-]`, with an optional decimal port.
fn valid_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok
        && !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !name.starts_with(['.', '-'])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn digests_tags_registries_and_docker_hub() {
        let r = ImageReference::parse(&format!("127.0.0.1:5000/team/app@sha256:{HEX}")).unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.api_host(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "team/app");
        assert!(matches!(r.pin(), Pin::Digest { tag: None, .. }));
        assert_eq!(
            r.to_string(),
            format!("127.0.0.1:5000/team/app@sha256:{HEX}")
        );

        let r = ImageReference::parse("ghcr.io/org/tool:v1.2.3").unwrap();
        assert_eq!(r.pin(), &Pin::Tag("v1.2.3".into()));
        let r = ImageReference::parse("localhost/app").unwrap();
        assert_eq!(
            (r.registry(), r.pin()),
            ("localhost", &Pin::Tag("latest".into()))
        );
        let r = ImageReference::parse("alpine:3.20").unwrap();
        assert_eq!(
            (r.registry(), r.api_host(), r.repository()),
            ("docker.io", "registry-1.docker.io", "library/alpine")
        );
        let r = ImageReference::parse(&format!("reg.example:443/a/b:t@sha256:{HEX}")).unwrap();
        assert!(matches!(r.pin(), Pin::Digest { tag: Some(t), .. } if t == "t"));
        assert_eq!(r.to_string(), format!("reg.example:443/a/b:t@sha256:{HEX}"));
    }

    #[test]
    fn mirrors_are_a_host_and_an_optional_prefix() {
        let m = MirrorLocation::parse("mirror.example:5000").unwrap();
        assert_eq!(
            (m.host(), m.repository("team/app")),
            ("mirror.example:5000", "team/app".into())
        );
        let m = MirrorLocation::parse("mirror.example/cache/docker").unwrap();
        assert_eq!(m.host(), "mirror.example");
        assert_eq!(
            m.repository("library/alpine"),
            "cache/docker/library/alpine"
        );
        assert_eq!(m.to_string(), "mirror.example/cache/docker");
        assert_eq!(
            MirrorLocation::parse("https://mirror.example").unwrap_err(),
            "mirror \"https://mirror.example\": write the mirror without a scheme (host[:port][/prefix])"
        );
        assert_eq!(
            MirrorLocation::parse("mirror.example/Cache").unwrap_err(),
            "mirror \"mirror.example/Cache\": prefix \"Cache\" is not lowercase path components of a-z 0-9 separated by . _ __ or -"
        );
        assert!(MirrorLocation::parse("mirror.example:x").is_err());
        assert!(MirrorLocation::parse("mirror.example/").is_err());
    }

    #[test]
    fn malformed_references_are_refused_with_the_reason() {
        assert_eq!(
            ImageReference::parse("reg.example/App:1").unwrap_err(),
            "image \"reg.example/App:1\": repository \"App\" is not lowercase path components of a-z 0-9 separated by . _ __ or -"
        );
        assert_eq!(
            ImageReference::parse("reg.example/app@sha256:abc").unwrap_err(),
            "image \"reg.example/app@sha256:abc\": the digest must be sha256: and 64 lowercase hex digits"
        );
        assert_eq!(
            ImageReference::parse("https://reg.example/app").unwrap_err(),
            "image \"https://reg.example/app\": write the image without a scheme (registry/repository@sha256:…)"
        );
        assert!(ImageReference::parse("reg.example/app:-x").is_err());
        assert!(ImageReference::parse("reg.example/a..b").is_err());
        assert!(ImageReference::parse("reg.example/a//b").is_err());
        assert!(ImageReference::parse("reg.example:x/a").is_err());
        assert!(ImageReference::parse("reg.example/a__b-c---d.e_f").is_ok());
    }
}
