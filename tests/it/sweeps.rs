//! Sweeps (docs/sweeps.md): common random numbers, shards, resume after a
//! kill, Slurm-style array tasks, bad input and recommendations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// SMALL as a base scenario, with a sweep over its ETH threshold.
fn setup(dir: &Path, sweep: &str) -> PathBuf {
    std::fs::write(
        dir.join("base.toml"),
        SMALL.replace("paths = 12", "paths = 24"),
    )
    .unwrap();
    let f = dir.join("sweep.toml");
    std::fs::write(&f, sweep).unwrap();
    f
}

const LT: &str = r#"
[sweep]
name = "lt"
scenario = "base.toml"
paths_per_unit = 10
record_paths = 3

[[axes]]
field = "protocols.lend.collateral.ETH.liquidation_threshold"
values = [0.8, 0.8, 0.77, 0.85]
"#;

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut m = BTreeMap::new();
    walk(dir, dir, &mut m);
    m
}

fn sweep_cli(cwd: &Path, args: &[&str]) -> std::process::Output {
    let out = cli(cwd, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Rows of a table of one run, without the `run` column (f64 columns only).
fn run_values(out: &Path, table: &str, run: u32, column: &str) -> Vec<f64> {
    let dir = out.join(table).join(format!("run={run:05}"));
    let mut parts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    parts.iter().flat_map(|p| f64s(&read(p), column)).collect()
}

/// Runs 0 and 1 have the same parameters: with common random numbers their
/// paths are identical, and run 2 (another threshold) differs.
#[test]
fn runs_with_the_same_parameters_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let f = setup(dir.path(), LT);
    sweep_cli(
        dir.path(),
        &["sweep", f.to_str().unwrap(), "--out", "out", "--quiet"],
    );
    let out = dir.path().join("out");
    for (table, col) in [
        ("paths", "bad_debt"),
        ("paths", "liquidated_value"),
        ("protocols", "debt_value"),
        ("market", "fundamental"),
    ] {
        let (a, b) = (
            run_values(&out, table, 0, col),
            run_values(&out, table, 1, col),
        );
        assert!(!a.is_empty());
        assert_eq!(a, b, "{table}.{col}");
    }
    // Same prices before the crash at step 10 (common random numbers: 3
    // assets × steps 0..=9), then different liquidations and impact.
    assert_eq!(
        run_values(&out, "market", 0, "fundamental")[..30],
        run_values(&out, "market", 2, "fundamental")[..30]
    );
    assert_ne!(
        run_values(&out, "paths", 0, "liquidated_value"),
        run_values(&out, "paths", 2, "liquidated_value")
    );
    // The dataset: run id and parameter columns in every file.
    let p = read(&out.join("paths/run=00003/part-0001.parquet"));
    assert_eq!(u32s(&p, "run"), vec![3; 10]);
    assert_eq!(
        f64s(&p, "protocols.lend.collateral.ETH.liquidation_threshold"),
        vec![0.85; 10]
    );
    assert_eq!(u32s(&p, "path"), (10..20).collect::<Vec<u32>>());
    let runs = read(&out.join("runs.parquet"));
    assert_eq!(u32s(&runs, "run"), [0, 1, 2, 3]);
    let bd = f64s(&runs, "bad_debt_mean");
    assert_eq!(bd[0], bd[1]);
    // runs.parquet agrees with the paths it summarises.
    let all = run_values(&out, "paths", 3, "bad_debt");
    assert_eq!(all.len(), 24);
    assert!(close(bd[3], all.iter().sum::<f64>() / 24.0));
    assert!(
        out.join("charts/bad_debt_vs_0_liquidation_threshold.png")
            .exists()
    );
}

/// Two shards (`--shard 0/2`, `--shard 1/2`) and a merge write exactly the
/// files one process writes.
#[test]
fn shards_then_merge_equal_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let f = setup(dir.path(), LT);
    let f = f.to_str().unwrap();
    sweep_cli(dir.path(), &["sweep", f, "--out", "one", "--quiet"]);
    sweep_cli(
        dir.path(),
        &["sweep", f, "--out", "two", "--shard", "1/2", "--quiet"],
    );
    let early = cli(dir.path(), &["sweep", f, "--out", "two", "--merge"]);
    assert_eq!(early.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&early.stderr).contains("not complete"));
    sweep_cli(
        dir.path(),
        &["sweep", f, "--out", "two", "--shard", "0/2", "--quiet"],
    );
    sweep_cli(
        dir.path(),
        &["sweep", f, "--out", "two", "--merge", "--quiet"],
    );
    let (a, b) = (
        files(&dir.path().join("one")),
        files(&dir.path().join("two")),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs");
    }
}

