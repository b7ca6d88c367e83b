//! CDP vault books (docs/model.md §17): vaults read from a snapshot file
//! (`vaults_file`) are the vaults a population drew, in the documented
//! order; a bad file is refused with the file, row and column named; and
//! the bark order reads each vault type's own rate index.

use std::path::Path;

use contagion::engine::World;
use contagion::{Overrides, Scenario};

use crate::cdp::{CRASH_DUTCH, DUTCH, crash, one_vault, run, with_btc_type};
use crate::common::*;

/// `text` validated as a file in `dir` (so `vaults_file` resolves there).
fn in_dir(dir: &Path, text: &str) -> Result<Scenario, String> {
    Scenario::from_toml(text, "s.toml", dir, &Overrides::default()).map_err(|e| e.to_string())
}

/// The crash scenario's population of 300 vaults without the population.
fn crash_without_population() -> String {
    let text = crash(CRASH_DUTCH);
    let at = text.find("[[cdps.vault_populations]]").unwrap();
    text[..at].to_string()
}

fn csv_of(vaults: &[(usize, f64, f64)]) -> String {
    let mut s = String::from("collateral,units,debt\n");
    for v in vaults {
        assert_eq!(v.0, 0, "one vault type, ETH");
        s.push_str(&format!("ETH,{:?},{:?}\n", v.1, v.2));
    }
    s
}

/// A population's 300 drawn vaults, written to CSV and to Parquet and read
/// back through `vaults_file`, are the same vaults to the bit, and the
/// path run on them is the same path: every auction, every step of the
/// CDP's record.
#[test]
fn a_vault_snapshot_runs_as_the_population_it_was_written_from() {
    let drawn = scenario(&crash(CRASH_DUTCH), &Overrides::default());
    let vaults = drawn.cdps[0].vaults.clone();
    assert_eq!(vaults.len(), 300);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vaults.csv"), csv_of(&vaults)).unwrap();
    {
        use polars::prelude::*;
        let mut df = df!(
            "collateral" => vec!["ETH"; vaults.len()],
            "units" => vaults.iter().map(|v| v.1).collect::<Vec<_>>(),
            "debt" => vaults.iter().map(|v| v.2).collect::<Vec<_>>(),
            "note" => vec![1i64; vaults.len()],
        )
        .unwrap();
        let f = std::fs::File::create(dir.path().join("vaults.parquet")).unwrap();
        ParquetWriter::new(f).finish(&mut df).unwrap();
    }
    let base = crash_without_population();
    let mut w0 = World::new(&drawn);
    let want = w0.run_path(1).unwrap();
    for file in ["vaults.csv", "vaults.parquet"] {
        let text = base.replacen(
            "[[cdps]]\nname = \"maker\"\n",
            &format!("[[cdps]]\nname = \"maker\"\nvaults_file = \"{file}\"\n"),
            1,
        );
        let sc = in_dir(dir.path(), &text).unwrap();
        assert_eq!(sc.cdps[0].vaults, vaults, "{file}");
        let got = World::new(&sc).run_path(1).unwrap();
        assert!(
            want.auctions.auction.len() > 10,
            "the crash auctions vaults"
        );
        assert_eq!(got.auctions.vault, want.auctions.vault, "{file}");
        assert_eq!(got.auctions.raised, want.auctions.raised, "{file}");
        assert_eq!(got.summary.cdps, want.summary.cdps, "{file}");
        assert_eq!(got.cdp.debt, want.cdp.debt, "{file}");
        assert_eq!(got.cdp.surplus, want.cdp.surplus, "{file}");
    }
}

/// Explicit vaults come first, then the file's rows in order, then each
/// population's draws (the same draws as without the file).
#[test]
fn vaults_are_explicit_then_from_the_file_then_drawn() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("v.csv"),
        "collateral,units,debt\nETH, 3.0, 100.0\nETH,4.5,0\n",
    )
    .unwrap();
    let text = crash(CRASH_DUTCH).replacen(
        "[[cdps.keepers]]",
        "[[cdps.vaults]]\ncollateral = \"ETH\"\nunits = 7.0\ndebt = 300.0\n\n[[cdps.keepers]]",
        1,
    );
    let drawn = in_dir(dir.path(), &text).unwrap().cdps[0].vaults.clone();
    let with_file = text.replacen(
        "name = \"maker\"\n",
        "name = \"maker\"\nvaults_file = \"v.csv\"\n",
        1,
    );
    let got = in_dir(dir.path(), &with_file).unwrap().cdps[0]
        .vaults
        .clone();
    assert_eq!(got.len(), 303);
    assert_eq!(got[0], (0, 7.0, 300.0));
    assert_eq!(got[1..3], [(0, 3.0, 100.0), (0, 4.5, 0.0)]);
    assert_eq!(got[0], drawn[0]);
    assert_eq!(got[3..], drawn[1..]);
}

