//! The layering ARCHITECTURE.md lists among its invariants, read from the workspace's own files:
//! crm-lib's dependency tree holds no web, HTML, Telegram or terminal crate; only crm-lib's
//! `store` module touches a redb table; only the store's codec names bincode.
//!
//! Each test fails when its invariant breaks: checked with a file under `crm-appliance/src/`
//! calling `db.begin_write()` and `bincode::config::standard()` (both source tests named its
//! line) and with `sha2`, one of crm-lib's dependencies, added to [`FOREIGN`] (the tree test
//! named the chain `crm-lib -> sha2`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// The workspace's root directory.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Crates that would bring HTTP, HTML, Telegram, a terminal or an async runtime into crm-lib.
const FOREIGN: &[&str] = &[
    "axum",
    "axum-core",
    "hyper",
    "hyper-util",
    "http",
    "reqwest",
    "tower",
    "tower-http",
    "maud",
    "teloxide",
    "teloxide-core",
    "clap",
    "clap_builder",
    "indicatif",
    "tokio",
];

/// The package names crm-lib's manifest lists as normal (and build) dependencies, renames
/// resolved.
fn manifest_dependencies(manifest: &toml::Table) -> BTreeSet<String> {
    let mut sections: Vec<&toml::Table> = ["dependencies", "build-dependencies"]
        .iter()
        .filter_map(|name| manifest.get(*name).and_then(toml::Value::as_table))
        .collect();
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values().filter_map(toml::Value::as_table) {
            for name in ["dependencies", "build-dependencies"] {
                sections.extend(target.get(name).and_then(toml::Value::as_table));
            }
        }
    }
    let mut names = BTreeSet::new();
    for section in sections {
        for (key, value) in section {
            let package = value
                .get("package")
                .and_then(toml::Value::as_str)
                .unwrap_or(key);
            names.insert(package.to_string());
        }
    }
    names
}

