//! No import cycles inside any crate: a reviewer can draw each crate's module graph top-down.
//! Modules are files (`a/b.rs` and `a/b/mod.rs` are `a::b`); a module uses another when its
//! non-test code names a path into it (`crate::…`, or `super::…` from a sibling, also inside a
//! `{…}` group). A module's
//! own children are not counted as its dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file under `dir`, as (module path, source without its `mod tests`).
fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let module = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}::{name}")
        };
        if path.is_dir() {
            modules(&path, &module, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            let code = source.split("mod tests {").next().unwrap_or("").to_owned();
            let key = match name.as_str() {
                "lib" | "main" if prefix.is_empty() => continue,
                "mod" => prefix.to_owned(),
                _ => module,
            };
            out.insert(key, code);
        }
    }
}

/// The modules `code` (in `module`) names: the longest known prefix of each path.
fn uses(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut out = BTreeSet::new();
    for (marker, base) in [("crate::", ""), ("super::", parent)] {
        for piece in code.split(marker).skip(1) {
            let in_path =
                |c: &char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_:".contains(*c);
            let path: String = piece.chars().take_while(in_path).collect();
            // `super::{a, b::C}` names `a` and `b` (a group nested in it is read no further).
            let paths: Vec<String> = match piece[path.len()..].strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|item| {
                        format!(
                            "{path}{}",
                            item.trim().chars().take_while(in_path).collect::<String>()
                        )
                    })
                    .collect(),
                None => vec![path],
            };
            for path in &paths {
                let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
                for n in (1..=parts.len()).rev() {
                    let joined = parts[..n].join("::");
                    let target = if base.is_empty() {
                        joined
                    } else {
                        format!("{base}::{joined}")
                    };
                    if known.contains(&target) {
                        if target != module && !module.starts_with(&format!("{target}::")) {
                            out.insert(target);
                        }
                        break;
                    }
                }
            }
        }
    }
    out
}

/// A cycle in `graph`, if there is one (depth-first search, colours).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in &graph[node] {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut found = stack[from..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                Some(_) => {}
                None => {
                    if let Some(found) = visit(next, graph, state, stack) {
                        return Some(found);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node)
            && let Some(found) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(found);
        }
    }
    None
}

#[test]
fn no_crate_has_an_import_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in ["trust-root", "bundler", "appliance", "web", "tests"] {
        let mut sources = BTreeMap::new();
        modules(&root.join(krate).join("src"), "", &mut sources);
        let known: BTreeSet<String> = sources.keys().cloned().collect();
        let graph: BTreeMap<String, BTreeSet<String>> = sources
            .iter()
            .map(|(m, code)| (m.clone(), uses(m, code, &known)))
            .collect();
        assert_eq!(cycle(&graph), None, "{krate} has an import cycle");
    }
}

#[test]
fn the_cycle_finder_finds_one() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let known: BTreeSet<String> = ["pipeline", "pipeline::feed", "store"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        uses(
            "pipeline::feed",
            "use super::Rejection; use crate::store::x;",
            &known
        ),
        BTreeSet::from(["store".to_owned()])
    );
}

#[test]
fn paths_in_a_use_group_are_counted() {
    let known: BTreeSet<String> = ["a::x", "a::y", "a::z", "b"]
        .map(String::from)
        .into_iter()
        .collect();
    let used = uses(
        "a::x",
        "use super::{y, z::W};\nuse crate::{b::f, a::x::g};",
        &known,
    );
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        ["a::y", "a::z", "b"].map(String::from)
    );
}
