//! Oracles and impact persistence inside the engine (docs/model.md §1.5, §4).

use contagion::Overrides;
use contagion::engine::World;

use crate::common::*;

const STAIRS: &str = r#"
[simulation]
name = "stairs"
steps = 8
paths = 1

[[assets]]
symbol = "ETH"
price = 1000.0

[[assets]]
symbol = "USD"
price = 1.0

[[pools]]
base = "ETH"
quote = "USD"
base_reserve = 1000.0
fee = 0.0
impact_persistence = 0.0

[[protocols]]
name = "lagged"
kind = "lending"
debt_asset = "USD"
close_factor = 0.1
oracle = { source = "fundamental", lag_steps = 2 }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[positions]]
protocol = "lagged"
debt = 700000.0
collateral = { ETH = 1000.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"
"#;

/// STAIRS with impact persistence `rho` and ETH falling 5% at every step.
pub(crate) fn stairs(rho: f64) -> String {
    let mut edits = vec![Edit::Set("pools.ETH.impact_persistence", rho.into())];
    for t in 1..=8 {
        edits.push(Edit::Push(
            "shocks",
            table(&format!("step = {t}\nasset = \"ETH\"\nreturn = -0.05")),
        ));
    }
    edit(STAIRS, &edits)
}

#[test]
fn a_lagged_oracle_reads_the_price_k_steps_back() {
    let sc = scenario(&stairs(0.0), &Overrides::default());
    let mut world = World::new(&sc);
    let rec = world.run_path(0).unwrap();
    let l = &rec.liquidations;
    assert!(
        !l.step.is_empty(),
        "the falling price must trigger liquidations"
    );
    // ρ = 0 and no stochastic move: F_t = 1000·0.95^t exactly, so the oracle
    // during step t reads 1000·0.95^(t−2) (the initial price for t < 2).
    for i in 0..l.step.len() {
        let t = l.step[i] as i32;
        let want = 1000.0 * 0.95f64.powi((t - 2).max(0));
        assert!(
            (l.oracle_price[i] - want).abs() < 1e-9,
            "step {t}: {} vs {want}",
            l.oracle_price[i]
        );
    }
    // HF at 0.95^k: 1000·p·0.8/700000 < 1 first when p < 875, i.e. the
    // oracle shows 0.95³·1000 = 857.4: step 5 with the two-step lag.
    assert_eq!(l.step[0], 5);
}

#[test]
fn impact_persistence_moves_the_fundamental_toward_the_pool() {
    for rho in [0.0, 0.3, 1.0] {
        let sc = scenario(&stairs(rho), &Overrides::default());
        let mut world = World::new(&sc);
        let rec = world.run_path(0).unwrap();
        let m = &rec.market;
        // Rows: (step, asset) with ETH first. Without liquidations the pool
        // sits at F; after one, ln F_end = ln F + ρ (ln P − ln F).
        let first = rec.liquidations.step[0] as usize;
        let f_before_persist = m.fundamental[2 * (first - 1)] * 0.95;
        let pool = m.pool_price[2 * first].unwrap();
        let f_end = m.fundamental[2 * first];
        let want = (f_before_persist.ln() + rho * (pool.ln() - f_before_persist.ln())).exp();
        assert!(
            (f_end - want).abs() < 1e-9 * want,
            "ρ = {rho}: {f_end} vs {want}"
        );
        assert!(pool < f_before_persist, "the sale lowered the pool price");
        if rho == 1.0 {
            assert!((f_end - pool).abs() < 1e-9 * pool);
        }
    }
}

/// Regression: a lagged oracle at step 0 once read the price history before
/// step 0 was in it: NaN on a fresh world, the previous path's prices on a
/// reused one. Step 0 must be valued at the initial prices on every path.
#[test]
fn a_lagged_oracle_values_step_zero_at_initial_prices_on_every_path() {
    let sc = scenario(
        &stairs(0.5),
        &Overrides {
            paths: Some(3),
            seed: None,
        },
    );
    let mut world = World::new(&sc);
    for path in 0..3 {
        let rec = world.run_path(path).unwrap();
        let p = &rec.protocols;
        assert_eq!(p.step[0], 0);
        // 1,000 ETH at 1,000 USD against 700,000 USD of debt.
        assert_eq!(p.collateral_value[0], 1_000_000.0, "path {path}");
        assert_eq!(p.debt_value[0], 700_000.0);
        assert_eq!(p.insolvent_debt[0], 0.0);
    }
}

/// A LUNA-like collapse under a push feed with a floor (docs/model.md §4;
/// May 2022: the LUNA feed stopped at its minimum answer while LUNA traded
/// far below, and lenders kept lending against it). LUNA falls to 0.5 at
/// step 1 and to 0.05 at step 2; the feed's `min_answer` is 0.1. A
/// position of 1,000 LUNA (LT 0.8) owing 300 USDC has HF 1.33 at 0.5 and
/// 0.13 at 0.05. With the feed, the report of 0.05 is refused: the answer
/// stays 0.5, its age grows an hour a step, nothing is liquidated and the
/// protocol sees no insolvent debt. The same market with a direct oracle
/// liquidates the position at step 2.
#[test]
fn a_push_feed_freezes_at_its_last_answer_in_range() {
    let text = |oracle: &str| {
        format!(
            r#"
[simulation]
name = "floor"
steps = 5
paths = 1

[[assets]]
symbol = "LUNA"
price = 1.0

[[assets]]
symbol = "USDC"
price = 1.0

[[protocols]]
name = "venus"
kind = "lending"
debt_asset = "USDC"
oracle = {oracle}

[[protocols.collateral]]
asset = "LUNA"
liquidation_threshold = 0.8
liquidation_bonus = 0.1
max_ltv = 0.75

[[positions]]
protocol = "venus"
debt = 300.0
collateral = {{ LUNA = 1000.0 }}

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "LUNA"
return = -0.5

[[shocks]]
step = 2
asset = "LUNA"
return = -0.9
"#
        )
    };
    let push = r#"{ kind = "push", deviation = 0.01, heartbeat_hours = 1.0, assets = { LUNA = { min_answer = 0.1 } } }"#;
    let sc = scenario(&text(push), &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "push", Some(1));
    let o = read(&dir.path().join("push/oracles.parquet"));
    let luna: Vec<usize> = strs(&o, "asset")
        .iter()
        .enumerate()
        .filter(|(_, a)| *a == "LUNA")
        .map(|(k, _)| k)
        .collect();
    let of = |c: &str| -> Vec<f64> {
        let v = f64s(&o, c);
        luna.iter().map(|&k| v[k]).collect()
    };
    assert_eq!(of("oracle_price"), [1.0, 0.5, 0.5, 0.5, 0.5, 0.5]);
    let source = of("source_price");
    assert!((source[2] - 0.05).abs() < 1e-12, "{source:?}");
    assert_eq!(of("staleness_hours"), [0.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
    let paths = read(&dir.path().join("push/paths.parquet"));
    assert_eq!(u32s(&paths, "liquidations"), [0]);
    // Its chart: the price in use and its gap to the source.
    assert!(
        dir.path()
            .join("push/charts/oracle_venus_LUNA.png")
            .is_file()
    );
    assert_eq!(f64s(&paths, "insolvent_debt"), [0.0]);

    let direct = scenario(
        &text(r#"{ source = "fundamental" }"#),
        &Overrides::default(),
    );
    run_into(&direct, dir.path(), "direct", Some(1));
    assert!(!dir.path().join("direct/oracles.parquet").exists());
    let paths = read(&dir.path().join("direct/paths.parquet"));
    assert!(u32s(&paths, "liquidations")[0] > 0);
}

/// Oracle settings are checked before anything runs, each error naming
/// its field.
#[test]
fn oracle_settings_are_validated() {
    let with = |oracle: &str| edit(SMALL, &[Edit::Set("protocols.lend.oracle", val(oracle))]);
    let cases = [
        (
            r#"{ source = "pool", deviation = 0.01 }"#,
            "protocols.lend.oracle.deviation",
            "not a setting of a `direct` oracle",
        ),
        (
            r#"{ kind = "push", deviation = -0.1 }"#,
            "protocols.lend.oracle.deviation",
            "must not be negative",
        ),
        (
            r#"{ kind = "push", heartbeat_hours = 0.0 }"#,
            "protocols.lend.oracle.heartbeat_hours",
            "positive",
        ),
        (
            r#"{ kind = "push", assets = { DOGE = { min_answer = 1.0 } } }"#,
            "protocols.lend.oracle.assets.DOGE",
            "not an asset",
        ),
        (
            r#"{ kind = "push", assets = { ETH = { min_answer = 5.0, max_answer = 5.0 } } }"#,
            "protocols.lend.oracle.assets.ETH.max_answer",
            "above min_answer",
        ),
        (
            r#"{ kind = "push", assets = { ETH = { deviation = nan } } }"#,
            "protocols.lend.oracle.assets.ETH.deviation",
            "not a finite number",
        ),
        (
            r#"{ kind = "twap", hop_hours = 1.0, window_hours = 2.0 }"#,
            "protocols.lend.oracle.hop_hours",
            "not a setting of a `twap` oracle",
        ),
        (
            r#"{ kind = "twap" }"#,
            "protocols.lend.oracle.window_hours",
            "required",
        ),
        (
            r#"{ kind = "twap", window_hours = 1.5 }"#,
            "protocols.lend.oracle.window_hours",
            "whole number",
        ),
        (
            r#"{ kind = "twap", window_hours = 2.0, lag_steps = 1 }"#,
            "protocols.lend.oracle.lag_steps",
            "its own window",
        ),
        (
            r#"{ kind = "delayed", hop_hours = -1.0 }"#,
            "protocols.lend.oracle.hop_hours",
            "positive",
        ),
        (
            r#"{ kind = "anchored", window_hours = 2.0, tolerance = 1.0 }"#,
            "protocols.lend.oracle.tolerance",
            "(0, 1)",
        ),
        (
            r#"{ kind = "anchored", window_hours = 2.0 }"#,
            "protocols.lend.oracle.tolerance",
            "required",
        ),
        (
            r#"{ source = "pool", guard = { max_deviation = 0.1 } }"#,
            "protocols.lend.oracle.guard",
            "an oracle with state",
        ),
        (
            r#"{ kind = "delayed", guard = { grace_hours = 1.0 } }"#,
            "protocols.lend.oracle.guard.max_deviation",
            "max_staleness_hours",
        ),
        (
            r#"{ kind = "delayed", guard = { max_staleness_hours = 3.0, liquidate_below_hf = 1.2 } }"#,
            "protocols.lend.oracle.guard.liquidate_below_hf",
            "outside [0, 1]",
        ),
    ];
    for (oracle, field, problem) in cases {
        let e = scenario_error(&with(oracle));
        assert!(e.contains(field) && e.contains(problem), "{oracle}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

/// The ETH rows of `oracles.parquet`'s columns for STAIRS-like `text`,
/// by step: (oracle price, staleness hours, updated).
pub(crate) fn eth_oracle(text: &str) -> (Vec<f64>, Vec<f64>, Vec<bool>) {
    let sc = scenario(text, &Overrides::default());
    let rec = World::new(&sc).run_path(0).unwrap();
    let o = &rec.oracles;
    let rows: Vec<usize> = (0..o.step.len()).filter(|&k| o.asset[k] == 0).collect();
    for (t, &k) in rows.iter().enumerate() {
        assert_eq!(o.step[k] as usize, t);
    }
    (
        rows.iter().map(|&k| o.oracle_price[k]).collect(),
        rows.iter().map(|&k| o.staleness_hours[k]).collect(),
        rows.iter().map(|&k| o.updated[k]).collect(),
    )
}

fn with_oracle(text: &str, oracle: &str) -> String {
    edit(text, &[Edit::Set("protocols.lagged.oracle", val(oracle))])
}

/// STAIRS without its stairs: ETH at 1,000 falls 15% at step 3, read by
/// `oracle` (HF = price/875).
pub(crate) fn falls_at_step_3(oracle: &str) -> String {
    edit(
        STAIRS,
        &[
            Edit::Set("protocols.lagged.oracle", val(oracle)),
            Edit::Push("shocks", table("step = 3\nasset = \"ETH\"\nreturn = -0.15")),
        ],
    )
}

/// Whether liquidations were paused at each step (ETH's rows of
/// `oracles.parquet`).
pub(crate) fn eth_paused(rec: &contagion::output::recorder::PathRecord) -> Vec<bool> {
    let o = &rec.oracles;
    (0..o.step.len())
        .filter(|&k| o.asset[k] == 0)
        .map(|k| o.liquidations_paused[k])
        .collect()
}

/// A TWAP against its closed form on the scripted stairs (F_t = 1000·0.95^t,
/// nothing stochastic): at every read of step t, the mean of the end-of-step
/// prices of the three steps before (step 0's price before the start); the
/// price set in step t itself has no weight yet (Uniswap v2's accumulator).
#[test]
fn a_twap_is_the_mean_of_the_window_before_the_read() {
    let f = |t: i32| 1000.0 * 0.95f64.powi(t.max(0));
    for (mean, geometric) in [("arithmetic", false), ("geometric", true)] {
        let text = with_oracle(
            &stairs(0.0),
            &format!(r#"{{ kind = "twap", window_hours = 3.0, mean = "{mean}" }}"#),
        );
        let (price, staleness, updated) = eth_oracle(&text);
        for (t, p) in price.iter().enumerate() {
            let window: Vec<f64> = (1..=3).map(|k| f(t as i32 - k)).collect();
            let want = if geometric {
                (window.iter().map(|x| x.ln()).sum::<f64>() / 3.0).exp()
            } else {
                window.iter().sum::<f64>() / 3.0
            };
            assert!((p - want).abs() < 1e-9, "{mean}, step {t}: {p} vs {want}");
        }
        assert!(staleness.iter().all(|&s| s == 0.0));
        assert!(updated[1..].iter().all(|&u| u));
    }
}

/// Maker's OSM: with a one-hour hop and hourly steps the price in use during
/// step t is the source's of step t − 1; with a two-hour hop, pokes at hours
/// 2, 4, 6, 8 put into use what the poke before read: F₀ until hour 4, then
/// F₂, F₄, F₆ (an age of one to two hops).
#[test]
fn a_delayed_oracle_uses_the_price_one_hop_old() {
    let f = |t: i32| 1000.0 * 0.95f64.powi(t.max(0));
    let (one, _, _) = eth_oracle(&with_oracle(&stairs(0.0), r#"{ kind = "delayed" }"#));
    for (t, p) in one.iter().enumerate() {
        assert!((p - f(t as i32 - 1)).abs() < 1e-9, "step {t}: {p}");
    }
    let (two, staleness, updated) = eth_oracle(&with_oracle(
        &stairs(0.0),
        r#"{ kind = "delayed", hop_hours = 2.0 }"#,
    ));
    let used = [0, 0, 0, 0, 2, 2, 4, 4, 6];
    for (t, p) in two.iter().enumerate() {
        assert!((p - f(used[t])).abs() < 1e-9, "step {t}: {p}");
    }
    assert_eq!(
        updated,
        [false, false, true, false, true, false, true, false, true]
    );
    assert_eq!(staleness, [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
}

/// Compound's anchor: the source is taken only when a TWAP anchor is within
/// 20% of it. ETH halves at step 3 (1,000 → 500). Step 3: the anchor (2-step
/// TWAP: 1,000) is 2× the report: refused, 1,000 stays. Step 4: anchor
/// (500 + 1,000)/2 = 750 > 1.2 × 500: refused. Step 5: anchor 500: taken.
#[test]
fn an_anchored_oracle_refuses_a_price_far_from_its_anchor() {
    let text = edit(
        STAIRS,
        &[
            Edit::Set(
                "protocols.lagged.oracle",
                val(r#"{ kind = "anchored", window_hours = 2.0, tolerance = 0.2 }"#),
            ),
            Edit::Push("shocks", table("step = 3\nasset = \"ETH\"\nreturn = -0.5")),
        ],
    );
    let (price, staleness, updated) = eth_oracle(&text);
    assert_eq!(
        price,
        [
            1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 500.0, 500.0, 500.0, 500.0
        ]
    );
    assert_eq!(updated[3..6], [false, false, true]);
    assert_eq!(staleness[3..6], [1.0, 2.0, 0.0]);
}

/// A guard (Aave's sentinel, keyed to the oracle): ETH falls 15% at step 3
/// (1,000 → 850) under a 2-step TWAP. Step 3: the TWAP (1,000) is 17.6% off
/// the market, over the 10% allowed: paused. Step 4: 925, 8.8% off: no
/// alarm, but within the 2 h grace: paused. Step 5: 850, still within grace
/// (2 h is not strictly more than 2 h): paused. Step 6: resumed. The
/// position (1,000 ETH, 700,000 owed, LT 0.8: HF = price/875) is at 0.971
/// from step 5: liquidated then without the guard, at step 6 with it (it is
/// above the 0.95 that is liquidated while paused).
#[test]
fn a_guard_pauses_liquidations_while_the_oracle_is_off_and_through_its_grace() {
    let twap = r#"{ kind = "twap", window_hours = 2.0 }"#;
    let guarded = r#"{ kind = "twap", window_hours = 2.0, guard = { max_deviation = 0.1, grace_hours = 2.0 } }"#;
    let text = falls_at_step_3;
    let first_liquidation = |text: &str| {
        let sc = scenario(text, &Overrides::default());
        let rec = World::new(&sc).run_path(0).unwrap();
        (rec.liquidations.step.first().copied(), rec)
    };
    let (plain, _) = first_liquidation(&text(twap));
    assert_eq!(plain, Some(5));
    let (with_guard, rec) = first_liquidation(&text(guarded));
    assert_eq!(with_guard, Some(6));
    assert_eq!(
        eth_paused(&rec),
        [false, false, false, true, true, true, false, false, false]
    );
    // A 20% fall: at step 5 the TWAP is 800 and HF 0.914, below 0.95: the
    // position is liquidated although the guard pauses (steps 3–6).
    let deeper = text(guarded).replace("return = -0.15", "return = -0.2");
    let (step, rec) = first_liquidation(&deeper);
    assert_eq!(step, Some(5));
    assert!(rec.oracles.liquidations_paused[2 * 5]);
}

/// A push feed observes its source lagged as configured: with deviation 0
/// it publishes at every read, so on the stairs it shows F_{t−2} with
/// `lag_steps = 2` (F₀ before step 2).
#[test]
fn a_push_feed_observes_its_source_lagged() {
    let f = |t: i32| 1000.0 * 0.95f64.powi(t.max(0));
    let (price, _, _) = eth_oracle(&with_oracle(
        &stairs(0.0),
        r#"{ kind = "push", deviation = 0.0, lag_steps = 2 }"#,
    ));
    for (t, p) in price.iter().enumerate() {
        assert!((p - f(t as i32 - 2)).abs() < 1e-9, "step {t}: {p}");
    }
}

/// The guard's deviation alarm is strict: a price in use exactly
/// `max_deviation` from the fundamental raises none. ETH halves at step 2
/// (1,000 → 500) under an OSM with a one-hour hop: at step 2 the price in
/// use is 1,000, off by 500 = 1.0 × 500.
#[test]
fn a_guard_alarms_only_beyond_its_deviation() {
    let text = |max: &str| {
        edit(
            STAIRS,
            &[
                Edit::Set(
                    "protocols.lagged.oracle",
                    val(&format!(
                        r#"{{ kind = "delayed", guard = {{ max_deviation = {max}, grace_hours = 0.0 }} }}"#
                    )),
                ),
                Edit::Push("shocks", table("step = 2\nasset = \"ETH\"\nreturn = -0.5")),
            ],
        )
    };
    let paused = |max: &str| {
        let sc = scenario(&text(max), &Overrides::default());
        let rec = World::new(&sc).run_path(0).unwrap();
        let o = &rec.oracles;
        assert_eq!(o.oracle_price[2 * 2], 1000.0);
        assert_eq!(o.source_price[2 * 2], 500.0, "the halving is exact");
        o.liquidations_paused[2 * 2]
    };
    assert!(!paused("1.0"), "exactly at the limit: no alarm");
    assert!(paused("0.999"), "beyond it: an alarm");
}
