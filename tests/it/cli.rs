//! End-to-end tests of the command line.

use std::path::Path;

use contagion::{Overrides, Scenario};
use polars::prelude::*;

use crate::common::*;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn run_validate_and_force_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), SMALL).unwrap();

    let v = cli(dir.path(), &["validate", "s.toml"]);
    assert!(v.status.success());
    assert!(
        stdout(&v).contains("valid — scenario `small`"),
        "{}",
        stdout(&v)
    );
    assert!(stdout(&v).contains("201 positions"));
    assert!(
        !dir.path().join("output").exists(),
        "validate writes nothing"
    );

    let r = cli(dir.path(), &["run", "s.toml", "--threads", "2"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(stdout(&r).contains("small: 12 paths × 30 steps, 201 positions"));
    let out = dir.path().join("output/small");
    let before = std::fs::read(out.join("paths.parquet")).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();

    // A second run must not overwrite without --force.
    let again = cli(dir.path(), &["run", "s.toml", "--seed", "9", "--quiet"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(std::fs::read(out.join("paths.parquet")).unwrap(), before);
    assert!(out.join("notes.txt").exists());

    // With --force the folder is replaced whole.
    let forced = cli(
        dir.path(),
        &["run", "s.toml", "--seed", "9", "--quiet", "--force"],
    );
    assert!(forced.status.success());
    assert!(stdout(&forced).is_empty(), "--quiet prints nothing");
    assert!(!out.join("notes.txt").exists());
    assert_ne!(std::fs::read(out.join("paths.parquet")).unwrap(), before);

    // --out and --paths.
    let custom = cli(
        dir.path(),
        &[
            "run",
            "s.toml",
            "--quiet",
            "--out",
            "elsewhere/x",
            "--paths",
            "3",
        ],
    );
    assert!(custom.status.success());
    assert_eq!(
        read(&dir.path().join("elsewhere/x/paths.parquet")).height(),
        3
    );
}

#[test]
fn no_arguments_run_the_default_scenario_into_output_default() {
    let dir = tempfile::tempdir().unwrap();
    let o = cli(dir.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("output/default");
    let paths = read(&out.join("paths.parquet"));
    assert_eq!(paths.height(), 1000);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["positions"], 2000);
    assert_eq!(summary["steps"], 168);
    // The crash liquidates on every path.
    assert_eq!(summary["liquidations"]["prob_positive"], 1.0);
}

#[test]
fn help_documents_each_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let h = stdout(&cli(dir.path(), &["--help"]));
    for word in ["run", "validate", "default scenario"] {
        assert!(h.contains(word), "--help lacks {word}: {h}");
    }
    let r = stdout(&cli(dir.path(), &["run", "--help"]));
    for flag in [
        "--paths",
        "--seed",
        "--threads",
        "--out",
        "--force",
        "--quiet",
    ] {
        assert!(r.contains(flag), "run --help lacks {flag}");
    }
}

#[test]
fn every_shipped_scenario_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let claims = ["scenario_claims.rs", "options.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(tests.join(f)).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            let sc = Scenario::load(&p, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
            let agents = sc.book.len() + sc.perp_book.accounts() + sc.hedgers.len();
            assert!(agents > 0, "{}: nobody to simulate", p.display());
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                text.starts_with("# contagion"),
                "{}: needs its comment block",
                p.display()
            );
            // Its comment's claim is checked by a test that runs it.
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            let quoted = format!("\"{stem}\"");
            assert!(
                claims.contains(&quoted),
                "{}: no test checks what its comment claims (tests/it/scenario_claims.rs)",
                p.display()
            );
            n += 1;
        }
    }
    assert!(n >= 4);
}

const BOOK_SCENARIO: &str = r#"
positions_file = "book.FORMAT"

[simulation]
name = "book"
steps = 5
paths = 2

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "BTC"
price = 40000.0

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
max_ltv = 0.75

[[protocols.collateral]]
asset = "BTC"
liquidation_threshold = 0.75
liquidation_bonus = 0.05
max_ltv = 0.7
"#;

fn check_imported(sc: &Scenario) {
    // Two accounts: 0xa (BTC + ETH, listed BTC first) and 0xb (ETH).
    let b = &sc.book;
    assert_eq!(b.len(), 2);
    assert_eq!(b.debt, [50000.0, 1000.0]);
    // Entries are in scenario asset order: ETH (0) before BTC (1).
    assert_eq!(b.coll_asset[b.coll_range(0)], [0, 1]);
    assert_eq!(b.coll_units[b.coll_range(0)], [10.0, 1.5]);
    assert_eq!(b.coll_units[b.coll_range(1)], [2.0]);
}

#[test]
fn a_csv_book_snapshot_is_imported_with_multi_collateral_positions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("book.csv"),
        "id,protocol,asset,units,debt\n0xa,lend,BTC,1.5,50000\n0xb,lend,ETH,2,1000\n0xa,lend,ETH,10,50000\n",
    )
    .unwrap();
    let s = dir.path().join("s.toml");
    std::fs::write(&s, BOOK_SCENARIO.replace("FORMAT", "csv")).unwrap();
    check_imported(&Scenario::load(&s, &Overrides::default()).unwrap());

    // Rows of one id that disagree on debt are rejected, naming the row.
    std::fs::write(
        dir.path().join("book.csv"),
        "id,protocol,asset,units,debt\n0xa,lend,BTC,1.5,50000\n0xa,lend,ETH,10,40000\n",
    )
    .unwrap();
    let e = Scenario::load(&s, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 2 (id 0xa).debt"), "{e}");
    // A collateral the protocol does not accept.
    std::fs::write(
        dir.path().join("book.csv"),
        "id,protocol,asset,units,debt\n1,lend,USDC,5,1\n",
    )
    .unwrap();
    let e = Scenario::load(&s, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not collateral in `lend`"), "{e}");
}

#[test]
fn a_parquet_book_snapshot_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = df!(
        "id" => [1i64, 2, 1],
        "protocol" => ["lend", "lend", "lend"],
        "asset" => ["BTC", "ETH", "ETH"],
        "units" => [1.5, 2.0, 10.0],
        "debt" => [50000.0, 1000.0, 50000.0],
    )
    .unwrap();
    let f = std::fs::File::create(dir.path().join("book.parquet")).unwrap();
    ParquetWriter::new(f).finish(&mut df).unwrap();
    let s = dir.path().join("s.toml");
    std::fs::write(&s, BOOK_SCENARIO.replace("FORMAT", "parquet")).unwrap();
    check_imported(&Scenario::load(&s, &Overrides::default()).unwrap());
}
