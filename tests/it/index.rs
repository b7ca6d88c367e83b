//! The liquidation index against the plain full scan: on random books,
//! markets and paths, both write identical Parquet tables.

use contagion::Overrides;
use contagion::engine::CandidateSearch;
use proptest::prelude::*;

use crate::common::*;

#[derive(Debug, Clone)]
pub(crate) struct Setup {
    seed: u64,
    lend_source: &'static str,
    lend_lag: u32,
    other_source: &'static str,
    other_lag: u32,
    reserve: f64,
    rho: f64,
    hf_min: f64,
    hf_span: f64,
    shock: f64,
    keeper_capital: f64,
    close_factor: f64,
    multi: u32,
    deleverage_rate: f64,
}

pub(crate) fn scenario_text(s: &Setup) -> String {
    let mut t = format!(
        r#"
[simulation]
name = "random"
steps = 40
paths = 3
seed = {seed}
max_cascade_rounds = 8

[network]
gas_usd = 3.0
congestion = 0.02

[[assets]]
symbol = "ETH"
price = 2000.0
process = {{ kind = "merton", vol = 1.0, jump_intensity = 30.0, jump_mean = -0.04, jump_std = 0.06 }}

[[assets]]
symbol = "BTC"
price = 40000.0
process = {{ kind = "gbm", vol = 0.7 }}

[[assets]]
symbol = "USDC"
price = 1.0

[[assets]]
symbol = "LP"
price = 50.0
lp_of = "ETH/USDC"

[correlation]
assets = ["ETH", "BTC"]
matrix = [[1.0, 0.6], [0.6, 1.0]]

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = {reserve}
impact_persistence = {rho}

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"
close_factor = {cf}
full_liquidation_hf = 0.95
oracle = {{ source = "{ls}", lag_steps = {ll} }}
supply = {{ utilisation = 0.85, rate = {{ base = 0.02, slope1 = 0.1, kink = 0.8, slope2 = 40.0 }} }}
deleverage = {{ borrow_rate = {dr}, repay = 0.2 }}

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.06
max_ltv = 0.75

[[protocols.collateral]]
asset = "BTC"
liquidation_threshold = 0.75
liquidation_bonus = 0.08
max_ltv = 0.7

[[protocols]]
name = "other"
kind = "lending"
debt_asset = "USDC"
oracle = {{ source = "{os}", lag_steps = {ol} }}

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.7
liquidation_bonus = 0.1
max_ltv = 0.6

[[protocols.collateral]]
asset = "LP"
liquidation_threshold = 0.6
liquidation_bonus = 0.08
max_ltv = 0.55

[[populations]]
protocol = "other"
count = 40
collateral_asset = "LP"
size_usd = {{ dist = "lognormal", median = 1000.0, sigma = 1.0 }}
health_factor = {{ dist = "uniform", min = {hmin2}, max = 2.0 }}

[[populations]]
protocol = "lend"
count = 150
collateral_asset = "ETH"
size_usd = {{ dist = "lognormal", median = 20000.0, sigma = 1.2 }}
health_factor = {{ dist = "uniform", min = {hmin}, max = {hmax} }}

[[populations]]
protocol = "lend"
count = 60
collateral_asset = "BTC"
size_usd = {{ dist = "pareto", scale = 10000.0, shape = 1.3 }}
health_factor = {{ dist = "uniform", min = {hmin}, max = {hmax} }}

[[populations]]
protocol = "other"
count = 100
collateral_asset = "ETH"
size_usd = {{ dist = "fixed", value = 30000.0 }}
health_factor = {{ dist = "shifted_lognormal", min = {hmin2}, median = 1.4, sigma = 0.5 }}

[[liquidators]]
name = "keeper"
capital = {cap}
min_profit = 5.0

[[liquidators]]
name = "flash"
capital = "unlimited"
min_profit = 40.0

[[shocks]]
step = 10
asset = "ETH"
return = {shock}
"#,
        seed = s.seed,
        reserve = s.reserve,
        rho = s.rho,
        cf = s.close_factor,
        ls = s.lend_source,
        ll = s.lend_lag,
        os = s.other_source,
        ol = s.other_lag,
        hmin = s.hf_min,
        hmax = s.hf_min + s.hf_span,
        hmin2 = s.hf_min.max(1.17),
        cap = s.keeper_capital,
        shock = s.shock,
        dr = s.deleverage_rate,
    );
    // Multi-collateral accounts, checked outside the index.
    for k in 0..s.multi {
        let eth = 2.0 + k as f64;
        t += &format!(
            "\n[[positions]]\nprotocol = \"lend\"\ndebt = {}\ncollateral = {{ ETH = {eth}, BTC = 0.2 }}\n",
            (eth * 2000.0 * 0.8 + 0.2 * 40000.0 * 0.75) / (s.hf_min + 0.05 * k as f64)
        );
    }
    t
}