/// Slurm's way: the array variables pick the shard (ids from the array's
/// minimum, here 1..=3), and the emitted script says so.
#[test]
fn slurm_array_variables_pick_the_shard_and_the_script_is_an_array() {
    let dir = tempfile::tempdir().unwrap();
    let f = setup(dir.path(), LT);
    let f = f.to_str().unwrap();
    sweep_cli(dir.path(), &["sweep", f, "--out", "one", "--quiet"]);
    for id in 1..=3 {
        let out = Command::new(bin())
            .args(["sweep", f, "--out", "arr", "--quiet"])
            .current_dir(dir.path())
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_MIN", "1")
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    sweep_cli(
        dir.path(),
        &["sweep", f, "--out", "arr", "--merge", "--quiet"],
    );
    assert_eq!(
        files(&dir.path().join("one")),
        files(&dir.path().join("arr"))
    );
    let out = sweep_cli(
        dir.path(),
        &[
            "sweep",
            f,
            "--out",
            "slurm",
            "--emit-slurm",
            "--shards",
            "3",
            "--threads",
            "2",
        ],
    );
    let script_path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let script = std::fs::read_to_string(dir.path().join(script_path)).unwrap();
    for needle in [
        "#SBATCH --array=0-2",
        "#SBATCH --cpus-per-task=2",
        "%A_%a.out",
        "%A_%a.err",
        " sweep ",
        "--threads 2",
    ] {
        assert!(script.contains(needle), "`{needle}` not in:\n{script}");
    }
}

/// A sweep killed with SIGKILL and rerun produces exactly the dataset an
/// uninterrupted run produces: no lost rows, no duplicates, no leftovers.
#[test]
fn a_killed_sweep_resumes_to_the_same_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let big = LT
        .replace("paths_per_unit = 10", "paths_per_unit = 5\npaths = 60")
        .replace(
            "values = [0.8, 0.8, 0.77, 0.85]",
            "values = [0.76, 0.78, 0.8, 0.82, 0.84, 0.86]",
        );
    let f = setup(dir.path(), &big);
    let f = f.to_str().unwrap();
    sweep_cli(
        dir.path(),
        &["sweep", f, "--out", "clean", "--quiet", "--threads", "1"],
    );
    let units = dir.path().join("killed/units");
    let mut child = Command::new(bin())
        .args(["sweep", f, "--out", "killed", "--quiet", "--threads", "1"])
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    // Kill once a few units are done (or give up waiting and kill anyway).
    let started = std::time::Instant::now();
    loop {
        let done = std::fs::read_dir(&units)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
                })
                .count()
            })
            .unwrap_or(0);
        if done >= 4 || started.elapsed().as_secs() > 60 {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().ok(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the sweep finished before it could be killed"
    );
    let partial = std::fs::read_dir(&units).unwrap().count();
    assert!(partial < 72, "every unit was complete");
    let out = sweep_cli(
        dir.path(),
        &["sweep", f, "--out", "killed", "--threads", "1"],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("already complete"), "{said}");
    assert!(partial > 0, "the kill came before any unit finished");
    let (a, b) = (
        files(&dir.path().join("clean")),
        files(&dir.path().join("killed")),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs");
    }
}

