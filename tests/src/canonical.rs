//! Canonical JSON (RFC 8785 for the values the kit produces): sorted keys, no whitespace.

use serde_json::Value;

/// Serialises `v` with object keys sorted by UTF-16 code units and no insignificant whitespace.
///
/// The kit only puts strings and integers in canonical documents, for which serde_json's compact
/// output already matches RFC 8785; key order is made explicit here so the result does not depend
/// on serde_json's map features.
pub fn canonical_json(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(&Value::String((*k).clone()), out);
                out.push(b':');
                if let Some(v) = map.get(*k) {
                    write(v, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_and_compacts() {
        let v = json!({"b": 1, "a": {"d": [1, "x"], "c": "é\n"}});
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            "{\"a\":{\"c\":\"é\\n\",\"d\":[1,\"x\"]},\"b\":1}"
        );
    }
}
