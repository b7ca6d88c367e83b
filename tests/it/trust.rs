//! Trust: the defects a new user and a hostile-input campaign found, each
//! guarded by a test that failed before its fix (issue "Trust").

use std::path::Path;

use crate::bad_input::expect_rejected;
use crate::common::*;

/// SMALL with a textual edit, for TOML that does not parse.
fn small(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from), "test set-up: `{from}` not in SMALL");
    SMALL.replacen(from, to, 1)
}

/// SMALL with one field set.
fn set(path: &str, to: toml::Value) -> String {
    edit(SMALL, &[Edit::Set(path, to)])
}

/// Run `args` in `dir`; returns (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = cli(dir, args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn no_recorded_paths_runs_and_draws_only_the_distribution() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.toml",
        &set("simulation.record_paths", val("0")),
    );
    let (code, _, err) = run_in(dir.path(), &["run", "s.toml", "--out", "r", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    let charts: Vec<String> = std::fs::read_dir(dir.path().join("r/charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(charts.contains(&"bad_debt.png".to_string()), "{charts:?}");
    assert!(
        !charts.iter().any(|c| c.starts_with("price_fan")),
        "{charts:?}"
    );
    assert_eq!(read(&dir.path().join("r/paths.parquet")).height(), 12);
}

#[test]
fn sizes_that_cannot_fit_are_refused_before_anything_is_allocated() {
    let max = u32::MAX.to_string();
    expect_rejected(
        &edit(
            SMALL,
            &[
                Edit::Set("simulation.steps", i64::from(u32::MAX).into()),
                Edit::Add("simulation.dt_hours", val("0.001")),
            ],
        ),
        &["simulation.steps", "GiB"],
    );
    expect_rejected(
        &edit(
            SMALL,
            &[Edit::Add(
                "protocols.lend.oracle.lag_steps",
                i64::from(u32::MAX).into(),
            )],
        ),
        &[
            "protocols.lend.oracle.lag_steps",
            "exceeds simulation.steps",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", SMALL);
    let (code, _, err) = run_in(dir.path(), &["run", "s.toml", "--paths", &max, "--quiet"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("simulation.paths") && err.contains("GiB"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn values_that_would_overflow_are_refused_at_validation() {
    // A position worth more than any real one (collateral_value was inf).
    expect_rejected(
        &set("positions.0.collateral.ETH", val("1e306")),
        &["positions[0].collateral.ETH", "USD"],
    );
    // A rate model that compounds debt out of f64's range (debt_value NaN).
    let rate = edit(
        SMALL,
        &[Edit::Add(
            "protocols.lend.supply",
            val("{ utilisation = 0.8, rate = { slope1 = 0.05, kink = 0.9, slope2 = 1e6 } }"),
        )],
    );
    expect_rejected(&rate, &["protocols.lend.supply.rate.slope2", "e^"]);
    // The same curve at Aave-like steepness is fine.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.toml",
        &edit(
            &rate,
            &[Edit::Set("protocols.lend.supply.rate.slope2", val("0.6"))],
        ),
    );
    let (code, _, err) = run_in(dir.path(), &["validate", "s.toml"]);
    assert_eq!(code, Some(0), "{err}");
    // A jump intensity no sampler can draw.
    expect_rejected(
        &set("assets.ETH.process.jump_intensity", val("1e300")),
        &["assets.ETH.process.jump_intensity", "jumps a step"],
    );
}

#[test]
fn a_huge_jump_intensity_within_bounds_keeps_the_price_near_its_mean() {
    // λ·dt = 2000 jumps a step of mean ≈ 0: inversion answered 1 jump while
    // the compensator assumed 2000, and the price exploded. Now the draws
    // follow the law, so E[F] holds; the run writes finite prices.
    let dir = tempfile::tempdir().unwrap();
    let text = set(
        "assets.ETH.process",
        val(
            "{ kind = \"merton\", vol = 0.0, jump_intensity = 17520000.0, jump_mean = 0.0, jump_std = 0.0001 }",
        ),
    );
    write(dir.path(), "s.toml", &text);
    let (code, _, err) = run_in(dir.path(), &["run", "s.toml", "--out", "r", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    let market = read(&dir.path().join("r/market.parquet"));
    let assets = strs(&market, "asset");
    let steps = i64s(&market, "step");
    let f = f64s(&market, "fundamental");
    // Step 1 of path 0, before the shock: drift 0, jumps of mean ≈ 0 and
    // std 1e-4·sqrt(2000) ≈ 0.0045, so the price stays within 5% of 2000.
    let eth: Vec<f64> = (0..f.len())
        .filter(|&r| assets[r] == "ETH" && steps[r] == 1)
        .map(|r| f[r])
        .collect();
    assert!(!eth.is_empty());
    for p in eth {
        assert!((p / 2000.0 - 1.0).abs() < 0.05, "{p}");
    }
}

#[test]
fn names_are_checked_before_the_run_and_chart_files_never_collide() {
    let long = "X".repeat(300);
    // BTC renamed everywhere it is named.
    let btc_named = |to: &str| {
        edit(
            SMALL,
            &[
                Edit::Set("correlation.assets", toml::Value::from(vec!["ETH", to])),
                Edit::Set("assets.BTC.symbol", to.into()),
                Edit::Set("protocols.lend.collateral.BTC.asset", to.into()),
                Edit::Remove("positions.0.collateral.BTC"),
                Edit::Add(&format!("positions.0.collateral.{to}"), val("0.5")),
            ],
        )
    };
    expect_rejected(&btc_named(&long), &["assets.symbol", "longer than 64"]);
    expect_rejected(
        &set("liquidators.bot.name", "b\no\u{0}t".into()),
        &["liquidators.name", "\\n"],
    );
    expect_rejected(&btc_named("A/B"), &["assets.symbol", "'/'"]);
    // A.B and A_B are both fine and get a chart each.
    let dir = tempfile::tempdir().unwrap();
    let text = edit(
        SMALL,
        &[
            Edit::Set("correlation.assets", val("[\"A.B\", \"A_B\"]")),
            Edit::Set("assets.ETH.symbol", val("\"A.B\"")),
            Edit::Set("assets.BTC.symbol", val("\"A_B\"")),
            Edit::Set("pools.ETH.base", val("\"A.B\"")),
            Edit::Set("protocols.lend.collateral.ETH.asset", val("\"A.B\"")),
            Edit::Set("protocols.lend.collateral.BTC.asset", val("\"A_B\"")),
            Edit::Set("populations.0.collateral_asset", val("\"A.B\"")),
            Edit::Set("shocks.ETH.asset", val("\"A.B\"")),
            Edit::Set(
                "positions.0.collateral",
                val("{ \"A.B\" = 10.0, A_B = 0.5 }"),
            ),
        ],
    );
    write(dir.path(), "s.toml", &text);
    let (code, _, err) = run_in(dir.path(), &["run", "s.toml", "--out", "r", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    for f in ["price_fan_A.B.png", "price_fan_A_B.png"] {
        assert!(dir.path().join("r/charts").join(f).exists(), "{f}");
    }
}

#[test]
fn type_errors_name_the_field() {
    expect_rejected(
        &set(
            "protocols.lend.collateral.ETH.liquidation_threshold",
            val("\"high\""),
        ),
        &[
            "protocols.lend.collateral.ETH.liquidation_threshold",
            "invalid type",
        ],
    );
    expect_rejected(&set("simulation.steps", val("2.5")), &["simulation.steps"]);
    expect_rejected(
        &set("liquidators.keeper.capital", val("\"lots\"")),
        &["liquidators.keeper.capital"],
    );
    expect_rejected(&small("debt = 30000.0", "debt = -"), &["s.toml:"]);
}

#[test]
fn a_positions_file_must_be_a_file_with_positions() {
    let with_file = |name: &str| format!("positions_file = \"{name}\"\n{SMALL}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("book")).unwrap();
    write(dir.path(), "empty.csv", "");
    write(dir.path(), "header.csv", "id,protocol,asset,units,debt\n");
    for (name, needle) in [
        ("book", "is a folder"),
        ("empty.csv", "no positions"),
        ("header.csv", "no positions"),
    ] {
        write(dir.path(), "s.toml", &with_file(name));
        let (code, out, err) = run_in(dir.path(), &["validate", "s.toml"]);
        assert_eq!(code, Some(2), "{name}: {out}{err}");
        assert!(
            err.contains(needle) && err.contains("positions_file"),
            "{name}: {err}"
        );
    }
}

#[test]
fn positions_below_one_at_the_start_are_reported_and_can_be_refused_or_dropped() {
    // 30,000 debt on 10 ETH (LT 0.8) + 0.5 BTC (LT 0.75) at 2,000 and
    // 50,000: HF = (16,000 + 18,750) / 30,000 = 1.158. At 40,000 debt,
    // HF = 34,750 / 40,000 = 0.869 < 1.
    let text = set("positions.0.debt", val("40000.0"));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", &text);
    let (code, out, err) = run_in(dir.path(), &["validate", "s.toml"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("1 positions (40000 USD of debt) are below health factor 1"),
        "{out}"
    );
    let (code, _, err) = run_in(dir.path(), &["run", "s.toml", "--out", "r", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["unhealthy_at_start"]["positions"], 1);
    assert_eq!(summary["unhealthy_at_start"]["debt_usd"], 40000.0);
    // The healthy book reports none.
    write(dir.path(), "ok.toml", SMALL);
    let (_, out, _) = run_in(dir.path(), &["validate", "ok.toml"]);
    assert!(!out.contains("below health factor 1"), "{out}");

    expect_rejected(
        &edit(
            &text,
            &[Edit::Add(
                "simulation.unhealthy_positions",
                val("\"refuse\""),
            )],
        ),
        &["simulation.unhealthy_positions", "1 positions"],
    );
    let dropped = scenario(
        &edit(
            &text,
            &[Edit::Add("simulation.unhealthy_positions", val("\"drop\""))],
        ),
        &Default::default(),
    );
    let kept = scenario(&text, &Default::default());
    assert_eq!(dropped.book.len() + 1, kept.book.len());
    assert_eq!(dropped.book.unhealthy(dropped.terms()).positions, 0);
}

#[test]
fn every_path_has_its_outcome_per_protocol_and_per_market() {
    // 12 paths, 8 recorded: the per-protocol table covers all 12, and its
    // rows add up to the path totals.
    let dir = tempfile::tempdir().unwrap();
    // The second market's population comes before the first's in the file.
    let text = edit(
        SMALL,
        &[
            Edit::Push(
                "protocols",
                table(
                    "name = \"other\"\nkind = \"lending\"\ndebt_asset = \"USDC\"\ncollateral = [{ asset = \"BTC\", liquidation_threshold = 0.7, liquidation_bonus = 0.1, max_ltv = 0.6 }]",
                ),
            ),
            Edit::Set(
                "populations",
                val(
                    "[{ protocol = \"other\", count = 50, collateral_asset = \"BTC\", size_usd = { dist = \"lognormal\", median = 8000.0, sigma = 0.5 }, health_factor = { dist = \"uniform\", min = 1.17, max = 1.4 } }, \
                     { protocol = \"lend\", count = 200, collateral_asset = \"ETH\", size_usd = { dist = \"lognormal\", median = 5000.0, sigma = 1.0 }, health_factor = { dist = \"uniform\", min = 1.07, max = 1.6 } }]",
                ),
            ),
            Edit::Push("shocks", table("step = 12\nasset = \"BTC\"\nreturn = -0.3")),
        ],
    );
    let sc = scenario(&text, &Default::default());
    run_into(&sc, dir.path(), "r", Some(2));
    let paths = read(&dir.path().join("r/paths.parquet"));
    let pp = read(&dir.path().join("r/path_protocols.parquet"));
    assert_eq!(pp.height(), 12 * 2);
    let (pid, names) = (i64s(&pp, "path"), strs(&pp, "protocol"));
    assert_eq!(names[..2], ["lend".to_string(), "other".to_string()]);
    for column in [
        "bad_debt",
        "liquidated_value",
        "insolvent_debt",
        "bad_debt_contagion",
    ] {
        let total = f64s(&paths, column);
        let part = f64s(&pp, column);
        for (p, &t) in total.iter().enumerate() {
            let sum: f64 = (0..pp.height())
                .filter(|&r| pid[r] == p as i64)
                .map(|r| part[r])
                .sum();
            assert!(close(sum, t), "{column} path {p}: {sum} vs {t}");
        }
    }
    let liq_total = i64s(&paths, "liquidations");
    let liq = i64s(&pp, "liquidations");
    for (p, &t) in liq_total.iter().enumerate() {
        let sum: i64 = (0..pp.height())
            .filter(|&r| pid[r] == p as i64)
            .map(|r| liq[r])
            .sum();
        assert_eq!(sum, t, "liquidations of path {p}");
    }
    assert!(
        liq.iter().filter(|&&n| n > 0).count() >= 12,
        "both markets liquidate"
    );
    // summary.json's per-protocol metrics are those of the table's columns.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/summary.json")).unwrap())
            .unwrap();
    let other: Vec<f64> = (0..pp.height())
        .filter(|&r| names[r] == "other")
        .map(|r| f64s(&pp, "liquidated_value")[r])
        .collect();
    let mean = other.iter().sum::<f64>() / other.len() as f64;
    let s = &summary["protocols"][1];
    assert_eq!(s["protocol"], "other");
    assert!(close(s["liquidated_value"]["mean"].as_f64().unwrap(), mean));
    assert!(s["initial_debt_usd"].as_f64().unwrap() > 0.0);
}

#[test]
fn the_initial_book_is_written_and_reads_back_as_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", SMALL);
    let (code, _, err) = run_in(dir.path(), &["run", "s.toml", "--out", "a", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    let book = read(&dir.path().join("a/book.parquet"));
    // One explicit position with two entries, 200 generated with one each.
    assert_eq!(book.height(), 202);
    let src = strs(&book, "source");
    assert_eq!(src[0], "positions");
    assert_eq!(src[201], "populations[0]");
    // The single-collateral liquidation price is where HF = 1:
    // units·p·LT = debt·p_d.
    let (units, debt, lp, hf) = (
        f64s(&book, "units"),
        f64s(&book, "debt"),
        f64_opts(&book, "liquidation_price"),
        f64s(&book, "initial_hf"),
    );
    assert!(
        lp[0].is_none() && lp[1].is_none(),
        "two collateral assets: no single price"
    );
    let p = lp[5].unwrap();
    assert!(close(units[5] * p * 0.8, debt[5]), "{p}");
    assert!(close(hf[5], units[5] * 2000.0 * 0.8 / debt[5]));

    // Export the same book (CSV and Parquet), run it as a snapshot without
    // the populations and explicit positions: the same paths.
    let head = SMALL.split("[[positions]]").next().unwrap();
    let tail = SMALL
        .split("[[liquidators]]")
        .skip(1)
        .collect::<Vec<_>>()
        .join("[[liquidators]]");
    for file in ["book.csv", "book.parquet"] {
        let (code, _, err) = run_in(dir.path(), &["validate", "s.toml", "--export-book", file]);
        assert_eq!(code, Some(0), "{err}");
        // Never over an existing file without --force.
        let (code, _, _) = run_in(dir.path(), &["validate", "s.toml", "--export-book", file]);
        assert_eq!(code, Some(2));
        let snap = format!("positions_file = \"{file}\"\n{head}[[liquidators]]{tail}");
        write(dir.path(), "snap.toml", &snap);
        let out = format!("b-{file}");
        let (code, _, err) = run_in(dir.path(), &["run", "snap.toml", "--out", &out, "--quiet"]);
        assert_eq!(code, Some(0), "{err}");
        let a = read(&dir.path().join("a/paths.parquet"));
        let b = read(&dir.path().join(&out).join("paths.parquet"));
        assert!(same_frame(&a, &b), "{file}: the snapshot's paths differ");
    }
}

#[test]
fn a_perp_only_scenario_needs_no_lending_market() {
    let text = std::fs::read_to_string("scenarios/perp-adl.toml").unwrap();
    // Keep everything but the lending market, its book and liquidators.
    let keep: String = text
        .split("\n[[")
        .filter(|block| {
            ![
                "protocols]]",
                "protocols.collateral]]",
                "populations]]",
                "liquidators]]",
            ]
            .iter()
            .any(|h| block.starts_with(h))
        })
        .collect::<Vec<_>>()
        .join("\n[[");
    assert!(!keep.contains("[[protocols]]"));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.toml", &keep);
    let (code, _, err) = run_in(
        dir.path(),
        &["run", "p.toml", "--out", "r", "--paths", "10", "--quiet"],
    );
    assert_eq!(code, Some(0), "{err}");
    let charts: Vec<String> = std::fs::read_dir(dir.path().join("r/charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        charts.contains(&"perp_alt-perp.png".to_string()),
        "{charts:?}"
    );
    assert!(!charts.contains(&"bad_debt.png".to_string()), "{charts:?}");
    let pp = read(&dir.path().join("r/path_perps.parquet"));
    assert_eq!(pp.height(), 10);
    assert!(f64s(&pp, "fund_drawn").iter().any(|&v| v > 0.0));
    // Nothing at all to simulate is still an error.
    let bare =
        "[simulation]\nname = \"x\"\nsteps = 3\n[[assets]]\nsymbol = \"USDC\"\nprice = 1.0\n";
    expect_rejected(bare, &["protocols", "nothing to simulate"]);
}

#[test]
fn the_collateral_graph_values_assets_by_collateral_and_shows_perps() {
    // An asset node is worth the units pledged as collateral (its pool
    // reserves are the pool's node), as book.parquet adds them up.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", SMALL);
    let (code, _, err) = run_in(dir.path(), &["run", "s.toml", "--out", "r", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    let book = read(&dir.path().join("r/book.parquet"));
    let (assets, values) = (strs(&book, "asset"), f64s(&book, "collateral_value"));
    let pledged = |a: &str| -> f64 {
        (0..book.height())
            .filter(|&r| assets[r] == a)
            .map(|r| values[r])
            .sum()
    };
    let nodes = read(&dir.path().join("r/graph_nodes.parquet"));
    let (names, kinds, node_value) = (
        strs(&nodes, "node"),
        strs(&nodes, "kind"),
        f64s(&nodes, "value_usd"),
    );
    let eth = names.iter().position(|n| n == "ETH").unwrap();
    assert!(
        close(node_value[eth], pledged("ETH")),
        "{} vs {}",
        node_value[eth],
        pledged("ETH")
    );
    // The pool's node holds its reserves: 500 ETH at 2,000 on each leg.
    let pool = names.iter().position(|n| n == "ETH/USDC").unwrap();
    assert!(close(node_value[pool], 2.0 * 500.0 * 2000.0));
    assert!(!kinds.contains(&"perp".to_string()));

    // A perp market is a node hanging on its underlying, worth its open interest.
    let (code, _, err) = run_in(
        Path::new("."),
        &[
            "run",
            "scenarios/perp-adl.toml",
            "--out",
            dir.path().join("p").to_str().unwrap(),
            "--paths",
            "2",
            "--quiet",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let nodes = read(&dir.path().join("p/graph_nodes.parquet"));
    let edges = read(&dir.path().join("p/graph_edges.parquet"));
    let k = strs(&nodes, "kind");
    let perp = k.iter().position(|x| x == "perp").expect("a perp node");
    assert_eq!(strs(&nodes, "node")[perp], "alt-perp");
    // Its open interest at step 0: long plus short notional at the mark,
    // which is the initial price before anything moves.
    let perps = read(&dir.path().join("p/perps.parquet"));
    let (step, path) = (i64s(&perps, "step"), i64s(&perps, "path"));
    let r = (0..perps.height())
        .find(|&r| step[r] == 0 && path[r] == 0)
        .unwrap();
    let oi = f64s(&perps, "oi_long")[r] + f64s(&perps, "oi_short")[r];
    let value = f64s(&nodes, "value_usd")[perp];
    assert!(oi > 0.0 && close(value, oi), "{value} vs {oi}");
    let ek = strs(&edges, "kind");
    let e = ek
        .iter()
        .position(|x| x == "underlying")
        .expect("an underlying edge");
    assert_eq!(strs(&edges, "source")[e], "ALT");
    assert_eq!(strs(&edges, "target")[e], "alt-perp");
}

#[test]
fn zipped_axes_draw_one_chart_and_a_budget_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", SMALL);
    let sweep = |budget: &str| {
        format!(
            "[sweep]\nname = \"z\"\nscenario = \"s.toml\"\npaths = 4\nrecord_paths = 1\n{budget}\n\
             [[axes]]\nfield = \"protocols.lend.collateral.ETH.liquidation_threshold\"\nvalues = [0.78, 0.8]\nzip = \"lt\"\n\n\
             [[axes]]\nfield = \"protocols.lend.collateral.ETH.max_ltv\"\nvalues = [0.74, 0.75]\nzip = \"lt\"\n"
        )
    };
    write(
        dir.path(),
        "bad.toml",
        &sweep("budget_share_of_debt = -0.01"),
    );
    let (code, _, err) = run_in(dir.path(), &["sweep", "bad.toml", "--out", "b", "--quiet"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("sweep.budget_share_of_debt"), "{err}");
    write(dir.path(), "w.toml", &sweep("budget_share_of_debt = 0.01"));
    let (code, _, err) = run_in(dir.path(), &["sweep", "w.toml", "--out", "w", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    let charts: Vec<String> = std::fs::read_dir(dir.path().join("w/charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        charts
            .iter()
            .any(|c| c.contains("_vs_0_liquidation_threshold")),
        "{charts:?}"
    );
    assert!(
        !charts.iter().any(|c| c.contains("max_ltv")),
        "a duplicate chart: {charts:?}"
    );
}

#[test]
fn a_type_error_in_a_sweep_axis_cites_the_sweep_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", SMALL);
    let text = "[sweep]\nname = \"t\"\nscenario = \"s.toml\"\npaths = 2\n\n[[axes]]\nfield = \"protocols.lend.collateral.ETH.liquidation_threshold\"\nvalues = [\"high\", \"low\"]\n";
    write(dir.path(), "w.toml", text);
    let (code, _, err) = run_in(dir.path(), &["sweep", "w.toml", "--list"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // Line 7 of the sweep file names the axis.
    assert!(err.contains("w.toml:7:"), "{err}");
    assert!(
        err.contains("protocols.lend.collateral.ETH.liquidation_threshold"),
        "{err}"
    );
    assert!(err.contains("invalid type"), "{err}");
}