/// A bad snapshot is refused naming the setting, the file and, for a bad
/// row, the row and column; nothing is read from a folder or an empty
/// file.
#[test]
fn a_bad_vault_snapshot_is_refused_with_the_row_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("folder")).unwrap();
    let files = [
        ("header.csv", "collateral,units,debt\n"),
        ("btc.csv", "collateral,units,debt\nETH,1,100\nBTC,1,100\n"),
        ("units.csv", "collateral,units,debt\nETH,-1,100\n"),
        ("dust.csv", "collateral,units,debt\nETH,1,30\nETH,1,10\n"),
        ("nan.csv", "collateral,units,debt\nETH,NaN,100\n"),
        ("column.csv", "collateral,units\nETH,1\n"),
        ("ceiling.csv", "collateral,units,debt\nETH,100000,6000000\n"),
        // 10¹³ ETH at 200 is 2·10¹⁵ USD, above the most one amount may be.
        ("usd.csv", "collateral,units,debt\nETH,1e13,100\n"),
    ];
    for (name, text) in files {
        std::fs::write(d.join(name), text).unwrap();
    }
    let cases = [
        ("nowhere.csv", vec!["nowhere.csv", "file not found"]),
        ("folder", vec!["is a folder", "vaults"]),
        ("header.csv", vec!["holds no vaults"]),
        (
            "btc.csv",
            vec!["row 2.collateral", "`BTC` is not a vault type"],
        ),
        ("units.csv", vec!["row 1.units"]),
        (
            "dust.csv",
            vec!["row 2.debt", "below the vault type's dust 20"],
        ),
        ("nan.csv", vec!["row 1.units"]),
        ("column.csv", vec!["missing field `debt`"]),
        (
            "ceiling.csv",
            vec!["collateral.ETH.debt_ceiling", "above the ceiling"],
        ),
        ("usd.csv", vec!["row 1.units", "USD of collateral"]),
    ];
    let text = crash_without_population().replace(
        "hole = 3000000.0",
        "hole = 3000000.0\ndebt_ceiling = 5000000.0",
    );
    for (file, needles) in cases {
        let with = text.replacen(
            "name = \"maker\"\n",
            &format!("name = \"maker\"\nvaults_file = \"{file}\"\n"),
            1,
        );
        let err = in_dir(d, &with).expect_err(file);
        assert!(
            err.contains("cdps.maker.vaults_file") || needles[0].contains("ceiling"),
            "{file}: {err}"
        );
        for n in needles {
            assert!(err.contains(n), "{file}: `{n}` not in: {err}");
        }
        assert_eq!(err.lines().count(), 1, "{file}: one line: {err}");
    }
}

/// The bark order reads each vault type's own rate index. Steps of a year:
/// BTC's vault type charges a stability fee of 100% a year, so at step 1
/// its rate index is 2 and ETH's is 1. Both collaterals fall by a third at
/// step 1: the BTC vault (1.05 BTC at 1,000, 500 of normalised debt, so
/// 1,000 owed) is at a collateral ratio of 1.05 and the ETH vault (11 ETH
/// at 100 owing 1,000) at 1.1, so the BTC vault is barked first (auction
/// 0). Read with its normalised debt alone, or divided by the rate, the
/// BTC vault would look safer than the ETH one.
#[test]
fn bark_order_reads_each_vault_types_rate_index() {
    let text = with_btc_type(
        &one_vault(DUTCH, "", -1.0 / 3.0).replace("dt_hours = 0.25", "dt_hours = 8760.0"),
        "liquidation_ratio = 1.5\nstability_fee = 1.0",
        "collateral = \"ETH\"\nunits = 11.0\ndebt = 1000.0\n\n[[cdps.vaults]]\ncollateral = \"BTC\"\nunits = 1.05\ndebt = 500.0",
    );
    let (rec, _, _) = run(&text);
    let a = &rec.auctions;
    assert_eq!(a.start_step, vec![1, 1], "both barked at step 1");
    let id_of = |v: u32| a.auction[a.vault.iter().position(|&x| x == v).unwrap()];
    assert_eq!((id_of(1), id_of(0)), (0, 1), "the BTC vault (1) first");
    let tab = |v: u32| a.tab[a.vault.iter().position(|&x| x == v).unwrap()];
    assert!(
        (tab(1) - 1000.0 * 1.13).abs() < 1e-6,
        "BTC's tab: 1,000 owed"
    );
}

