//! Registry credentials and challenges: the container auth file (`REGISTRY_AUTH_FILE`, else
//! `~/.docker/config.json`: `auths.<host>.auth`, base64 `user:password`), and the
//! `WWW-Authenticate` challenges a registry answers 401 with (`Basic realm=…`, or
//! `Bearer realm=…,service=…,scope=…` for the token flow).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;

/// The largest auth file read.
const MAX_AUTH_FILE: u64 = 1 << 20;

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"…")
            .finish()
    }
}

impl Credentials {
    /// The `Authorization` header value for basic authentication.
    pub(crate) fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// The auth file to read: `REGISTRY_AUTH_FILE` if set, else `~/.docker/config.json` if it
/// exists. Read from the environment here, at the CLI's edge.
pub fn default_auth_file() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("REGISTRY_AUTH_FILE") {
        return Some(PathBuf::from(file));
    }
    let home = std::env::var_os("HOME")?;
    let docker = Path::new(&home).join(".docker/config.json");
    docker.is_file().then_some(docker)
}

#[derive(Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
}

/// The credentials `file` holds for `registry` (`host[:port]`), if any. Keys are matched
/// after dropping a scheme and a path (`https://index.docker.io/v1/` is Docker Hub's).
pub(crate) fn credentials_for(file: &Path, registry: &str) -> Result<Option<Credentials>, String> {
    let bad = |why: String| format!("auth file {}: {why}", file.display());
    let mut text = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_AUTH_FILE + 1).read_to_end(&mut text))
        .map_err(|e| bad(e.to_string()))?;
    if text.len() as u64 > MAX_AUTH_FILE {
        return Err(bad(format!("larger than {MAX_AUTH_FILE} bytes")));
    }
    let parsed: AuthFile = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
    let wanted = normalise_key(registry);
    for (key, entry) in &parsed.auths {
        if normalise_key(key) != wanted {
            continue;
        }
        let Some(auth) = &entry.auth else { continue };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| bad(format!("auths.{key}.auth: {e}")))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| bad(format!("auths.{key}.auth is not UTF-8")))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| bad(format!("auths.{key}.auth is not user:password")))?;
        return Ok(Some(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        }));
    }
    Ok(None)
}

/// `https://host:port/v1/` → `host:port`; Docker Hub's historical keys → `docker.io`.
fn normalise_key(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

/// A registry's 401 challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// Send the credentials with basic authentication.
    Basic,
    /// Get a token from `realm` for `service` and `scope`, then send it as a bearer token.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` value: a scheme, then `name=value` or `name="value"` pairs
/// separated by commas (commas inside quotes belong to the value, as in
/// `scope="repository:a:pull,push"`). `None` for any other scheme.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest)?;
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        }),
        _ => None,
    }
}

fn parse_params(text: &str) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(params);
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=') {
            name.push(c);
        }
        chars.next()?; // '='
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        params.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
}

/// A token service's answer (`token`, or OAuth2's `access_token`).
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl TokenResponse {
    pub(crate) fn into_token(self) -> Option<String> {
        self.token
            .or(self.access_token)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_quoted_commas() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="test""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge(r#"Bearer realm="unterminated"#), None);
    }

    #[test]
    fn credentials_come_from_the_auth_file_by_host() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:s3:cret");
        std::fs::write(
            &file,
            format!(
                r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"{encoded}"}},"https://index.docker.io/v1/":{{"auth":"{encoded}"}}}}}}"#
            ),
        )
        .unwrap();
        let found = credentials_for(&file, "127.0.0.1:5000").unwrap().unwrap();
        assert_eq!(
            (found.user.as_str(), found.password.as_str()),
            ("alice", "s3:cret")
        );
        assert!(credentials_for(&file, "docker.io").unwrap().is_some());
        assert_eq!(credentials_for(&file, "127.0.0.1:5001").unwrap(), None);
        assert!(!format!("{found:?}").contains("s3:cret"));

        std::fs::write(&file, r#"{"auths":{"r.example":{"auth":"!!"}}}"#).unwrap();
        assert!(
            credentials_for(&file, "r.example")
                .unwrap_err()
                .starts_with(&format!(
                    "auth file {}: auths.r.example.auth: ",
                    file.display()
                ))
        );
    }
}
