//! Hostile input: every numeric field of every shipped scenario driven
//! through 0, negative, NaN, ±inf, ±1e308 and the integer limits, every key
//! removed in turn, and every table duplicated. Each case runs the binary
//! with a time bound and must end in one of two ways:
//!
//! - exit 2 with one line on stderr that names the field, and nothing left
//!   on disk;
//! - exit 0 with only finite values written (every float of every Parquet
//!   file, every number of summary.json), and no temporary folder left.
//!
//! Never a panic, a hang, another exit code, or a partial folder.
//!
//! Every case is validated; by default (CI) a deterministic share of the
//! accepted ones is also run (the extreme values always, the others one in
//! `SAMPLE`). `CONTAGION_HOSTILE=full` runs every accepted case.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A case that takes longer than this is a hang.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// In the default mode, run one in this many accepted non-extreme cases.
const SAMPLE: usize = 6;

/// Paths per run: enough to exercise every table.
const PATHS: &str = "2";

/// The shipped scenarios (not the benchmark books, whose size is the point).
fn shipped() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

/// One hostile variant of a scenario.
struct Case {
    /// What was done, for failure messages.
    what: String,
    /// The key whose value changed or was removed (the error must name it).
    key: Option<String>,
    /// The scenario text.
    text: String,
    /// An extreme value (always run when accepted).
    extreme: bool,
}

/// Values an integer field is set to.
fn int_values() -> Vec<(toml::Value, bool)> {
    use toml::Value::*;
    vec![
        (Integer(0), false),
        (Integer(-1), false),
        (Integer(i64::MAX), true),
        (Integer(i64::MIN), true),
        (Integer(u32::MAX as i64), true),
        (Float(0.5), false),
        (Float(f64::NAN), false),
    ]
}

/// Values a float field is set to.
fn float_values() -> Vec<(toml::Value, bool)> {
    use toml::Value::*;
    vec![
        (Float(0.0), false),
        (Float(-1.0), false),
        (Float(f64::NAN), false),
        (Float(f64::INFINITY), true),
        (Float(f64::NEG_INFINITY), true),
        (Float(1e308), true),
        (Float(-1e308), true),
        (Integer(i64::MAX), true),
    ]
}

/// Every leaf path of `v` (keys and array indices).
fn leaves(v: &toml::Value, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                at.push(Seg::Key(k.clone()));
                leaves(x, at, out);
                at.pop();
            }
        }
        toml::Value::Array(items) if items.iter().any(|x| x.is_table() || x.is_array()) => {
            for (i, x) in items.iter().enumerate() {
                at.push(Seg::Index(i));
                leaves(x, at, out);
                at.pop();
            }
        }
        _ => out.push(at.clone()),
    }
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

fn get_mut<'v>(v: &'v mut toml::Value, path: &[Seg]) -> &'v mut toml::Value {
    path.iter().fold(v, |v, s| match s {
        Seg::Key(k) => v.get_mut(k.as_str()).unwrap(),
        Seg::Index(i) => v.get_mut(*i).unwrap(),
    })
}

fn show(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => format!(".{k}"),
            Seg::Index(i) => format!("[{i}]"),
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// The hostile cases of one scenario.
fn cases(text: &str) -> Vec<Case> {
    let root: toml::Value = toml::from_str(text).unwrap();
    let mut paths = Vec::new();
    leaves(&root, &mut Vec::new(), &mut paths);
    let mut out = Vec::new();
    for path in &paths {
        // The error must name the key or the table holding it (a
        // distribution's parameters are checked through what they draw).
        let keys: Vec<String> = path
            .iter()
            .rev()
            .filter_map(|s| match s {
                Seg::Key(k) => Some(k.clone()),
                Seg::Index(_) => None,
            })
            .take(2)
            .collect();
        let key = (!keys.is_empty()).then(|| keys.join("|"));
        let leaf = {
            let mut r = root.clone();
            get_mut(&mut r, path).clone()
        };
        let values = match leaf {
            toml::Value::Integer(_) => int_values(),
            toml::Value::Float(_) => float_values(),
            _ => Vec::new(),
        };
        for (v, extreme) in values {
            let mut r = root.clone();
            *get_mut(&mut r, path) = v.clone();
            let shown = match v {
                toml::Value::Float(f) => format!("{f:e}"),
                ref other => other.to_string(),
            };
            out.push(Case {
                what: format!("{} = {shown}", show(path)),
                key: key.clone(),
                text: toml::to_string(&r).unwrap(),
                extreme,
            });
        }
        // The key removed (a required one must be named as missing).
        if let Some(Seg::Key(k)) = path.last() {
            let mut r = root.clone();
            if let Some(t) = get_mut(&mut r, &path[..path.len() - 1]).as_table_mut() {
                t.remove(k);
                out.push(Case {
                    what: format!("{} removed", show(path)),
                    key: key.clone(),
                    text: toml::to_string(&r).unwrap(),
                    extreme: false,
                });
            }
        }
    }
    // Every table header's block duplicated in place.
    let lines: Vec<&str> = text.lines().collect();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with('['))
        .collect();
    for (h, &start) in headers.iter().enumerate() {
        let end = headers.get(h + 1).copied().unwrap_or(lines.len());
        let mut dup: Vec<&str> = lines[..end].to_vec();
        dup.extend_from_slice(&lines[start..end]);
        dup.extend_from_slice(&lines[end..]);
        out.push(Case {
            what: format!("`{}` duplicated", lines[start].trim()),
            key: None,
            text: dup.join("\n"),
            extreme: false,
        });
    }
    out
}

