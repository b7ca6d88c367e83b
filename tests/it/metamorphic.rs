//! Metamorphic tests: changes to a scenario file that the model says change
//! nothing must change no result. Here, the order of `[[pools]]`,
//! `[[assets]]` and `[[protocols]]` (docs/model.md §1.5, §12): every table
//! of the run, matched row by row on its names, agrees to 1e-9.

use std::path::Path;

use contagion::Overrides;
use polars::prelude::*;

use crate::common::*;

/// Every row of a table as (key, values): the key is the row's text and
/// integer columns, the values its floating-point columns.
fn rows(df: &DataFrame) -> Vec<(String, Vec<f64>)> {
    let mut out: Vec<(String, Vec<f64>)> = (0..df.height())
        .map(|i| {
            let mut key = String::new();
            let mut vals = Vec::new();
            for c in df.columns() {
                let v = c.get(i).unwrap();
                match c.dtype() {
                    DataType::Float64 => vals.push(v.extract::<f64>().unwrap_or(f64::NAN)),
                    _ => key.push_str(&format!("{}={v}|", c.name())),
                }
            }
            (key, vals)
        })
        .collect();
    out.sort_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            a.1.iter()
                .zip(&b.1)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    out
}

fn same_results(a: &Path, b: &Path) {
    let mut tables: Vec<String> = std::fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    tables.sort();
    assert!(tables.len() >= 5, "{tables:?}");
    for t in tables {
        let (x, y) = (read(&a.join(&t)), read(&b.join(&t)));
        let mut names: Vec<_> = x.get_column_names().into_iter().cloned().collect();
        let mut other: Vec<_> = y.get_column_names().into_iter().cloned().collect();
        names.sort();
        other.sort();
        assert_eq!(names, other, "{t}: columns");
        let (rx, ry) = (rows(&x), rows(&y));
        assert_eq!(rx.len(), ry.len(), "{t}: rows");
        for ((ka, va), (kb, vb)) in rx.iter().zip(&ry) {
            assert_eq!(ka, kb, "{t}");
            for (p, q) in va.iter().zip(vb) {
                let same = (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-9 * q.abs().max(1.0);
                assert!(same, "{t} row {ka}: {p} vs {q}");
            }
        }
    }
}

/// The shipped file with the `[[name]]` tables in reverse order.
fn reversed(text: &str, names: &[&str]) -> String {
    let mut doc: toml::Table = text.parse().unwrap();
    for n in names {
        let arr = doc.get_mut(*n).unwrap().as_array_mut().unwrap();
        assert!(arr.len() >= 2, "{n}");
        arr.reverse();
    }
    toml::to_string(&doc).unwrap()
}

fn run(text: &str, dir: &Path, name: &str) -> std::path::PathBuf {
    let sc = scenario(
        text,
        &Overrides {
            paths: Some(6),
            seed: None,
        },
    );
    run_into(&sc, dir, name, Some(2));
    dir.join(name)
}

/// lst-depeg persists impact in both its pools (ETH/USDC at ρ = 0.3,
/// stETH/ETH at ρ = 0.9) and prices stETH off ETH: the pools' order used to
/// move ETH's own change into stETH's discount (issue #20 item 1).
#[test]
fn the_order_of_pools_assets_and_protocols_changes_no_result() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lst-depeg.toml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = run(&text, dir.path(), "base");
    for (name, tables) in [
        ("pools", vec!["pools"]),
        ("assets", vec!["assets"]),
        ("protocols", vec!["protocols"]),
        ("all", vec!["pools", "assets", "protocols"]),
    ] {
        let other = run(&reversed(&text, &tables), dir.path(), name);
        same_results(&base, &other);
    }
}

/// Impact persistence with ρ = 1 on an untraded stETH/ETH pool leaves the
/// peg where it was (§1.5, §12): dealers selling ETH into ETH/USDC (ρ =
/// 0.5) move ETH's fundamental, and stETH follows it with δ unchanged at 0,
/// whichever pool the file lists first. (Measured after ETH had persisted,
/// stETH's pool read ETH's own move as a discount: 0.85 in one order.)
#[test]
fn an_untraded_pegged_pool_keeps_its_peg_whatever_the_pool_order() {
    let pools = [
        "[[pools]]\nbase = \"ETH\"\nquote = \"USDC\"\nbase_reserve = 2000.0\nfee = 0.0\nimpact_persistence = 0.5\n",
        "[[pools]]\nbase = \"stETH\"\nquote = \"ETH\"\nbase_reserve = 5000.0\nfee = 0.0\nimpact_persistence = 1.0\n",
    ];
    let text = |first: usize| {
        format!(
            r#"
[simulation]
name = "peg"
steps = 3
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "stETH"
peg = {{ to = "ETH", ratio = 1.0 }}

[[assets]]
symbol = "USDC"
price = 1.0

{}
{}
[[hedgers]]
name = "dealers"
asset = "ETH"
surface = {{ atm = 0.8 }}
band = 1.0
options = [{{ kind = "put", strike = 1900.0, expiry_hours = 720.0, quantity = -3000.0 }}]

[[shocks]]
step = 1
asset = "ETH"
return = -0.2
"#,
            pools[first],
            pools[1 - first]
        )
    };
    let dir = tempfile::tempdir().unwrap();
    for first in [0, 1] {
        let name = format!("order{first}");
        let out = run(&text(first), dir.path(), &name);
        let m = read(&out.join("market.parquet"));
        let eth = rows_of(&m, 0, "asset", "ETH", "fundamental");
        let steth = rows_of(&m, 0, "asset", "stETH", "fundamental");
        assert!(
            eth[1] < 1600.0 * 0.999,
            "the dealers' sale persisted: {}",
            eth[1]
        );
        for (s, (a, b)) in eth.iter().zip(&steth).enumerate() {
            assert!(
                close(b / a, 1.0),
                "order {first}, step {s}: stETH/ETH {}",
                b / a
            );
        }
    }
}

/// A Merton process without jumps is GBM (docs/model.md §2), draw for
/// draw: with `jump_intensity = 0` no jump count is drawn at all, so the
/// path's random stream, and every table, is the same as the GBM's with
/// the same drift and volatility. (A jump count drawn anyway, always 0,
/// would shift every later normal and change every path.)
#[test]
fn merton_without_jumps_draws_exactly_what_gbm_draws() {
    let default = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml"),
    )
    .unwrap();
    let merton = "{ kind = \"merton\", drift = 0.0, vol = 0.75, jump_intensity = 0.0, jump_mean = -0.03, jump_std = 0.05 }";
    let gbm = "{ kind = \"gbm\", drift = 0.0, vol = 0.75 }";
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for (name, process) in [("merton", merton), ("gbm", gbm)] {
        let text = edit(&default, &[Edit::Set("assets.ETH.process", val(process))]);
        outs.push(run(&text, dir.path(), name));
    }
    for t in ["market", "paths", "liquidations"] {
        let a = read(&outs[0].join(format!("{t}.parquet")));
        let b = read(&outs[1].join(format!("{t}.parquet")));
        assert!(a.height() > 0, "{t} is empty");
        assert!(same_frame(&a, &b), "{t} differs");
    }
}
