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
    assert!(!stdout(&v).contains("CDPs"), "{}", stdout(&v));
    let bt = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/black-thursday.toml");
    let v = cli(dir.path(), &["validate", bt.to_str().unwrap()]);
    assert!(
        stdout(&v).contains("CDPs: 1 (1500 vaults), 720 steps"),
        "{}",
        stdout(&v)
    );
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
    let claims = ["scenario_claims.rs", "options.rs", "governance_scenario.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(tests.join(f)).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            let sc = Scenario::load(&p, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
            let agents = sc.book.len()
                + sc.perp_book.accounts()
                + sc.hedgers.len()
                + sc.cdps.iter().map(|c| c.vaults.len()).sum::<usize>();
            assert!(agents > 0, "{}: nobody to simulate", p.display());
            let text = std::fs::read_to_string(&p).unwrap();
            // After the line naming its schema (tests/it/schema.rs).
            let body = text.split_once('\n').map_or("", |(_, rest)| rest);
            assert!(
                body.starts_with("# contagion"),
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

/// BOOK_SCENARIO reading `book.{format}`.
fn book_scenario(format: &str) -> String {
    edit(
        BOOK_SCENARIO,
        &[Edit::Set(
            "positions_file",
            format!("book.{format}").as_str().into(),
        )],
    )
}

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
    std::fs::write(&s, book_scenario("csv")).unwrap();
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
    std::fs::write(&s, book_scenario("parquet")).unwrap();
    check_imported(&Scenario::load(&s, &Overrides::default()).unwrap());
}

/// Entries of a folder, sorted (empty when the folder does not exist).
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Wait (at most 60 s) until `ready` holds, or the child exits.
fn wait_for(child: &mut std::process::Child, ready: impl Fn() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed().as_secs() < 60 {
        if ready() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// Send `signal` to the child, then wait at most 30 s for it to exit
/// (killing it if it does not, and failing).
fn signal_and_wait(child: &mut std::process::Child, signal: &str) -> std::process::ExitStatus {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if started.elapsed().as_secs() > 30 {
            child.kill().ok();
            panic!("SIG{signal} did not stop the run");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A run long enough to be interrupted (it is, within a second).
fn long_scenario(dir: &Path) {
    std::fs::write(
        dir.join("long.toml"),
        edit(
            SMALL,
            &[
                Edit::Set("simulation.paths", val("1000000")),
                Edit::Set("simulation.record_paths", val("1000")),
            ],
        ),
    )
    .unwrap();
}

/// Issue 10, item 9: Ctrl-C, SIGTERM and SIGHUP remove the staging folder
/// and exit 130, 143 and 129; what a SIGKILL left is cleared by the next
/// run into the same folder, which says so.
#[test]
fn interrupted_runs_leave_nothing_and_stale_staging_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    long_scenario(dir.path());
    let out = dir.path().join("out");
    for (signal, code) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let mut child = std::process::Command::new(bin())
            .args(["run", "long.toml", "--out", "out/x", "--quiet"])
            .current_dir(dir.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Interrupt once the staging folder exists.
        let started = wait_for(&mut child, || {
            entries(&out).iter().any(|n| n.starts_with(".x.tmp-"))
        });
        assert!(started, "no staging folder appeared");
        if signal == "TERM" {
            // Once in the middle of writing tables, not only at the start.
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        let status = signal_and_wait(&mut child, signal);
        assert_eq!(status.code(), Some(code), "SIG{signal}");
        assert_eq!(entries(&out), Vec::<String>::new(), "after SIG{signal}");
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(err.contains(&format!("SIG{signal}")), "{err}");
    }
    // SIGKILL cannot be caught: the staging folder stays, and the next run
    // into the same parent removes it. A process that has exited stands
    // for the killed one.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let stale = out.join(format!(".y.tmp-{dead}"));
    std::fs::create_dir_all(stale.join("charts")).unwrap();
    std::fs::write(stale.join("paths.parquet"), "half").unwrap();
    // A live process's staging folder (this test's) is left alone.
    let live = out.join(format!(".z.tmp-{}", std::process::id()));
    std::fs::create_dir_all(&live).unwrap();
    std::fs::write(dir.path().join("s.toml"), SMALL).unwrap();
    let o = cli(
        dir.path(),
        &["run", "s.toml", "--out", "out/small", "--quiet"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(".y.tmp-{dead}")) && err.contains("no longer running"),
        "{err}"
    );
    assert_eq!(
        entries(&out),
        [
            format!(".z.tmp-{}", std::process::id()),
            "small".to_string()
        ]
    );
}

/// Issue 10, item 10: `--out` naming a file is refused before simulating
/// (even with --force), and the file is kept; two --force runs at once into
/// one folder both succeed and leave only the folder.
#[test]
fn a_file_is_never_replaced_and_concurrent_forced_runs_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    long_scenario(dir.path());
    std::fs::write(dir.path().join("results.csv"), "mine").unwrap();
    let started = std::time::Instant::now();
    let o = cli(
        dir.path(),
        &[
            "run",
            "long.toml",
            "--out",
            "results.csv",
            "--force",
            "--quiet",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("results.csv") && err.contains("not a folder"),
        "{err}"
    );
    // Refused before the million paths were simulated.
    assert!(started.elapsed().as_secs() < 20);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("results.csv")).unwrap(),
        "mine"
    );
    assert_eq!(entries(dir.path()), ["long.toml", "results.csv"]);

    std::fs::write(dir.path().join("s.toml"), SMALL).unwrap();
    let first = cli(dir.path(), &["run", "s.toml", "--out", "r", "--quiet"]);
    assert!(first.status.success());
    for _ in 0..3 {
        let spawn = |seed: &str| {
            std::process::Command::new(bin())
                .args([
                    "run", "s.toml", "--out", "r", "--force", "--quiet", "--seed", seed,
                ])
                .current_dir(dir.path())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("1"), spawn("2"));
        for c in [a, b] {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        assert_eq!(
            entries(dir.path()),
            ["long.toml", "r", "results.csv", "s.toml"]
        );
        assert_eq!(read(&dir.path().join("r/paths.parquet")).height(), 12);
    }
}