/// Every package crm-lib builds with outside its tests, each with the package that pulled it
/// in: its manifest's dependencies, then everything `Cargo.lock` says they depend on. The lock
/// holds the features of the whole workspace, so this is a superset of crm-lib's own tree,
/// never a subset.
fn crm_lib_tree() -> BTreeMap<String, String> {
    let manifest: toml::Table = read("crm-lib/Cargo.toml").parse().unwrap();
    let lock: toml::Table = read("Cargo.lock").parse().unwrap();
    let packages = lock["package"].as_array().unwrap();
    // "name" or "name version" (or "name version (source)"), as the lock names a dependency.
    let find = |reference: &str| {
        let mut parts = reference.split(' ');
        let name = parts.next().unwrap_or_default();
        let version = parts.next();
        packages
            .iter()
            .filter(|package| package["name"].as_str() == Some(name))
            .find(|package| {
                version.is_none_or(|version| package["version"].as_str() == Some(version))
            })
            .unwrap_or_else(|| panic!("Cargo.lock has no package {reference}"))
    };
    let dependencies = |package: &toml::Value| -> Vec<String> {
        package
            .get("dependencies")
            .and_then(toml::Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(toml::Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let normal = manifest_dependencies(&manifest);
    let crm_lib = find("crm-lib");
    let mut reached = BTreeMap::new();
    let mut queue = VecDeque::new();
    for reference in dependencies(crm_lib) {
        let name = reference.split(' ').next().unwrap_or_default().to_string();
        // The lock lists dev-dependencies too; the manifest says which are normal.
        if normal.contains(&name) {
            queue.push_back(("crm-lib".to_string(), reference));
        }
    }
    while let Some((parent, reference)) = queue.pop_front() {
        let package = find(&reference);
        let name = package["name"].as_str().unwrap().to_string();
        if reached.contains_key(&name) {
            continue;
        }
        reached.insert(name.clone(), parent);
        for next in dependencies(package) {
            queue.push_back((name.clone(), next));
        }
    }
    reached
}

#[test]
fn crm_lib_s_normal_dependencies_contain_no_web_html_telegram_or_terminal_crate() {
    let tree = crm_lib_tree();
    // The walk found the tree: the store's own dependencies are in it.
    for expected in ["redb", "bincode", "serde", "argon2"] {
        assert!(
            tree.contains_key(expected),
            "{expected} missing from {tree:?}"
        );
    }
    let chain = |name: &str| {
        let mut chain = vec![name.to_string()];
        while let Some(parent) = tree.get(chain.last().unwrap()) {
            chain.push(parent.clone());
        }
        chain.reverse();
        chain.join(" -> ")
    };
    let foreign: Vec<String> = FOREIGN
        .iter()
        .filter(|name| tree.contains_key(**name))
        .map(|name| chain(name))
        .collect();
    assert!(foreign.is_empty(), "crm-lib depends on {foreign:#?}");
}

/// Every `.rs` file of the workspace's crates and of `fuzz/`, by path from the root.
fn rust_files() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.')
                    && !["target", "corpus", "artifacts", "node_modules"].contains(&name.as_str())
                {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    let root = root();
    let mut paths = Vec::new();
    for member in ["crm-lib", "crm-cli", "crm-appliance", "benches", "fuzz"] {
        walk(&root.join(member), &mut paths);
    }
    paths
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            (relative, text)
        })
        .collect()
}

/// Whether the character at `at` starts a word, or follows the `b` of a byte string (`br"`).
fn starts_word(chars: &[char], at: usize) -> bool {
    let word = |c: &char| c.is_alphanumeric() || *c == '_';
    match at.checked_sub(1).map(|before| chars[before]) {
        None => true,
        Some('b') => at < 2 || !word(&chars[at - 2]),
        Some(before) => !word(&before),
    }
}

/// `text` with its comments and the contents of its string and character literals blanked
/// out (newlines kept, so line numbers stay): what is left is the code that names things.
fn code_of(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut at = 0;
    while at < chars.len() {
        let rest = &chars[at..];
        if rest.starts_with(&['/', '/']) {
            while at < chars.len() && chars[at] != '\n' {
                at += 1;
            }
        } else if rest.starts_with(&['/', '*']) {
            let mut depth = 0;
            while at < chars.len() {
                if chars[at..].starts_with(&['/', '*']) {
                    depth += 1;
                    out.push_str("  ");
                    at += 2;
                } else if chars[at..].starts_with(&['*', '/']) {
                    depth -= 1;
                    out.push_str("  ");
                    at += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[at]));
                    at += 1;
                }
            }
        } else if rest.starts_with(&['\'', '"', '\'']) {
            out.push_str("' '");
            at += 3;
        } else if rest.starts_with(&['\'', '\\']) {
            // An escaped character literal: '\n', '\'', '\u{..}'.
            out.push_str("' ");
            at += 2;
            while at < chars.len() && chars[at] != '\'' {
                out.push(' ');
                at += 1;
            }
        } else if rest[0] == 'r'
            && rest.get(1).is_some_and(|c| *c == '"' || *c == '#')
            && starts_word(&chars, at)
        {
            // A raw string: r"..." or r#"..."#, ended by the quote and as many hashes.
            let hashes = rest[1..].iter().take_while(|c| **c == '#').count();
            if rest.get(1 + hashes) != Some(&'"') {
                out.push(rest[0]);
                at += 1;
                continue;
            }
            let mut closing = vec!['"'];
            closing.extend(std::iter::repeat_n('#', hashes));
            out.push_str(&" ".repeat(2 + hashes));
            at += 2 + hashes;
            while at < chars.len() && !chars[at..].starts_with(&closing) {
                out.push(blank(chars[at]));
                at += 1;
            }
            out.push_str(&" ".repeat(closing.len()));
            at += closing.len();
        } else if rest[0] == '"' {
            out.push('"');
            at += 1;
            while at < chars.len() && chars[at] != '"' {
                if chars[at] == '\\' {
                    out.push(' ');
                    at += 1;
                }
                if let Some(c) = chars.get(at) {
                    out.push(blank(*c));
                }
                at += 1;
            }
            out.push('"');
            at += 1;
        } else {
            out.push(rest[0]);
            at += 1;
        }
    }
    out
}

