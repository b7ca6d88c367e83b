//! The JSON Schemas of scenario and sweep files (`contagion schema`): the
//! copies in `schema/` are what the types generate, every shipped file
//! points to its schema and is valid under it, and the schema refuses what
//! the reader refuses (an unknown field, a wrong type).

use std::path::{Path, PathBuf};

use contagion::scenario::schema::{SchemaKind, schema_json};

use crate::common::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// The shipped files of each kind.
fn shipped(kind: SchemaKind) -> Vec<PathBuf> {
    match kind {
        SchemaKind::Scenario => {
            let mut f = toml_files(&root().join("scenarios"));
            f.extend(toml_files(&root().join("scenarios/bench")));
            f.extend(toml_files(&root().join("scenarios/research")));
            f
        }
        SchemaKind::Sweep => toml_files(&root().join("scenarios/sweeps")),
    }
}

fn validator(kind: SchemaKind) -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&schema_json(kind)).unwrap();
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// A TOML text as the JSON value a schema validator reads.
fn as_json(text: &str) -> serde_json::Value {
    serde_json::to_value(toml::from_str::<toml::Value>(text).unwrap()).unwrap()
}

fn errors(v: &jsonschema::Validator, text: &str) -> Vec<String> {
    v.iter_errors(&as_json(text))
        .map(|e| e.to_string())
        .collect()
}

/// schema/*.json is what the types generate (regenerate with
/// `CONTAGION_BLESS=1 cargo test --release --test it schema::`).
#[test]
fn the_schema_files_are_generated_from_the_types() {
    for kind in [SchemaKind::Scenario, SchemaKind::Sweep] {
        let path = root().join(kind.file());
        let want = schema_json(kind);
        if std::env::var_os("CONTAGION_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            got == want,
            "{} is out of date: run CONTAGION_BLESS=1 cargo test --release --test it schema::",
            kind.file()
        );
    }
    let out = cli(root(), &["schema", "sweep"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        schema_json(SchemaKind::Sweep)
    );
}

/// Every shipped scenario and sweep names its schema on its first line
/// (`#:schema`, read by taplo and Even Better TOML) and is valid under it.
#[test]
fn every_shipped_file_points_to_its_schema_and_is_valid() {
    for kind in [SchemaKind::Scenario, SchemaKind::Sweep] {
        let v = validator(kind);
        let files = shipped(kind);
        assert!(!files.is_empty());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let first = text.lines().next().unwrap_or_default();
            let target = first
                .strip_prefix("#:schema ")
                .unwrap_or_else(|| panic!("{}: first line is not `#:schema …`", f.display()));
            let schema = f.parent().unwrap().join(target.trim());
            assert_eq!(
                std::fs::canonicalize(&schema).ok(),
                std::fs::canonicalize(root().join(kind.file())).ok(),
                "{}: points to {target}",
                f.display()
            );
            let e = errors(&v, &text);
            assert!(e.is_empty(), "{}: {e:?}", f.display());
        }
    }
}

/// What the reader refuses, the schema refuses: a misspelled field, a
/// string for a number, an unknown price process; and a minimal valid file
/// passes both.
#[test]
fn the_schema_refuses_what_the_reader_refuses() {
    let v = validator(SchemaKind::Scenario);
    let good = r#"
[simulation]
name = "s"
steps = 3

[[assets]]
symbol = "ETH"
price = 2000.0
process = { kind = "gbm", vol = 0.5 }

[[assets]]
symbol = "USDC"
price = 1.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7
"#;
    assert!(errors(&v, good).is_empty(), "{:?}", errors(&v, good));
    scenario(good, &Default::default());
    for (from, to) in [
        ("steps = 3", "stepz = 3"),
        ("steps = 3", "steps = \"three\""),
        ("kind = \"gbm\"", "kind = \"brownian\""),
        ("max_ltv = 0.7", "max_ltv = 0.7\nmaxltv = 0.7"),
    ] {
        let bad = good.replace(from, to);
        assert!(!errors(&v, &bad).is_empty(), "the schema accepts {to}");
        assert!(!scenario_error(&bad).is_empty(), "the reader accepts {to}");
    }
}
