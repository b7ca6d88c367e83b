//! The output contract of docs/model.md §8: files, columns, types, metadata, and
//! summary figures that agree with the paths table.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::common::*;

fn run_small(dir: &Path) -> std::path::PathBuf {
    std::fs::write(dir.join("s.toml"), SMALL).unwrap();
    let out = cli(dir, &["run", "s.toml", "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("output/small")
}

fn schema_of(df: &DataFrame) -> Vec<(String, DataType)> {
    df.schema()
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect()
}

fn expect_schema(df: &DataFrame, want: &[(&str, DataType)]) {
    let want: Vec<(String, DataType)> = want
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    assert_eq!(schema_of(df), want);
}

#[test]
fn every_file_of_the_contract_exists_with_its_columns_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_small(dir.path());
    for f in [
        "manifest.json",
        "summary.json",
        "market.parquet",
        "protocols.parquet",
        "liquidations.parquet",
        "paths.parquet",
        "graph_nodes.parquet",
        "graph_edges.parquet",
        "charts/collateral_graph.png",
        "charts/price_fan_ETH.png",
        "charts/price_fan_BTC.png",
        "charts/bad_debt.png",
        "charts/liquidated_value.png",
        "charts/cascade_depth.png",
    ] {
        let p = out.join(f);
        assert!(
            p.is_file() && p.metadata().unwrap().len() > 0,
            "{f} missing or empty"
        );
    }
    // No staging folder is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("output"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["small"]);

    use DataType::*;
    expect_schema(
        &read(&out.join("market.parquet")),
        &[
            ("path", Int64),
            ("step", Int64),
            ("asset", String),
            ("fundamental", Float64),
            ("pool_price", Float64),
        ],
    );
    expect_schema(
        &read(&out.join("protocols.parquet")),
        &[
            ("path", Int64),
            ("step", Int64),
            ("protocol", String),
            ("collateral_value", Float64),
            ("debt_value", Float64),
            ("liquidations", UInt32),
            ("repaid_value", Float64),
            ("seized_value", Float64),
            ("bad_debt", Float64),
            ("bad_debt_contagion", Float64),
            ("bad_debt_cum", Float64),
            ("insolvent_debt", Float64),
            ("cascade_rounds", UInt32),
            ("cascade_capped", Boolean),
            ("share_value", Float64),
            ("cash_value", Float64),
            ("reserve_value", Float64),
            ("socialised_cum", Float64),
            ("utilisation", Float64),
            ("borrow_rate", Float64),
            ("withdrawn_value", Float64),
            ("deleveraged_value", Float64),
        ],
    );
    expect_schema(
        &read(&out.join("liquidations.parquet")),
        &[
            ("path", Int64),
            ("step", Int64),
            ("round", Int64),
            ("protocol", String),
            ("position", Int64),
            ("liquidator", String),
            ("asset", String),
            ("repaid", Float64),
            ("repaid_value", Float64),
            ("seized", Float64),
            ("seized_value", Float64),
            ("oracle_price", Float64),
            ("health_factor", Float64),
            ("gas", Float64),
            ("bad_debt", Float64),
            ("proceeds_value", Float64),
            ("bad_debt_contagion", Float64),
            ("by_change", Boolean),
        ],
    );
    expect_schema(
        &read(&out.join("paths.parquet")),
        &[
            ("path", Int64),
            ("bad_debt", Float64),
            ("bad_debt_contagion", Float64),
            ("insolvent_debt", Float64),
            ("liquidations", UInt32),
            ("positions_liquidated", UInt32),
            ("liquidated_value", Float64),
            ("max_cascade_rounds", UInt32),
            ("capped_steps", UInt32),
            ("max_drawdown", Float64),
            ("perp_liquidations", UInt32),
            ("perp_adl_events", UInt32),
            ("perp_fund_drawn", Float64),
            ("perp_vault_bad_debt", Float64),
            ("attack_pnl", Float64),
            ("attack_borrowed", Float64),
            ("attack_bad_debt", Float64),
            ("raid_pnl", Float64),
            ("raid_liquidated", Float64),
            ("raid_bad_debt", Float64),
            ("debtrank", Float64),
            ("clearing_shortfall", Float64),
            ("clearing_defaults", UInt32),
        ],
    );
}

#[test]
fn parquet_files_carry_the_manifest_and_rows_are_ordered_by_path_then_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_small(dir.path());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    for key in [
        "version",
        "git_commit",
        "scenario_name",
        "scenario",
        "seed",
        "paths",
        "steps",
        "created_at",
        "wall_seconds",
    ] {
        assert!(manifest.get(key).is_some(), "manifest.json lacks {key}");
    }
    assert_eq!(manifest["scenario"]["simulation"]["paths"], 12);
    assert_build_commit(&manifest["git_commit"]);
    for t in ["market", "protocols", "liquidations", "paths"] {
        let mut reader = ParquetReader::new(File::open(out.join(format!("{t}.parquet"))).unwrap());
        let meta = reader.get_metadata().unwrap();
        let kv = meta
            .key_value_metadata()
            .as_ref()
            .expect("key-value metadata");
        let value = kv
            .iter()
            .find(|k| k.key == "contagion.manifest")
            .and_then(|k| k.value.clone())
            .unwrap_or_else(|| panic!("{t}: no contagion.manifest"));
        let embedded: serde_json::Value = serde_json::from_str(&value).unwrap();
        assert_eq!(embedded["scenario"], manifest["scenario"]);
        assert_eq!(embedded["seed"], 5);
        assert_eq!(embedded["git_commit"], manifest["git_commit"]);
    }
    // Long format, keys first, ordered by path then step.
    let market = read(&out.join("market.parquet"));
    let keys: Vec<(u32, u32)> = u32s(&market, "path")
        .into_iter()
        .zip(u32s(&market, "step"))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]));
    // record_paths = 8: time series for paths 0..8 only; paths table for all 12.
    assert_eq!(*keys.last().unwrap(), (7, 30));
    assert_eq!(market.height(), 8 * 31 * 3);
    assert_eq!(
        u32s(&read(&out.join("paths.parquet")), "path"),
        (0..12).collect::<Vec<_>>()
    );
}

