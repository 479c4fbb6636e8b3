//! The library's layout stays as docs/ARCHITECTURE.md draws it: its top-level
//! modules use each other without a cycle, and no source file grows past
//! about 800 lines unless its header says why.
//!
//! The module graph is read from the sources: every `crate::NAME` path and
//! every name in a `use crate::{...}` group, outside comments and outside
//! `#[cfg(test)]` modules and the `tests.rs` files they include (a test may
//! build its fixtures with anything above the code it tests). `super::` stays inside a module and cannot make a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines a source file may have without saying in its header why it is longer.
const MAX_LINES: usize = 800;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to (`model` for `src/model/prior.rs`,
/// `batch` for `src/batch.rs`; None for `lib.rs`).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib").then_some(name)
}

/// A file of tests that its module includes under `#[cfg(test)]`
/// (`model/tests.rs`, `data/npy_tests.rs`).
fn is_test_file(path: &Path) -> bool {
    let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("");
    name == "tests" || name.ends_with("_tests")
}

/// The code without comments, string literals' contents and `#[cfg(test)]`
/// items.
fn code_outside_tests(source: &str) -> String {
    let bytes = source.as_bytes();
    let at = |i: usize, pattern: &str| bytes[i..].starts_with(pattern.as_bytes());
    // The offset from `i` of the first `pattern` at or after it.
    let find = |i: usize, pattern: &str| {
        bytes[i..]
            .windows(pattern.len())
            .position(|w| w == pattern.as_bytes())
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if at(i, "//") {
            i += find(i, "\n").unwrap_or(bytes.len() - i);
        } else if at(i, "/*") {
            i += find(i, "*/").map_or(bytes.len() - i, |e| e + 2);
        } else if bytes[i] == b'\'' && i + 2 < bytes.len() && bytes[i + 1] == b'\\' {
            // An escaped character literal such as '\'' or '\u{7b}'.
            i += 3 + find(i + 3, "'").map_or(0, |e| e + 1);
        } else if bytes[i] == b'\'' && i + 2 < bytes.len() && bytes[i + 2] == b'\'' {
            // A character literal such as '"' or '{', not a lifetime.
            i += 3;
        } else if at(i, "r#\"") {
            i += find(i, "\"#").map_or(bytes.len() - i, |e| e + 2);
            out.extend_from_slice(b"\"\"");
        } else if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.extend_from_slice(b"\"\"");
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    without_tests(&String::from_utf8_lossy(&out))
}

/// `code` (already without comments and strings) without its
/// `#[cfg(test)]` items: the attribute, then up to the `;` of an item without
/// a body or past the close of the braced one.
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(start) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..start]);
        let item = &rest[start..];
        let open = item.find('{').unwrap_or(item.len());
        let semicolon = item.find(';').unwrap_or(usize::MAX);
        if semicolon < open {
            rest = &item[semicolon + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = item.len();
        for (k, ch) in item[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The top-level modules `code` names through `crate::`.
fn modules_used(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c, d::{e, f}}`: the first segment of each
            // entry at the group's top level.
            let mut depth = 0;
            let mut entry_start = true;
            for (k, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => entry_start = true,
                    c if entry_start && !c.is_whitespace() => {
                        used.insert(ident(&group[k..]));
                        entry_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            used.insert(ident(rest));
        }
    }
    used
}

fn module_graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut top_level = BTreeSet::new();
    for file in &files {
        top_level.extend(module_of(file));
    }
    // module -> used module -> files that use it
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(file) else {
            continue;
        };
        if is_test_file(file) {
            continue;
        }
        let code = code_outside_tests(&std::fs::read_to_string(file).unwrap());
        let node = graph.entry(from.clone()).or_default();
        for to in modules_used(&code) {
            if to != from && top_level.contains(&to) {
                let rel = file.strip_prefix(src()).unwrap().display().to_string();
                node.entry(to).or_default().insert(rel);
            }
        }
    }
    graph
}

/// One cycle of the graph, if it has any, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|p| p == next).unwrap();
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str())
            && let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn the_reader_finds_uses_in_paths_and_groups_but_not_in_comments_or_tests() {
    let code = code_outside_tests(
        "use crate::data::Dataset;\nuse crate::{model::Vae, error::{Error, Result}, io};\n\
         // crate::train is only named here\nfn f() { crate::random::seeded(0); let s = \"crate::score\"; }\n\
         #[cfg(test)]\nmod tests { use crate::cluster::kmeans; }\nfn g() { crate::batch::noise(); }\n",
    );
    let used: Vec<String> = modules_used(&code).into_iter().collect();
    assert_eq!(used, ["batch", "data", "error", "io", "model", "random"]);
    let mut graph = BTreeMap::new();
    let edge = |to: &str| BTreeMap::from([(to.to_string(), BTreeSet::new())]);
    graph.insert("a".to_string(), edge("b"));
    graph.insert("b".to_string(), edge("c"));
    assert_eq!(find_cycle(&graph), None);
    graph.insert("c".to_string(), edge("a"));
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}

#[test]
fn the_library_modules_use_each_other_without_a_cycle() {
    let graph = module_graph();
    assert!(graph.len() > 10, "read only {} modules", graph.len());
    if let Some(cycle) = find_cycle(&graph) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} -> {} (in {:?})", w[0], w[1], graph[&w[0]][&w[1]]))
            .collect();
        panic!(
            "the library's modules use each other in a circle; move what the lower module needs below it:\n  {}",
            steps.join("\n  ")
        );
    }
    // The layers, for docs/ARCHITECTURE.md (`cargo test --test architecture
    // -- --nocapture` prints them): each module one above the highest it uses.
    let mut layer: BTreeMap<String, usize> = BTreeMap::new();
    while layer.len() < graph.len() {
        for (module, uses) in &graph {
            if !layer.contains_key(module) && uses.keys().all(|u| layer.contains_key(u)) {
                let above = uses.keys().map(|u| layer[u] + 1).max().unwrap_or(0);
                layer.insert(module.clone(), above);
            }
        }
    }
    for level in 0..=layer.values().copied().max().unwrap_or(0) {
        let here: Vec<String> = layer
            .iter()
            .filter(|(_, l)| **l == level)
            .map(|(m, _)| format!("{m} (uses {:?})", graph[m].keys().collect::<Vec<_>>()))
            .collect();
        eprintln!("layer {level}: {}", here.join("; "));
    }
}

#[test]
fn no_source_file_is_over_800_lines_without_saying_why() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in [
        "vaekit/src",
        "vaekit/tests",
        "vaekit-cli/src",
        "vaekit-cli/tests",
    ] {
        sources(&crates.join(dir), &mut files);
    }
    let too_long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            let lines = text.lines().count();
            let header: String = text.lines().take(20).collect::<Vec<_>>().join("\n");
            (lines > MAX_LINES && !header.contains("800 lines"))
                .then(|| format!("{} ({lines} lines)", file.display()))
        })
        .collect();
    assert!(
        too_long.is_empty(),
        "split these files, or say in their header (first 20 lines) why they are over 800 lines:\n  {}",
        too_long.join("\n  ")
    );
}

/// burn's generator is one per device, shared by every thread of the
/// process, and tests run in parallel threads: a test that seeded it and then
/// drew (initial weights, random tensors) could get another test's draws
/// in between, so its seed did not fix its values. Seeding goes through
/// `random::with_seeded_device`, which holds a lock from the seed to the
/// last draw.
#[test]
fn the_device_generator_is_seeded_only_under_its_lock() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in [
        "vaekit/src",
        "vaekit/tests",
        "vaekit-cli/src",
        "vaekit-py/src",
    ] {
        sources(&crates.join(dir), &mut files);
    }
    let loose: Vec<String> = files
        .iter()
        .filter(|file| !file.ends_with("random.rs") && !file.ends_with("architecture.rs"))
        .filter(|file| std::fs::read_to_string(file).unwrap().contains(".seed("))
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        loose.is_empty(),
        "these files seed the device generator outside random::with_seeded_device:\n  {}",
        loose.join("\n  ")
    );
}
