//! The layers hold: every `crate::` path in `src/` (unit tests included) points to
//! the same top-level module or to one in a lower layer, so no import runs upward and the
//! top-level modules have no cycle; `repo/`'s files import each other without a cycle; and SQL
//! is built only in `repo/`.
//! Adding an upward import or a cycle fails this test.
#![allow(clippy::unwrap_used)]
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module's layer: a module may import only from lower layers (or itself).
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        // Values and leaves: parsed domain values, tables, configuration, counters, the
        // allocator, the change generation, budgets per window.
        "domain" | "entities" | "config" | "metrics" | "alloc" | "events" | "window" => 0,
        // The only place that builds SQL.
        "repo" => 1,
        // The keyword index over what `repo` reads.
        "search" => 2,
        // Jobs and services over `repo` and `search`; the API's error vocabulary.
        "sync" | "digest" | "live" | "error" => 3,
        "graphql" => 4,
        "http" => 5,
        // Wires everything.
        "app" => 6,
        _ => return None,
    })
}

/// The code of a file without its `#[cfg(test)] mod tests { … }` (always last in a file here):
/// a unit test may read rows to check them.
fn without_tests(text: &str) -> String {
    code(match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    })
}

/// The code of a file without its comment lines (unit tests included: they import by the
/// same rules).
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `crate::a::b` paths of a text, including those inside `use crate::{a, b::c}` groups.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let segs = segments(item.trim());
                if !segs.is_empty() {
                    out.push(segs);
                }
            }
            continue;
        }
        out.push(segments(rest));
    }
    out
}

fn segments(s: &str) -> Vec<String> {
    let mut segs = Vec::new();
    for part in s.split("::") {
        let name: String = part
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            break;
        }
        let whole = name.len() == part.len();
        segs.push(name);
        if !whole {
            break;
        }
    }
    segs
}

/// `src/` files as (module path segments, source).
fn sources() -> Vec<(Vec<String>, String)> {
    fn walk(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            if path.is_dir() {
                let mut p = prefix.to_vec();
                p.push(name);
                walk(&path, &p, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut p = prefix.to_vec();
                if name != "mod" {
                    p.push(name);
                }
                out.push((p, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

/// The `crate::` paths of `module`'s source that do not point into a lower layer.
fn upward(module: &[String], text: &str) -> Vec<String> {
    let from = &module[0];
    let rank = layer(from).unwrap_or(0);
    crate_paths(&code(text))
        .into_iter()
        .filter(|path| path[0] != *from && layer(&path[0]).is_none_or(|r| r >= rank))
        .map(|path| format!("{} -> crate::{}", module.join("::"), path.join("::")))
        .collect()
}

#[test]
fn no_import_runs_up_the_layers() {
    let mut wrong = Vec::new();
    for (module, text) in sources() {
        let Some(from) = module.first() else { continue };
        let Some(rank) = layer(from) else {
            assert!(
                ["lib", "main"].contains(&from.as_str()),
                "src/{from}: give the new top-level module a layer in tests/architecture.rs"
            );
            continue;
        };
        for path in crate_paths(&code(&text)) {
            let to = &path[0];
            if to == from {
                continue;
            }
            match layer(to) {
                Some(r) if r < rank => {}
                _ => wrong.push(format!(
                    "{} -> crate::{}",
                    module.join("::"),
                    path.join("::")
                )),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports that run against the layers (domain/entities/config/metrics/alloc/events/window < repo < search < sync/digest/live/error < graphql < http < app):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn repo_files_import_each_other_without_a_cycle() {
    let files: BTreeMap<String, String> = sources()
        .into_iter()
        .filter(|(m, _)| m.len() == 2 && m[0] == "repo")
        .map(|(m, t)| (m[1].clone(), code(&t)))
        .collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, text) in &files {
        let mut targets: BTreeSet<&str> = BTreeSet::new();
        for path in crate_paths(text) {
            if path.len() > 1
                && path[0] == "repo"
                && let Some((k, _)) = files.get_key_value(&path[1])
            {
                targets.insert(k);
            }
        }
        for other in files.keys() {
            if text.contains(&format!("super::{other}::"))
                || text.contains(&format!("super::{other}}}"))
                || text.contains(&format!("super::{{{other}"))
            {
                targets.insert(other);
            }
        }
        targets.remove(name.as_str());
        edges.insert(name, targets);
    }
    // Depth-first search for a back edge.
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        state.insert(n, 1);
        stack.push(n);
        for &m in edges.get(n).into_iter().flatten() {
            match state.get(m) {
                Some(1) => {
                    let at = stack.iter().position(|s| *s == m).unwrap_or(0);
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m);
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    for &n in edges.keys() {
        if !state.contains_key(n) {
            let cycle = visit(n, &edges, &mut state, &mut Vec::new());
            assert!(
                cycle.is_none(),
                "repo/ files import each other in a cycle: {}",
                cycle.unwrap_or_default().join(" -> ")
            );
        }
    }
}

/// What builds or runs SQL: sea-orm's query builders and raw statements, sqlx's queries.
const SQL: [&str; 9] = [
    "Entity::find",
    "Entity::insert",
    "Entity::update",
    "Entity::delete",
    "execute_unprepared",
    "query_one_raw",
    "query_all_raw",
    "Statement::from",
    "sqlx::query",
];

#[test]
fn sql_is_built_only_in_repo() {
    let mut outside = Vec::new();
    for (module, text) in sources() {
        if module.first().is_some_and(|m| m == "repo") {
            continue;
        }
        let code = without_tests(&text);
        for s in SQL {
            if code.contains(s) {
                outside.push(format!("{}: {s}", module.join("::")));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "SQL outside repo/ (move it into a repo function):\n{}",
        outside.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_check() {
    let paths = crate_paths("use crate::{app::DbStats, repo}; let x = crate::http::escape(y);");
    assert_eq!(
        paths,
        [
            vec!["app".to_string(), "DbStats".into()],
            vec!["repo".into()],
            vec!["http".into(), "escape".into()],
        ]
    );
    assert_eq!(code("use a;\n// crate::app in a comment\nx"), "use a;\nx");
    let module = ["repo".to_string(), "status".to_string()];
    assert_eq!(
        upward(
            &module,
            "use crate::entities::paper;\nlet s = crate::http::AppState;"
        ),
        ["repo::status -> crate::http::AppState"],
        "an upward import is caught"
    );
    assert!(upward(&module, "use crate::events::data_changed;").is_empty());
    assert_eq!(layer("http"), Some(5));
    assert!(layer("repo") < layer("graphql"));
}