/// numpy's default ("linear") quantile, written out independently.
fn np_quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pos = q * (v.len() - 1) as f64;
    let (i, frac) = (pos as usize, pos.fract());
    if i + 1 < v.len() {
        v[i] * (1.0 - frac) + v[i + 1] * frac
    } else {
        v[i]
    }
}

fn shortfall(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let k = ((1.0 - q) * v.len() as f64).round().max(1.0) as usize;
    v[..k].iter().sum::<f64>() / k as f64
}

#[test]
fn summary_figures_agree_with_the_paths_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), SMALL).unwrap();
    // 200 paths: (1 − q)·n is a whole number for q = 0.95 and 0.99.
    let out = cli(dir.path(), &["run", "s.toml", "--quiet", "--paths", "200"]);
    assert!(out.status.success());
    let out = dir.path().join("output/small");
    let paths = read(&out.join("paths.parquet"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    for metric in ["bad_debt", "insolvent_debt", "liquidated_value"] {
        let v = f64s(&paths, metric);
        let s = &summary[metric];
        let g = |k: &str| s[k].as_f64().unwrap();
        assert!(close(g("var95"), np_quantile(&v, 0.95)), "{metric} var95");
        assert!(close(g("var99"), np_quantile(&v, 0.99)), "{metric} var99");
        assert!(close(g("es95"), shortfall(&v, 0.95)), "{metric} es95");
        assert!(close(g("es99"), shortfall(&v, 0.99)), "{metric} es99");
        assert!(
            close(g("mean"), v.iter().sum::<f64>() / v.len() as f64),
            "{metric} mean"
        );
        let positive = v.iter().filter(|&&x| x > 0.0).count() as f64 / v.len() as f64;
        assert!(close(g("prob_positive"), positive));
    }
    let h = &summary["headline"];
    assert_eq!(
        h["var95_insolvent_debt"],
        summary["insolvent_debt"]["var95"]
    );
    assert_eq!(
        h["lar95_liquidated_value"],
        summary["liquidated_value"]["var95"]
    );
    assert_eq!(
        h["extreme_var99_insolvent_debt"],
        summary["insolvent_debt"]["var99"]
    );
    // The scenario is a crash: something must have happened.
    assert!(summary["liquidated_value"]["mean"].as_f64().unwrap() > 0.0);
}

#[test]
fn tables_are_consistent_with_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_small(dir.path());
    let protocols = read(&out.join("protocols.parquet"));
    let liqs = read(&out.join("liquidations.parquet"));
    let paths = read(&out.join("paths.parquet"));
    let (p, t) = (u32s(&protocols, "path"), u32s(&protocols, "step"));
    let debt = f64s(&protocols, "debt_value");
    let repaid = f64s(&protocols, "repaid_value");
    let bad = f64s(&protocols, "bad_debt");
    let cum = f64s(&protocols, "bad_debt_cum");
    let n_liq = u32s(&protocols, "liquidations");
    // The debt asset is fixed at 1 USD: debt falls by exactly what was repaid
    // plus what was written off.
    for i in 1..debt.len() {
        if p[i] == p[i - 1] {
            assert_eq!(t[i], t[i - 1] + 1);
            let fall = debt[i - 1] - debt[i];
            assert!(
                (fall - repaid[i] - bad[i]).abs() < 1e-6 * debt[0],
                "path {} step {}",
                p[i],
                t[i]
            );
            assert!((cum[i] - cum[i - 1] - bad[i]).abs() < 1e-9 * cum[i].max(1.0));
        }
    }
    // Per-step counts add up to the liquidation rows; per-path totals match.
    let lp = u32s(&liqs, "path");
    assert_eq!(n_liq.iter().map(|&n| n as usize).sum::<usize>(), lp.len());
    let seized = f64s(&liqs, "seized_value");
    let repaid_rows = f64s(&liqs, "repaid_value");
    let hf = f64s(&liqs, "health_factor");
    assert!(
        hf.iter().all(|&h| h < 1.0),
        "only positions below HF 1 are liquidated"
    );
    for (i, (&s, &r)) in seized.iter().zip(&repaid_rows).enumerate() {
        // Seized value = repaid value × (1 + bonus), bonus 5% (ETH) or 8% (BTC).
        let ratio = s / r;
        assert!(
            (ratio - 1.05).abs() < 1e-9 || (ratio - 1.08).abs() < 1e-9,
            "row {i}: {ratio}"
        );
    }
    let pl = u32s(&paths, "liquidations");
    let pv = f64s(&paths, "liquidated_value");
    for path in 0..8u32 {
        let rows: Vec<usize> = (0..lp.len()).filter(|&i| lp[i] == path).collect();
        assert_eq!(pl[path as usize] as usize, rows.len());
        let total: f64 = rows.iter().map(|&i| seized[i]).sum();
        assert!((pv[path as usize] - total).abs() <= 1e-6 * total.max(1.0));
    }
}