/// `vaults_file` resolves beside the scenario file, not in the working
/// folder: `contagion validate sc/s.toml` run from the folder above reads
/// `sc/v.csv` and counts its vaults; a copy of the scenario above `sc/`,
/// validated from `sc/`, does not find it.
#[test]
fn a_vault_snapshot_resolves_beside_its_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("sc");
    std::fs::create_dir(&sc).unwrap();
    std::fs::write(
        sc.join("v.csv"),
        "collateral,units,debt\nETH,3,100\nETH,4,100\n",
    )
    .unwrap();
    let text = crash_without_population().replacen(
        "name = \"maker\"\n",
        "name = \"maker\"\nvaults_file = \"v.csv\"\n",
        1,
    );
    std::fs::write(sc.join("s.toml"), text).unwrap();
    let out = cli(dir.path(), &["validate", "sc/s.toml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("CDPs: 1 (2 vaults)"), "{stdout}");
    // The same scenario one folder up, run from sc/ (which holds v.csv):
    // it looks for v.csv beside itself, where there is none.
    std::fs::copy(sc.join("s.toml"), dir.path().join("s.toml")).unwrap();
    let out = cli(&sc, &["validate", "../s.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("vaults_file") && stderr.contains("file not found"),
        "{stderr}"
    );
}

/// The cap on vaults counts the file's rows with the explicit and drawn
/// ones: one row and ten million drawn is one too many.
#[test]
fn the_vault_cap_counts_the_files_rows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("v.csv"),
        "collateral,units,debt\nETH,3,100\n",
    )
    .unwrap();
    let text = crash(CRASH_DUTCH)
        .replace("count = 300", "count = 10000000")
        .replacen(
            "name = \"maker\"\n",
            "name = \"maker\"\nvaults_file = \"v.csv\"\n",
            1,
        );
    let err = in_dir(dir.path(), &text).expect_err("over the cap");
    assert!(err.contains("10000001 vaults; at most 10000000"), "{err}");
}

/// A drawn vault holds its size in USD at step 0 and owes size ÷ (health
/// × liquidation ratio): with a fixed size of 20,000 USD of ETH at 200 and
/// a fixed health of 1.25 under a ratio of 1.5, 100 ETH owing 10,666.67.
#[test]
fn a_drawn_vault_holds_its_size_and_owes_it_over_health_and_ratio() {
    let text = crash(CRASH_DUTCH)
        .replace(
            "size = { dist = \"lognormal\", median = 20000.0, sigma = 1.0 }",
            "size = { dist = \"fixed\", value = 20000.0 }",
        )
        .replace(
            "health = { dist = \"uniform\", min = 1.05, max = 2.0 }",
            "health = { dist = \"fixed\", value = 1.25 }",
        );
    let sc = scenario(&text, &Overrides::default());
    assert_eq!(sc.cdps[0].vaults.len(), 300);
    for &(k, units, debt) in &sc.cdps[0].vaults {
        assert_eq!(k, 0);
        assert!((units - 100.0).abs() < 1e-12, "{units}");
        assert!((debt - 20000.0 / 1.875).abs() < 1e-9, "{debt}");
    }
}

/// A vault type's vaults may owe exactly its ceiling, not a unit more; a
/// vault may owe exactly the dust (20).
#[test]
fn vaults_may_owe_exactly_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("v.csv"),
        "collateral,units,debt\nETH,100,2980\nETH,100,2000\nETH,1,20\n",
    )
    .unwrap();
    let text = crash_without_population()
        .replace(
            "hole = 3000000.0",
            "hole = 3000000.0\ndebt_ceiling = 5000.0",
        )
        .replacen(
            "name = \"maker\"\n",
            "name = \"maker\"\nvaults_file = \"v.csv\"\n",
            1,
        );
    assert_eq!(in_dir(dir.path(), &text).unwrap().cdps[0].vaults.len(), 3);
    let over = text.replace("debt_ceiling = 5000.0", "debt_ceiling = 4999.0");
    let err = in_dir(dir.path(), &over).expect_err("over the ceiling");
    assert!(err.contains("above the ceiling 4999"), "{err}");
}

/// A vault type read from its pool needs one: a BTC vault type without a
/// BTC pool under `source = "pool"` is refused, naming the oracle's
/// source and the asset.
#[test]
fn a_pool_oracle_needs_a_pool_for_every_vault_type() {
    let text = one_vault(DUTCH, "", -0.1)
        .replace(
            "oracle = { kind = \"direct\" }",
            "oracle = { kind = \"direct\", source = \"pool\" }",
        )
        .replacen(
            "[[assets]]",
            "[[assets]]\nsymbol = \"BTC\"\nprice = 1500.0\n\n[[assets]]",
            1,
        );
    assert!(in_dir(Path::new("."), &text).is_ok(), "ETH has its pool");
    let with_btc = text.replace(
        "[cdps.collateral.ETH]",
        "[cdps.collateral.BTC]\nliquidation_ratio = 1.5\n\n[cdps.collateral.ETH]",
    );
    let err = in_dir(Path::new("."), &with_btc).expect_err("BTC has no pool");
    assert!(
        err.contains("cdps.maker.oracle.source") && err.contains("`BTC` has no pool"),
        "{err}"
    );
}