pub(crate) fn setup() -> impl Strategy<Value = Setup> {
    let source = prop_oneof![Just("pool"), Just("fundamental")];
    (
        (any::<u64>(), source.clone(), 0..3u32, source, 0..3u32),
        (100.0..5000.0f64, 0.0..1.0f64, 1.075..1.3f64, 0.0..1.5f64),
        // A fall of at least 30% takes the lowest health factors (≤ 1.3)
        // below 0.91: every case liquidates, so the tables compared are
        // never trivially empty.
        (-0.5..-0.3f64, 0.0..200_000.0f64, 0.2..1.0f64, 0..4u32),
        0.05..12.0f64,
    )
        .prop_map(
            |(
                (seed, ls, ll, os, ol),
                (reserve, rho, hf_min, hf_span),
                (shock, cap, cf, multi),
                dr,
            )| {
                Setup {
                    seed,
                    lend_source: ls,
                    lend_lag: ll,
                    other_source: os,
                    other_lag: ol,
                    reserve,
                    rho,
                    hf_min,
                    hf_span,
                    shock,
                    keeper_capital: cap,
                    close_factor: cf,
                    multi,
                    deleverage_rate: dr,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_index_and_the_full_scan_write_identical_tables(s in setup()) {
        let sc = scenario(&scenario_text(&s), &Overrides::default());
        let dir = tempfile::tempdir().unwrap();
        run_both_searches(&sc, dir.path(), Some(1));
        for t in ["market", "protocols", "liquidations", "paths"] {
            let a = read(&dir.path().join(format!("indexed/{t}.parquet")));
            let b = read(&dir.path().join(format!("scan/{t}.parquet")));
            prop_assert!(same_frame(&a, &b), "{} differs for {:?}", t, s);
        }
        let liq = read(&dir.path().join("indexed/liquidations.parquet"));
        prop_assert!(liq.height() > 0, "nothing was liquidated for {:?}", s);
    }
}

#[test]
fn the_shipped_scenarios_agree_under_both_searches() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "thin-liquidity",
        "oracle-lag",
        "congested-liquidators",
        "rehypothecation",
        "lst-depeg",
        "perp-adl",
        "short-gamma-crash",
    ] {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
        let sc = contagion::Scenario::load(
            &path,
            &Overrides {
                paths: Some(6),
                seed: None,
            },
        )
        .unwrap();
        let out = dir.path().join(name);
        run_both_searches(&sc, &out, None);
        for t in ["protocols", "liquidations", "paths"] {
            let a = read(&dir.path().join(format!("{name}/indexed/{t}.parquet")));
            let b = read(&dir.path().join(format!("{name}/scan/{t}.parquet")));
            assert!(a.height() > 0, "{name}/{t} is empty");
            assert!(same_frame(&a, &b), "{name}/{t} differs");
        }
        // Perps' recorded totals (open interest) are running sums too.
        let perps = dir.path().join(format!("{name}/indexed/perps.parquet"));
        if perps.exists() {
            let a = read(&perps);
            let b = read(&dir.path().join(format!("{name}/scan/perps.parquet")));
            assert!(a.height() > 0, "{name}/perps is empty");
            assert!(same_frame(&a, &b), "{name}/perps differs");
        }
    }
}

/// Tokens priced below one USD, held together: a position's health at
/// step 0 weighs units × price × threshold, and the index prunes
/// multi-collateral positions by it, so a slip that divided by the price
/// would overstate these positions' health (a token at 0.2 counts 25×
/// too much) and skip them. And a position with neither debt nor
/// collateral, whose liquidation price is 0, not 0/0, sits in a group
/// beside a liquidatable one. Both searches must find the same
/// liquidations, and the multi-collateral positions must be among them.
#[test]
fn cheap_tokens_and_empty_positions_do_not_hide_candidates() {
    let mut text = String::from(
        r#"
[simulation]
name = "cheap"
steps = 3
paths = 2

[[assets]]
symbol = "A"
price = 0.2

[[assets]]
symbol = "B"
price = 0.5

[[assets]]
symbol = "USDC"
price = 1.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"

[[protocols.collateral]]
asset = "A"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[protocols.collateral]]
asset = "B"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "lend"
debt = 0.0
collateral = { A = 0.0 }

[[positions]]
protocol = "lend"
debt = 7000.0
collateral = { A = 50000.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 2
asset = "A"
return = -0.4
"#,
    );
    // Collateral worth 0.8·(50,000·0.2 + 20,000·0.5) = 16,000 at step 0.
    for k in 0..4 {
        let debt = 16_000.0 / (1.05 + 0.05 * k as f64);
        text += &format!(
            "\n[[positions]]\nprotocol = \"lend\"\ndebt = {debt}\ncollateral = {{ A = 50000.0, B = 20000.0 }}\n"
        );
    }
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_both_searches(&sc, dir.path(), Some(1));
    for t in ["protocols", "liquidations", "paths"] {
        let a = read(&dir.path().join(format!("indexed/{t}.parquet")));
        let b = read(&dir.path().join(format!("scan/{t}.parquet")));
        assert!(same_frame(&a, &b), "{t} differs between the searches");
    }
    // A falls 40%: the multi-collateral positions' collateral drops from
    // 16,000 to 12,800 against debts of 15,238 down to 13,333, all below
    // HF 1; the single one (8,000 × 0.6 = 4,800 of A against 7,000) too.
    let liq = read(&dir.path().join("indexed/liquidations.parquet"));
    let ids: std::collections::BTreeSet<i64> = i64s(&liq, "position").into_iter().collect();
    assert_eq!(ids, (1..=5).collect(), "the liquidated positions: {ids:?}");
}

/// The full scan is what its name says: over a path of `perp-adl` (500
/// lending positions, 5,500 perp accounts, 48 steps) it checks every open
/// position and account in every cascade round, at least one round a
/// step, while the index checks a small part of that; and both liquidate
/// the same. (Were `FullScan` ignored, the comparisons of the two above
/// would compare the index with itself.)
#[test]
fn the_full_scan_checks_everything_and_the_index_a_fraction() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/perp-adl.toml");
    let sc = contagion::Scenario::load(&path, &Overrides::default()).unwrap();
    let mut examined = Vec::new();
    let mut summaries = Vec::new();
    for search in [CandidateSearch::Indexed, CandidateSearch::FullScan] {
        let mut world = contagion::engine::World::new(&sc);
        world.set_search(search);
        let rec = world.run_path(0).unwrap();
        examined.push(world.examined());
        summaries.push(format!("{:?}", rec.summary));
    }
    assert_eq!(summaries[0], summaries[1]);
    let steps = u64::from(sc.steps);
    let (indexed, scan) = (examined[0], examined[1]);
    // Every round checks every one (lending) or every open one (perps;
    // most stay open all path long).
    assert!(scan.0 >= steps * sc.book.len() as u64, "{scan:?}");
    assert!(
        scan.1 >= steps * sc.perp_book.accounts() as u64 / 2,
        "{scan:?}"
    );
    assert!(indexed.0 * 5 < scan.0, "indexed {indexed:?}, scan {scan:?}");
    assert!(
        indexed.1 * 10 < scan.1,
        "indexed {indexed:?}, scan {scan:?}"
    );
    assert!(indexed.0 > 0 && indexed.1 > 0);
}

/// Stage timing (what `cargo bench` prints per stage) is off unless asked
/// for, and once on it times every stage a path of `perp-adl` runs: the
/// cascade's lending and perp rounds take time, and no stage's share
/// exceeds the whole.
#[test]
fn stage_timing_is_off_by_default_and_covers_the_cascade_when_on() {
    use contagion::engine::phase::Stage;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/perp-adl.toml");
    let sc = contagion::Scenario::load(&path, &Overrides::default()).unwrap();
    let mut world = contagion::engine::World::new(&sc);
    world.run_path(0).unwrap();
    assert!(world.stage_nanos().is_none());
    world.enable_timing();
    let started = std::time::Instant::now();
    world.run_path(0).unwrap();
    let wall = started.elapsed().as_nanos() as u64;
    let nanos = world.stage_nanos().expect("timing was enabled");
    for stage in [Stage::CascadeLending, Stage::CascadePerps, Stage::Record] {
        assert!(nanos.get(stage) > 0, "{}", stage.name());
    }
    let total: u64 = Stage::ALL.iter().map(|&s| nanos.get(s)).sum();
    assert!(total <= wall, "{total} ns of stages in {wall} ns");
}