/// The lines of `files` whose code (see [`code_of`]) holds one of `words` as a whole
/// identifier (so a test named `..._names_bincode` does not count), as `path:line: text`.
fn lines_naming<'a>(
    files: impl Iterator<Item = &'a (String, String)>,
    words: &[&str],
) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files {
        let code = code_of(text);
        for ((number, code), line) in code.lines().enumerate().zip(text.lines()) {
            let mut identifiers = code.split(|c: char| !(c.is_alphanumeric() || c == '_'));
            if identifiers.any(|identifier| words.contains(&identifier)) {
                found.push(format!("{path}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    found
}

/// The manifests of the workspace (root, members, fuzz) that name `dependency` in a
/// dependency table, other than `allowed`.
fn manifests_depending_on(dependency: &str, allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for path in [
        "Cargo.toml",
        "crm-lib/Cargo.toml",
        "crm-cli/Cargo.toml",
        "crm-appliance/Cargo.toml",
        "benches/Cargo.toml",
        "fuzz/Cargo.toml",
    ] {
        let manifest: toml::Table = read(path).parse().unwrap();
        let mut names = manifest_dependencies(&manifest);
        if let Some(dev) = manifest
            .get("dev-dependencies")
            .and_then(toml::Value::as_table)
        {
            names.extend(dev.keys().cloned());
        }
        if names.contains(dependency) && !allowed.contains(&path) {
            found.push(path.to_string());
        }
    }
    found
}

/// redb's names for opening, listing, deleting and writing tables.
const REDB_TABLE_API: &[&str] = &[
    "open_table",
    "open_multimap_table",
    "delete_table",
    "delete_multimap_table",
    "list_tables",
    "list_multimap_tables",
    "TableDefinition",
    "MultimapTableDefinition",
    "ReadableTable",
    "ReadOnlyTable",
    "WriteTransaction",
    "begin_write",
];

#[test]
fn nothing_outside_crm_lib_s_store_touches_a_redb_table() {
    let files = rust_files();
    let in_store = |path: &str| path.starts_with("crm-lib/src/store/");
    // The search finds what it looks for: the store opens its tables.
    assert!(
        !lines_naming(
            files.iter().filter(|(path, _)| in_store(path)),
            &["open_table"]
        )
        .is_empty()
    );
    let outside = lines_naming(
        files.iter().filter(|(path, _)| !in_store(path)),
        REDB_TABLE_API,
    );
    assert!(
        outside.is_empty(),
        "redb tables touched outside crm-lib/src/store/: {outside:#?}"
    );
    // No other crate can reach redb at all.
    let manifests = manifests_depending_on("redb", &["Cargo.toml", "crm-lib/Cargo.toml"]);
    assert!(manifests.is_empty(), "{manifests:?} depend on redb");
}

#[test]
fn nothing_outside_the_store_s_codec_names_bincode() {
    let files = rust_files();
    let codec = "crm-lib/src/store/codec.rs";
    assert!(
        !lines_naming(files.iter().filter(|(path, _)| path == codec), &["bincode"]).is_empty(),
        "the codec names bincode"
    );
    let outside = lines_naming(files.iter().filter(|(path, _)| path != codec), &["bincode"]);
    assert!(
        outside.is_empty(),
        "bincode named outside {codec}: {outside:#?}"
    );
    let manifests = manifests_depending_on("bincode", &["Cargo.toml", "crm-lib/Cargo.toml"]);
    assert!(manifests.is_empty(), "{manifests:?} depend on bincode");
}