/// Run the binary with a time bound; (exit code, stderr).
fn bounded(dir: &Path, args: &[&str]) -> Result<(Option<i32>, String), String> {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return Ok((
                status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no answer within {TIME_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// Every float in every Parquet file under `dir` is finite, and
/// summary.json has no null number (serde writes NaN and ∞ as null) but
/// for the one optional field that may be absent.
fn all_finite(dir: &Path) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "parquet") {
            let df = read(&p);
            for c in df.columns() {
                if let Ok(ca) = c.f64()
                    && let Some(v) = ca.iter().flatten().find(|v| !v.is_finite())
                {
                    return Err(format!("{}: column {} holds {v}", p.display(), c.name()));
                }
            }
        }
    }
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn walk(v: &serde_json::Value, key: &str) -> Result<(), String> {
        match v {
            serde_json::Value::Null if key != "debtrank_of_default" => {
                Err(format!("summary.json: `{key}` is null (a NaN or ∞)"))
            }
            serde_json::Value::Object(m) => m.iter().try_for_each(|(k, x)| walk(x, k)),
            serde_json::Value::Array(a) => a.iter().try_for_each(|x| walk(x, key)),
            _ => Ok(()),
        }
    }
    walk(&json, "")
}

/// Check one case; `run` also simulates it when it validates.
fn check(base: &Path, case: &Case, run: bool) -> Result<bool, String> {
    let dir = tempfile::tempdir().unwrap();
    // Files a scenario names (positions_file) resolve beside it.
    for e in std::fs::read_dir(base).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && p.extension().is_some_and(|x| x == "csv" || x == "parquet") {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.path().join("s.toml"), &case.text).unwrap();
    let before = names_in(dir.path());
    let args: Vec<&str> = if run {
        vec!["run", "s.toml", "--out", "out", "--paths", PATHS, "--quiet"]
    } else {
        vec!["validate", "s.toml"]
    };
    let (code, stderr) = bounded(dir.path(), &args)?;
    match code {
        Some(0) => {
            if run {
                let mut want = before.clone();
                want.push("out".into());
                want.sort();
                let left = names_in(dir.path());
                if left != want {
                    return Err(format!("left on disk: {left:?}"));
                }
                all_finite(&dir.path().join("out"))?;
            }
            Ok(true)
        }
        Some(2) => {
            let line = stderr.trim_end();
            if line.lines().count() != 1 || !line.starts_with("contagion: error: ") {
                return Err(format!("not a one-line error: {stderr:?}"));
            }
            if let Some(k) = &case.key
                && !k.split('|').any(|k| line.contains(k))
            {
                return Err(format!("the error does not name `{k}`: {line}"));
            }
            let left = names_in(dir.path());
            if left != before {
                return Err(format!("left on disk after an error: {left:?}"));
            }
            Ok(false)
        }
        other => Err(format!("exit {other:?}: {stderr}")),
    }
}

#[test]
fn hostile_scenarios_end_in_a_clean_error_or_a_finite_run() {
    let full = std::env::var("CONTAGION_HOSTILE").is_ok_and(|v| v == "full");
    let mut all: Vec<(PathBuf, Case)> = Vec::new();
    for file in shipped() {
        let text = std::fs::read_to_string(&file).unwrap();
        for c in cases(&text) {
            all.push((file.clone(), c));
        }
    }
    assert!(all.len() > 1000, "only {} cases", all.len());
    // Two workers (the machine's cores); each case is its own process.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    let (accepted, ran) = (
        std::sync::atomic::AtomicUsize::new(0),
        std::sync::atomic::AtomicUsize::new(0),
    );
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((file, case)) = all.get(i) else {
                        break;
                    };
                    let base = file.parent().unwrap();
                    let report = |e: String| {
                        failures.lock().unwrap().push(format!(
                            "{}: {}: {e}",
                            file.display(),
                            case.what
                        ));
                    };
                    match check(base, case, false) {
                        Err(e) => report(e),
                        Ok(false) => {}
                        Ok(true) => {
                            let k = accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if full || case.extreme || k % SAMPLE == 0 {
                                ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                if let Err(e) = check(base, case, true) {
                                    report(e);
                                }
                            }
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "hostile: {} cases, {} accepted, {} run",
        all.len(),
        accepted.into_inner(),
        ran.into_inner()
    );
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