/// docs/tables.md is what the tables' declarations say (regenerate with
/// `CONTAGION_BLESS=1`).
#[test]
fn docs_tables_md_is_generated_from_the_declarations() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tables.md");
    let want = contagion::output::table::markdown();
    if std::env::var_os("CONTAGION_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/tables.md is out of date: run CONTAGION_BLESS=1 cargo test --release --test it contract::"
    );
}

/// Each per-step file has exactly the declared columns, with the declared
/// types, after `path` (a run with perps and option agents writes all five).
#[test]
fn per_step_files_have_the_declared_columns_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/short-gamma-crash.toml");
    let perps = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/perp-adl.toml");
    let mut seen = Vec::new();
    for (file, name) in [(scenario, "a"), (perps, "b")] {
        let out = dir.path().join(name);
        let o = cli(
            dir.path(),
            &[
                "run",
                file.to_str().unwrap(),
                "--paths",
                "2",
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for t in contagion::output::table::step_tables() {
            let f = out.join(t.file());
            if !f.exists() {
                continue;
            }
            let df = read(&f);
            let have = schema_of(&df);
            assert_eq!(have.len(), t.columns.len() + 1, "{}", t.file());
            assert_eq!(have[0], ("path".to_string(), DataType::Int64));
            for ((n, ty), c) in have[1..].iter().zip(t.columns) {
                assert_eq!(n, c.name, "{}", t.file());
                let declared = match c.dtype {
                    "Int64" => DataType::Int64,
                    "UInt32" => DataType::UInt32,
                    "Float64" | "Float64, nullable" => DataType::Float64,
                    "Boolean" => DataType::Boolean,
                    "String" => DataType::String,
                    other => panic!("unknown declared type {other}"),
                };
                assert_eq!(ty, &declared, "{}: {n}", t.file());
            }
            seen.push(t.name);
        }
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen,
        ["greeks", "liquidations", "market", "perps", "protocols"],
        "every declared table was checked"
    );
}

/// The paths table covers every path, recorded or not (docs/model.md §8):
/// insolvent debt at the last step is worked out for the paths that keep no
/// time series too. One position, 10 ETH against 15,000 USDC; ETH halves at
/// step 1 and nobody liquidates, so every path ends 15,000 − 10·1,000 =
/// 5,000 short, and only path 0 is recorded.
#[test]
fn unrecorded_paths_report_their_insolvent_debt() {
    let text = r#"
[simulation]
name = "insolvent"
steps = 3
paths = 3
record_paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

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

[[positions]]
protocol = "lend"
debt = 15000.0
collateral = { ETH = 10.0 }

[[shocks]]
step = 1
asset = "ETH"
return = -0.5
"#;
    let sc = scenario(text, &Default::default());
    let dir = tempfile::tempdir().unwrap();
    let report = run_into(&sc, dir.path(), "run", Some(1));
    let paths = read(&dir.path().join("run/paths.parquet"));
    let insolvent = f64s(&paths, "insolvent_debt");
    assert_eq!(insolvent.len(), 3);
    for (p, v) in insolvent.iter().enumerate() {
        assert!((v - 5000.0).abs() < 1e-6, "path {p}: {v}");
    }
    let by_protocol = read(&dir.path().join("run/path_protocols.parquet"));
    assert!(
        f64s(&by_protocol, "insolvent_debt")
            .iter()
            .all(|v| (v - 5000.0).abs() < 1e-6)
    );
    assert!((report.summary.insolvent_debt.mean - 5000.0).abs() < 1e-6);
}
