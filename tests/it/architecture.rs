//! The source's shape (issue 11, docs/architecture.md): no import cycle
//! between source files, no file over about 600 lines, and no function over
//! 120 lines without a line at its top saying why. Each check is tested on
//! a small made-up tree first, so a check that cannot fail does not pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file, lines.
const MAX_FILE_LINES: usize = 600;
/// Longest function, lines, unless its body opens with a `// Long:` line.
const MAX_FN_LINES: usize = 120;

/// Every `.rs` file under `dir`, by module path (`mechanism::lending::book`).
fn modules(dir: &Path) -> BTreeMap<Vec<String>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.insert(module_of(dir, &p), std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let rel: PathBuf = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    // The binary's root is a crate of its own: keep it apart from the
    // library's.
    if parts == ["main"] {
        return vec!["main (binary)".to_string()];
    }
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The text without its `#[cfg(test)] mod tests` and without comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `crate::`/`super::`/`self::` paths a file names, one level of braces
/// expanded (`use a::{b, c::d}` gives `a::b` and `a::c::d`).
fn paths_named(text: &str) -> Vec<String> {
    let text = code(text);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("use ") {
        let stmt_end = rest[i..].find(';').map_or(rest.len(), |j| i + j);
        let stmt: String = rest[i + 4..stmt_end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        match (stmt.find("::{"), stmt.ends_with('}')) {
            (Some(b), true) => {
                let base = &stmt[..b];
                for item in split_top(&stmt[b + 3..stmt.len() - 1]) {
                    out.push(format!("{base}::{item}"));
                }
            }
            _ => out.push(stmt),
        }
        rest = &rest[stmt_end..];
    }
    // Paths written inline (`crate::scenario::check::MAX_USD`).
    for start in ["crate::", "super::"] {
        let mut at = 0;
        while let Some(i) = text[at..].find(start) {
            let s = at + i;
            let end = text[s..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(text.len(), |j| s + j);
            out.push(text[s..end].to_string());
            at = end;
        }
    }
    out
}

/// Items of a brace list, split at top-level commas.
fn split_top(list: &str) -> Vec<String> {
    let (mut depth, mut cur, mut out) = (0, String::new(), Vec::new());
    for c in list.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// File-level import graph: module → modules it names.
fn graph(mods: &BTreeMap<Vec<String>, String>) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut g = BTreeMap::new();
    for (m, text) in mods {
        let mut to = BTreeSet::new();
        for path in paths_named(text) {
            let path = path.split(" as ").next().unwrap().replace(['{', '}'], "");
            let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            let mut abs: Vec<String> = match parts.first() {
                Some(&"crate") => Vec::new(),
                Some(&"super") | Some(&"self") => m.clone(),
                _ => continue,
            };
            for p in &parts[if parts[0] == "crate" { 1 } else { 0 }..] {
                match *p {
                    "super" => {
                        abs.pop();
                    }
                    "self" | "*" => {}
                    name => abs.push(name.to_string()),
                }
            }
            // The longest prefix that is a file.
            while !abs.is_empty() && !mods.contains_key(&abs) {
                abs.pop();
            }
            if !abs.is_empty() && &abs != m {
                to.insert(abs);
            }
        }
        g.insert(m.clone(), to);
    }
    g
}

/// One cycle of the graph, if it has any (depth-first search).
fn a_cycle(g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        v: &Vec<String>,
        g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        state.insert(v.clone(), 1);
        stack.push(v.clone());
        for w in &g[v] {
            match state.get(w).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|x| x == w).unwrap();
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|m| m.join("::")).collect();
                    cycle.push(w.join("::"));
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(w, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(v.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for v in g.keys() {
        if !state.contains_key(v)
            && let Some(c) = visit(v, g, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

/// Functions longer than `MAX_FN_LINES` whose body does not open with a
/// `// Long:` line: (name, first line, length).
fn long_functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let indent = l.len() - l.trim_start().len();
        let t = l.trim_start();
        let t = t
            .strip_prefix("pub ")
            .or_else(|| t.strip_prefix("pub(crate) "))
            .or_else(|| t.strip_prefix("pub(super) "))
            .unwrap_or(t);
        let t = t.strip_prefix("const ").unwrap_or(t);
        if let Some(rest) = t.strip_prefix("fn ")
            && !l.trim_end().ends_with(';')
        {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let close = format!("{}}}", " ".repeat(indent));
            let mut j = i + 1;
            while j < lines.len() && lines[j].trim_end() != close {
                j += 1;
            }
            let len = j - i + 1;
            let body_start = (i..j)
                .find(|&k| lines[k].trim_end().ends_with('{'))
                .unwrap_or(i);
            let why = lines
                .get(body_start + 1)
                .is_some_and(|b| b.trim_start().starts_with("// Long:"));
            if len > MAX_FN_LINES && !why {
                out.push((name, i + 1, len));
            }
            i = j;
        }
        i += 1;
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_checks_find_a_cycle_a_long_file_and_a_long_function() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::write(root.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(root.join("a/mod.rs"), "pub mod x;\n").unwrap();
    std::fs::write(root.join("a/x.rs"), "use crate::b::{Thing, other::More};\n").unwrap();
    std::fs::write(root.join("b.rs"), "pub fn f() { super::a::x::g() }\n").unwrap();
    let g = graph(&modules(root));
    assert_eq!(
        a_cycle(&g).map(|c| c.len()),
        Some(3),
        "a::x → b → a::x: {:?}",
        a_cycle(&g)
    );
    std::fs::write(root.join("b.rs"), "pub fn f() {}\n").unwrap();
    assert_eq!(a_cycle(&graph(&modules(root))), None);

    let body = "    let x = 1;\n".repeat(MAX_FN_LINES);
    let long = format!("fn long() {{\n{body}}}\n\nfn short() {{\n}}\n");
    assert_eq!(
        long_functions(&long),
        [("long".to_string(), 1, MAX_FN_LINES + 2)]
    );
    let explained = format!("fn long() {{\n    // Long: one table's columns.\n{body}}}\n");
    assert!(long_functions(&explained).is_empty());
}

#[test]
fn no_source_file_imports_itself_through_others() {
    let g = graph(&modules(&src()));
    assert!(g.len() > 50, "read {} files", g.len());
    assert!(
        g[&vec!["engine".to_string(), "world".to_string()]]
            .contains(&vec!["mechanism".to_string(), "lending".to_string()]),
        "the graph has the engine's edges"
    );
    if let Some(c) = a_cycle(&g) {
        panic!("import cycle: {}", c.join(" → "));
    }
}

#[test]
fn no_source_file_or_function_is_too_long() {
    let mut over = Vec::new();
    for (m, text) in modules(&src()) {
        let name = m.join("::");
        let n = text.lines().count();
        if n > MAX_FILE_LINES {
            over.push(format!("{name}: {n} lines"));
        }
        for (f, line, len) in long_functions(&text) {
            over.push(format!("{name}:{line} fn {f}: {len} lines"));
        }
    }
    assert!(over.is_empty(), "too long:\n{}", over.join("\n"));
}