#[test]
fn bad_sweeps_are_rejected_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let check = |text: &str, needle: &str| {
        let f = setup(dir.path(), text);
        let out = cli(
            dir.path(),
            &["sweep", f.to_str().unwrap(), "--out", "never"],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "`{needle}` not in: {err}");
        assert!(!dir.path().join("never").exists());
    };
    check(
        &LT.replace("collateral.ETH.liquidation", "collateral.ETX.liquidation"),
        "axes[0].field: `protocols.lend.collateral.ETX.liquidation_threshold` is not in the base scenario (no element `ETX`)",
    );
    check(
        &LT.replace("values = [0.8, 0.8, 0.77, 0.85]", "values = [0.8, 0.7]"),
        "run 00001 (protocols.lend.collateral.ETH.liquidation_threshold=0.7)",
    );
    check(
        &LT.replace("values = [0.8, 0.8, 0.77, 0.85]", "min = 0.8"),
        "axes[0].values",
    );
    check(
        &LT.replace("scenario = \"base.toml\"", "scenario = \"gone.toml\""),
        "gone.toml: cannot read",
    );
    check(
        &LT.replace("[[axes]]\nfield = \"protocols", "[[axes]]\nfield = \"populations.0.count\"\nvalues = [1]\n\n[[axes]]\nfield = \"protocols"),
        "changes the book",
    );
    check(
        &LT.replace("name = \"lt\"", "name = \"lt\"\nfoo = 1"),
        "unknown field `foo`",
    );
    // A folder holding another sweep is kept unless --force.
    let f = setup(dir.path(), LT);
    sweep_cli(
        dir.path(),
        &["sweep", f.to_str().unwrap(), "--out", "taken", "--quiet"],
    );
    let f = setup(dir.path(), &LT.replace("0.77", "0.76"));
    let out = cli(
        dir.path(),
        &["sweep", f.to_str().unwrap(), "--out", "taken", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    sweep_cli(
        dir.path(),
        &[
            "sweep",
            f.to_str().unwrap(),
            "--out",
            "taken",
            "--quiet",
            "--force",
        ],
    );
    let bad_shard = cli(
        dir.path(),
        &["sweep", f.to_str().unwrap(), "--shard", "2/2"],
    );
    assert_eq!(bad_shard.status.code(), Some(2));
}

/// The list, and a recommendation checked against runs.parquet directly.
#[test]
fn list_and_recommend() {
    let dir = tempfile::tempdir().unwrap();
    let f = setup(dir.path(), LT);
    let f = f.to_str().unwrap();
    let out = sweep_cli(dir.path(), &["sweep", f, "--list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "run\tprotocols.lend.collateral.ETH.liquidation_threshold",
            "00000\t0.8",
            "00001\t0.8",
            "00002\t0.77",
            "00003\t0.85"
        ]
    );
    sweep_cli(dir.path(), &["sweep", f, "--out", "s", "--quiet"]);
    let runs = read(&dir.path().join("s/runs.parquet"));
    let lt = f64s(&runs, "protocols.lend.collateral.ETH.liquidation_threshold");
    let var = f64s(&runs, "liquidated_value_p95");
    let debt = f64s(&runs, "initial_debt_usd");
    // A budget between the lowest and highest value of the metric.
    let mut shares: Vec<f64> = var.iter().zip(&debt).map(|(v, d)| v / d).collect();
    shares.sort_by(f64::total_cmp);
    let budget = 0.5 * (shares[0] + shares[3]);
    let want = (0..4)
        .filter(|&k| var[k] <= budget * debt[k])
        .map(|k| lt[k])
        .fold(f64::NEG_INFINITY, f64::max);
    let out = sweep_cli(
        dir.path(),
        &[
            "recommend",
            "s",
            "--metric",
            "liquidated_value_p95",
            "--max-share-of-debt",
            &budget.to_string(),
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "recommend protocols.lend.collateral.ETH.liquidation_threshold = {want}"
        )),
        "{said}"
    );
    let out = cli(
        dir.path(),
        &["recommend", "s", "--metric", "nope", "--max-usd", "1"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no column `nope`"));
}

/// The sweep's manifest (hash, seed, version, run, parameters) in every
/// file, and a heatmap for a two-parameter grid.
#[test]
fn every_file_carries_the_sweep_manifest_and_a_2d_grid_gets_a_heatmap() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let grid = LT.replace(
        "values = [0.8, 0.8, 0.77, 0.85]",
        "values = [0.77, 0.8]\n\n[[axes]]\nfield = \"protocols.lend.collateral.ETH.liquidation_bonus\"\nvalues = [0.03, 0.08]",
    );
    let f = setup(dir.path(), &grid);
    sweep_cli(
        dir.path(),
        &["sweep", f.to_str().unwrap(), "--out", "g", "--quiet"],
    );
    let out = dir.path().join("g");
    let sweep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    let hash = sweep["hash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 16);
    let mut checked = 0;
    for (rel, _) in files(&out) {
        if !rel.ends_with(".parquet") {
            continue;
        }
        let mut reader = ParquetReader::new(std::fs::File::open(out.join(&rel)).unwrap());
        let meta = reader.get_metadata().unwrap();
        let value = meta
            .key_value_metadata()
            .as_ref()
            .and_then(|kv| kv.iter().find(|k| k.key == "contagion.manifest"))
            .and_then(|k| k.value.clone())
            .unwrap_or_else(|| panic!("{rel}: no manifest"));
        let m: serde_json::Value = serde_json::from_str(&value).unwrap();
        assert_eq!(m["sweep"]["hash"], hash.as_str(), "{rel}");
        assert_eq!(m["sweep"]["seed"], 5, "{rel}");
        assert_eq!(m["version"], env!("CARGO_PKG_VERSION"), "{rel}");
        if rel.starts_with("paths/run=00003") {
            assert_eq!(
                m["params"]["protocols.lend.collateral.ETH.liquidation_bonus"],
                0.08
            );
        }
        checked += 1;
    }
    // 4 runs × 3 units × 4 tables, and runs.parquet.
    assert_eq!(checked, 4 * 3 * 4 + 1);
    assert!(out.join("charts/heatmap_bad_debt_mean.png").exists());
    let runs = read(&out.join("runs.parquet"));
    assert_eq!(
        f64s(&runs, "protocols.lend.collateral.ETH.liquidation_bonus"),
        [0.03, 0.08, 0.03, 0.08]
    );
}
