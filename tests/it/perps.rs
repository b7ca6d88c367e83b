//! Perpetual futures (docs/model.md §15): liquidation at the mark, the
//! insurance fund, auto-deleveraging, cross against isolated margin,
//! volatility-scaled margin, and the zero-sum ledger.

use contagion::Overrides;
use contagion::engine::World;
use proptest::prelude::*;

use crate::common::*;

/// One ETH market: a 10× long (margin 2,000 on 20,000) and a 1× short
/// against a 1,000-ETH pool without fee. Funding is off (clamp 0).
pub(crate) const PERP: &str = r#"
[simulation]
name = "perp"
steps = 4
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 1000.0
fee = 0.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[perps]]
name = "eth-perp"
asset = "ETH"
initial_margin = 0.1
maintenance_margin = 0.05
liquidation_fee = 0.01
insurance_fund = 1000.0
funding = { clamp = 0.0, period_hours = 8.0 }

[[perp_positions]]
perp = "eth-perp"
side = "long"
size = 10.0
margin = 2000.0

[[perp_positions]]
perp = "eth-perp"
side = "short"
size = 10.0
margin = 20000.0

[[shocks]]
step = 1
asset = "ETH"
return = -0.08
"#;

fn perps_of(dir: &std::path::Path) -> polars::prelude::DataFrame {
    read(&dir.join("perps.parquet"))
}

/// ETH falls to 1,840 and arbitrage takes the pool there (k = 2·10⁹). The
/// long's margin is 2,000 − 10·160 = 400, below 5% of 18,400 = 920: it is
/// liquidated. The 1% penalty (184) goes to the fund (1,184) and 216 back to
/// the trader. The vault takes the long over and hedges by selling 10 ETH
/// into the pool, so the mark ends the step at (y − out)/(x + 10).
#[test]
fn a_long_below_maintenance_is_liquidated_at_the_mark() {
    let sc = scenario(PERP, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let p = perps_of(&dir.path().join("run"));
    assert_eq!(u32s(&p, "liquidations"), [0, 1, 0, 0, 0]);
    assert!(close(f64s(&p, "liquidated_notional")[1], 18_400.0));
    assert!(close(f64s(&p, "insurance_fund")[1], 1184.0));
    let k: f64 = 1000.0 * 2_000_000.0;
    let (x, y) = ((k / 1840.0).sqrt(), (k * 1840.0).sqrt());
    let out = y * 10.0 / (x + 10.0);
    let mark = (y - out) / (x + 10.0);
    assert!(close(f64s(&p, "mark")[1], mark));
    assert!(close(f64s(&p, "vault_position")[1], 10.0 * mark));
    assert!(close(f64s(&p, "oi_long")[1], 0.0));
    assert_eq!(u32s(&p, "adl_events"), [0; 5]);
    let paths = read(&dir.path().join("run/paths.parquet"));
    assert_eq!(u32s(&paths, "perp_liquidations"), [1]);
    // The contract: columns in order, and the chart.
    let names: Vec<String> = p.get_column_names().iter().map(|c| c.to_string()).collect();
    assert_eq!(
        names,
        [
            "path",
            "step",
            "market",
            "mark",
            "index",
            "funding_rate",
            "oi_long",
            "oi_short",
            "liquidations",
            "liquidated_notional",
            "insurance_fund",
            "fund_drawn",
            "adl_events",
            "vault_position",
            "vault_bad_debt_cum",
            "maintenance_margin"
        ]
    );
    assert!(dir.path().join("run/charts/perp_eth-perp.png").exists());
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["perps"]["liquidations"]["mean"], 1.0);
    assert_eq!(summary["perps"]["vault_bad_debt"]["max"], 0.0);
}

/// A 15% fall leaves the long at 2,000 − 3,000 = −1,000 with an empty fund:
/// the profitable short is auto-deleveraged. Matched unit for unit at the
/// long's bankruptcy price, it pays the 1,000 out of its 3,000 profit; both
/// positions close, the vault takes nothing and absorbs nothing.
#[test]
fn an_empty_fund_triggers_auto_deleveraging() {
    let text = edit(
        PERP,
        &[
            Edit::Set("perps.eth-perp.insurance_fund", val("0.0")),
            Edit::Set("shocks.ETH.return", val("-0.15")),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    let mut world = World::new(&sc);
    let mut ledger = Vec::new();
    let rec = world
        .run_path_with(0, |w, _| ledger.push(w.perp_ledger()))
        .unwrap();
    assert_eq!(rec.summary.perp_adl_events, 1);
    assert_eq!(rec.summary.perp_vault_bad_debt, 0.0);
    assert_eq!(rec.perps.adl_events, [0, 1, 0, 0, 0]);
    assert_eq!(rec.perps.vault_position, [0.0; 5]);
    assert_eq!(rec.perps.oi_short[1], 0.0);
    // Margins 2,000 + 20,000 at the start; the short ends with 22,000.
    for l in ledger {
        assert!(close(l, 22_000.0), "{l}");
    }
}

/// Two markets, one account long both, 10× on 40,000. ETH falls 8% and BTC
/// rises 8%. Isolated, the ETH leg (margin 2,000) is at 400 < 920 and is
/// liquidated. Cross, the account has 4,000 − 1,600 + 1,600 ≥ 2·920 and
/// nothing happens.
#[test]
fn cross_margin_nets_what_isolated_margin_liquidates() {
    let two = |mode: &str| {
        edit(
            PERP,
            &[
                Edit::Push("assets", table("symbol = \"BTC\"\nprice = 50000.0")),
                Edit::Push(
                    "pools",
                    table("base = \"BTC\"\nquote = \"USDC\"\nbase_reserve = 40.0\nfee = 0.0"),
                ),
                Edit::Remove("perp_positions"),
                Edit::Push(
                    "perps",
                    table(
                        "name = \"btc-perp\"\nasset = \"BTC\"\ninitial_margin = 0.1\nmaintenance_margin = 0.05\nfunding = { clamp = 0.0, period_hours = 8.0 }",
                    ),
                ),
                Edit::Push(
                    "perp_populations",
                    table(&format!(
                        "perps = [\"eth-perp\", \"btc-perp\"]\nsides = [\"long\", \"long\"]\ncount = 1\nnotional_usd = {{ dist = \"fixed\", value = 40000.0 }}\nleverage = {{ dist = \"fixed\", value = 10.0 }}\nmargin_mode = \"{mode}\""
                    )),
                ),
                Edit::Push("shocks", table("step = 1\nasset = \"BTC\"\nreturn = 0.08")),
            ],
        )
    };
    let run = |mode: &str| {
        let sc = scenario(&two(mode), &Overrides::default());
        assert_eq!(sc.perp_book.accounts(), if mode == "cross" { 1 } else { 2 });
        World::new(&sc)
            .run_path(0)
            .unwrap()
            .summary
            .perp_liquidations
    };
    assert_eq!(run("isolated"), 1);
    assert_eq!(run("cross"), 0);
}

/// `max(5%, 3·σ·sqrt(24 h))`, with σ the EWMA of the index's hourly log
/// returns (λ = 0.9, starting at 50%): 3·0.5·sqrt(24/8760) = 7.85% at
/// step 0, and after the 8% fall σ₁² = 0.9·0.25 + 0.1·ln(0.92)²·8760.
#[test]
fn volatility_scaled_margin_follows_the_ewma() {
    let text = edit(
        PERP,
        &[Edit::Add(
            "perps.eth-perp.margin",
            val(
                "{ kind = \"ewma\", lambda = 0.9, multiplier = 3.0, horizon_hours = 24.0, initial_vol = 0.5 }",
            ),
        )],
    );
    let sc = scenario(&text, &Overrides::default());
    let rec = World::new(&sc).run_path(0).unwrap();
    let h = (24.0f64 / 8760.0).sqrt();
    let mm = &rec.perps.maintenance_margin;
    assert!(close(mm[0], 3.0 * 0.5 * h));
    let r = 0.92f64.ln();
    let v1 = (0.9 * 0.25 + 0.1 * r * r * 8760.0).sqrt();
    assert!(close(mm[1], 3.0 * v1 * h), "{} vs {}", mm[1], 3.0 * v1 * h);
    // Quiet steps after the fall: the margin decays back towards 7.85%.
    assert!(mm[4] < mm[1] && mm[4] > mm[0]);
}

#[test]
fn perp_inputs_are_validated() {
    let bad = |path: &str, to: &str, needle: &str| {
        let text = edit(PERP, &[Edit::Set(path, val(to))]);
        let e = contagion::Scenario::from_toml(
            &text,
            "t.toml",
            std::path::Path::new("."),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(needle), "`{needle}` not in: {e}");
    };
    bad(
        "perps.eth-perp.maintenance_margin",
        "0.1",
        "perps.eth-perp.maintenance_margin: 0.1 must be below the initial margin 0.1",
    );
    bad("perps.eth-perp.asset", "\"USDC\"", "`USDC` has no pool");
    bad(
        "perp_positions.0.margin",
        "1000.0",
        "below the initial margin 2000",
    );
    bad(
        "perp_positions.0.perp",
        "\"btc-perp\"",
        "perp_positions[0].perp: unknown perp `btc-perp`",
    );
    let hedger = |perp: &str, margin: f64| {
        format!(
            "{PERP}\n[[hedgers]]\nname = \"dealer\"\nasset = \"ETH\"\nsurface = {{ atm = 0.8 }}\nband = 1.0\nhedge = {{ perp = \"{perp}\", margin = {margin} }}\noptions = [{{ kind = \"put\", strike = 1900.0, expiry_hours = 24.0, quantity = -100.0 }}]\n"
        )
    };
    for (text, needle) in [
        (
            hedger("nope", 1e6),
            "hedgers.dealer.hedge.perp: unknown perp `nope`",
        ),
        (
            hedger("eth-perp", 10.0),
            "hedgers.dealer.hedge.margin: 10 is below the initial margin",
        ),
    ] {
        let e = contagion::Scenario::from_toml(
            &text,
            "t.toml",
            std::path::Path::new("."),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(needle), "`{needle}` not in: {e}");
    }
}

/// The random book of the ledger property (its seed is the `Overrides` seed:
/// TOML integers stop at 2^63).
fn random_book(clamp: f64, fee: f64, fund: f64, shock: f64) -> String {
    edit(
        PERP,
        &[
            Edit::Set("simulation.steps", val("40")),
            Edit::Add(
                "assets.ETH.process",
                val(
                    "{ kind = \"merton\", vol = 1.2, jump_intensity = 40.0, jump_mean = -0.03, jump_std = 0.05 }",
                ),
            ),
            Edit::Set("perps.eth-perp.funding.clamp", clamp.into()),
            Edit::Add("perps.eth-perp.taker_fee", fee.into()),
            Edit::Set("perps.eth-perp.insurance_fund", fund.into()),
            Edit::Set("shocks.ETH.return", shock.into()),
        ],
    ) + r#"
[[perp_populations]]
perps = ["eth-perp"]
sides = ["long"]
count = 40
notional_usd = { dist = "lognormal", median = 20000.0, sigma = 1.0 }
leverage = { dist = "uniform", min = 2.0, max = 10.0 }

[[perp_populations]]
perps = ["eth-perp"]
sides = ["short"]
count = 30
notional_usd = { dist = "lognormal", median = 20000.0, sigma = 1.0 }
leverage = { dist = "uniform", min = 2.0, max = 10.0 }
margin_mode = "isolated"

# A dealer short puts, hedging in the perp.
[[hedgers]]
name = "dealer"
asset = "ETH"
surface = { atm = 0.9, skew = -0.3 }
band = 0.5
hedge = { perp = "eth-perp", margin = 100000.0 }
options = [{ kind = "put", strike = 1900.0, expiry_hours = 30.0, quantity = -60.0 }]
"#
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Perp PnL sums to zero: margins, returned margin, the vault, the funds
    /// and fees add up to the same total after every step, whatever the
    /// path, funding, fees and fund size.
    #[test]
    fn the_perp_ledger_is_conserved(
        seed in any::<u64>(),
        clamp in 0.0..0.01f64,
        fee in 0.0..0.002f64,
        fund in 0.0..50_000.0f64,
        shock in -0.4..0.2f64,
    ) {
        let sc = scenario(
            &random_book(clamp, fee, fund, shock),
            &Overrides {
                paths: None,
                seed: Some(seed),
            },
        );
        assert!(sc.hedgers[0].perp.is_some());
        let start: f64 = sc.perp_book.margin.iter().sum::<f64>() + fund;
        let mut world = World::new(&sc);
        let mut worst: f64 = 0.0;
        world.run_path_with(0, |w, _| {
            worst = worst.max((w.perp_ledger() - start).abs());
        }).unwrap();
        prop_assert!(worst <= 1e-7 * start, "ledger drifted by {worst} of {start}");
    }
}

/// Funding (§15, stage 4b): `rate = clamp((mark − index)/index, ±clamp) ·
/// dt/period`, longs pay `rate·size·mark`. The index lags one step
/// (`index_lag_steps = 1`), so a 10% rise at step 1 leaves the mark (the
/// pool, arbitraged to 2,200) above the index (2,000, the end of step 0):
/// premium +0.1. With period 0.5 h and dt 1 h the rate is 0.2 under a
/// clamp of 0.15 or more, 0.05·2 = 0.1 under a clamp of 0.05.
///
/// The long (10 ETH, margin 2,000) gains 10·200 = 2,000 of variation
/// margin: equity 4,000 against a maintenance of 5%·22,000 = 1,100. Paying
/// 0.2·10·2,200 = 4,400 of funding leaves it at −400: it is liquidated in
/// step 2's first round. Paying 0.1·10·2,200 = 2,200 leaves 1,800 ≥ 1,100:
/// safe. Were the premium's sign reversed the long would receive and never
/// be liquidated.
#[test]
fn funding_follows_the_premium_clamp_and_period_and_longs_pay() {
    let text = |clamp: f64, lag: u32| {
        edit(
            PERP,
            &[
                Edit::Set("perps.eth-perp.funding.clamp", clamp.into()),
                Edit::Set("perps.eth-perp.funding.period_hours", val("0.5")),
                Edit::Add("perps.eth-perp.index_lag_steps", (lag as i64).into()),
                Edit::Set("shocks.ETH.return", val("0.1")),
            ],
        )
    };
    let run = |clamp: f64, lag: u32| {
        let sc = scenario(&text(clamp, lag), &Overrides::default());
        let dir = tempfile::tempdir().unwrap();
        run_into(&sc, dir.path(), "run", Some(1));
        perps_of(&dir.path().join("run"))
    };

    let p = run(0.15, 1);
    let (mark, index, rate) = (
        f64s(&p, "mark"),
        f64s(&p, "index"),
        f64s(&p, "funding_rate"),
    );
    assert!(close(index[1], 2000.0), "lagged index {}", index[1]);
    assert!(close(mark[1], 2200.0), "mark {}", mark[1]);
    assert!(close(index[2], 2200.0), "index at step 2 {}", index[2]);
    assert!((rate[1] - 0.2).abs() < 1e-12, "rate {}", rate[1]);
    assert_eq!(rate[0], 0.0);
    assert_eq!(i64s(&p, "liquidations"), [0, 0, 1, 0, 0], "the long paid");

    let p = run(0.05, 1);
    let rate = f64s(&p, "funding_rate");
    assert!((rate[1] - 0.1).abs() < 1e-12, "clamped rate {}", rate[1]);
    assert_eq!(i64s(&p, "liquidations"), [0; 5], "1,800 ≥ 1,100");

    // Without the lag the index is the fundamental: no premium, no funding.
    let p = run(0.15, 0);
    assert!(close(f64s(&p, "index")[1], 2200.0));
    assert!(f64s(&p, "funding_rate").iter().all(|r| r.abs() < 1e-12));
    assert_eq!(i64s(&p, "liquidations"), [0; 5]);
}

/// ADL across several counterparties (§15). The fund is empty; ETH falls
/// 15% to 1,700. The long (10 ETH, margin 2,000) is at −1,000: a deficit
/// D = 1,000 that no fund covers. Two profitable shorts: `a` (3 ETH,
/// margin 1,000: profit 900, equity 1,900, leverage 5,100/1,900 = 2.68,
/// score 2,416) and `b` (10 ETH, margin 20,000: profit 3,000, equity
/// 23,000, leverage 0.739, score 2,217). `a` ranks first; its 3 units are
/// matched and each gives up D/10 = 100 (300 ≤ 900). The remaining 7 units
/// of the long are matched against `b`, which gives up 700 and keeps 3
/// units open. Everything is matched: the vault (long the traders' net
/// 3 ETH from the start) takes nothing over, draws nothing and absorbs
/// nothing; the ledger keeps its 23,000.
#[test]
fn auto_deleveraging_reaches_a_second_counterparty() {
    let text = edit(
        PERP,
        &[
            Edit::Set("perps.eth-perp.insurance_fund", val("0.0")),
            Edit::Set("shocks.ETH.return", val("-0.15")),
            Edit::Add("perp_positions.1.account", val("\"b\"")),
            Edit::Push(
                "perp_positions",
                table(
                    "perp = \"eth-perp\"\nside = \"short\"\nsize = 3.0\nmargin = 1000.0\naccount = \"a\"",
                ),
            ),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    let mut world = World::new(&sc);
    let mut ledger = Vec::new();
    let rec = world
        .run_path_with(0, |w, _| ledger.push(w.perp_ledger()))
        .unwrap();
    assert_eq!(rec.summary.perp_vault_bad_debt, 0.0);
    assert_eq!(rec.summary.perp_fund_drawn, 0.0);
    for (v, m) in rec.perps.vault_position.iter().zip(&rec.perps.mark) {
        assert!(close(*v, 3.0 * m), "vault {v} at mark {m}");
    }
    assert_eq!(rec.perps.oi_long[1], 0.0);
    let mark = rec.perps.mark[1];
    assert!(close(mark, 1700.0), "{mark}");
    assert!(
        close(rec.perps.oi_short[1], 3.0 * mark),
        "3 units of b left: {}",
        rec.perps.oi_short[1]
    );
    assert_eq!(rec.perps.adl_events[1], 2, "two counterparties");
    for l in ledger {
        assert!(close(l, 23_000.0), "{l}");
    }
}

/// A perp-only book on ALT at 100 with a 1,000-ALT pool: no fees, no fund,
/// no funding, margins of 2% initial and 1% maintenance. ALT falls 45% to
/// 55 at step 1.
const ALT: &str = r#"
[simulation]
name = "alt"
steps = 2
paths = 1

[[assets]]
symbol = "ALT"
price = 100.0

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ALT"
quote = "USDC"
base_reserve = 1000.0
fee = 0.0

[[perps]]
name = "alt-perp"
asset = "ALT"
initial_margin = 0.02
maintenance_margin = 0.01
liquidation_fee = 0.0
insurance_fund = 0.0
funding = { clamp = 0.0, period_hours = 8.0 }

[[perp_positions]]
perp = "alt-perp"
side = "short"
size = 20.0
margin = 40.0
account = "short"

[[perp_positions]]
perp = "alt-perp"
side = "long"
size = 10.0
margin = 100.0
account = "a"

[[perp_positions]]
perp = "alt-perp"
side = "long"
size = 10.0
margin = 20.0
account = "b"

[[shocks]]
step = 1
asset = "ALT"
return = -0.45
"#;

/// ADL give-up (§15): "each matched unit gives up D′/|size| of its
/// profit"; the units left open keep theirs. At 55 the short (20 units)
/// has a profit of 900; long `b` is at 20 − 450 = −430 and long `a` at
/// 100 − 450 = −350, both bankrupt. `b` is liquidated first (−430/5.5
/// below −350/5.5): its 10 units are matched against half the short, which
/// gives up 430 of the 450 those units earned and keeps 450 on its other
/// 10 units. `a`'s 10 units are then matched against those: they give up
/// 350 ≤ 450. Nothing is left for the vault. (Taking the give-up out of the
/// whole profit before halving it leaves (900 − 430)/2 = 235 for `a`'s
/// deficit of 350, and 115 of vault bad debt.)
#[test]
fn adl_give_up_comes_out_of_the_matched_units_profit_only() {
    let sc = scenario(ALT, &Overrides::default());
    let mut world = World::new(&sc);
    let mut ledger = Vec::new();
    let rec = world
        .run_path_with(0, |w, _| ledger.push(w.perp_ledger()))
        .unwrap();
    assert!(close(rec.perps.mark[1], 55.0), "{}", rec.perps.mark[1]);
    assert_eq!(rec.summary.perp_vault_bad_debt, 0.0);
    assert_eq!(rec.perps.vault_bad_debt_cum, [0.0; 3]);
    assert_eq!(rec.perps.adl_events[1], 2);
    assert_eq!(rec.perps.liquidations[1], 2);
    assert_eq!(rec.perps.oi_long[1], 0.0);
    assert_eq!(rec.perps.oi_short[1], 0.0);
    assert_eq!(rec.perps.vault_position, [0.0; 3]);
    // The short keeps 40 + 900 − 430 − 350 = 160: the whole ledger.
    assert!(close(world.perp_ledger(), 160.0));
    for l in ledger {
        assert!(close(l, 160.0), "{l}");
    }
}

/// A position closed by ADL is not liquidated again (§15). Account `c`
/// (cross) is long 5 ETH and long 1 BTC. ETH rises 20% at step 1: the
/// short `x` (10 ETH, margin 2,000) is at −2,000 with an empty fund, and
/// ADL closes `c`'s profitable ETH long against it (5 units give up 1,000
/// of their 2,000); the vault takes the other 5 units over. BTC halves at
/// step 3 and `c` is liquidated: it holds BTC only by then, so the ETH
/// market records no liquidation at step 3. `perp_liquidations` in
/// paths.parquet is the sum of perps.parquet's `liquidations`.
#[test]
fn a_position_adl_closed_is_not_liquidated_again() {
    let text = r#"
[simulation]
name = "phantom"
steps = 4
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "BTC"
price = 50000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 1000.0
fee = 0.0

[[pools]]
base = "BTC"
quote = "USDC"
base_reserve = 40.0
fee = 0.0

[[perps]]
name = "eth-perp"
asset = "ETH"
initial_margin = 0.1
maintenance_margin = 0.05
liquidation_fee = 0.0
insurance_fund = 0.0
funding = { clamp = 0.0, period_hours = 8.0 }

[[perps]]
name = "btc-perp"
asset = "BTC"
initial_margin = 0.1
maintenance_margin = 0.05
liquidation_fee = 0.0
insurance_fund = 0.0
funding = { clamp = 0.0, period_hours = 8.0 }

[[perp_positions]]
perp = "eth-perp"
side = "short"
size = 10.0
margin = 2000.0
account = "x"

[[perp_positions]]
perp = "eth-perp"
side = "long"
size = 5.0
margin = 1000.0
account = "c"

[[perp_positions]]
perp = "btc-perp"
side = "long"
size = 1.0
margin = 5000.0
account = "c"

[[shocks]]
step = 1
asset = "ETH"
return = 0.2

[[shocks]]
step = 3
asset = "BTC"
return = -0.5
"#;
    let sc = scenario(text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let p = perps_of(&dir.path().join("run"));
    let market = strs(&p, "market");
    let liqs = u32s(&p, "liquidations");
    let adl = u32s(&p, "adl_events");
    let notional = f64s(&p, "liquidated_notional");
    let of = |name: &str, v: &[u32]| -> Vec<u32> {
        market
            .iter()
            .zip(v)
            .filter(|(m, _)| *m == name)
            .map(|(_, x)| *x)
            .collect()
    };
    assert_eq!(of("eth-perp", &adl), [0, 1, 0, 0, 0]);
    assert_eq!(of("eth-perp", &liqs), [0, 1, 0, 0, 0], "x only");
    assert_eq!(of("btc-perp", &liqs), [0, 0, 0, 1, 0], "c at step 3");
    for (k, m) in market.iter().enumerate() {
        assert_eq!(liqs[k] > 0, notional[k] > 0.0, "{m} row {k}");
    }
    let paths = read(&dir.path().join("run/paths.parquet"));
    assert_eq!(
        u32s(&paths, "perp_liquidations"),
        [liqs.iter().sum::<u32>()]
    );
}

/// ADL ranks by profit including funding (§15). The index lags one step;
/// ETH rises 10% at step 1, so the mark (2,200) is 10% above the index
/// (2,000) and with period 0.5 h the rate is 0.2 a step: the long (10 ETH,
/// margin 2,000) gains 2,000 on price and pays 4,400, the short loses 2,000
/// on price and receives 4,400. At step 2 the long is at −400 with an empty
/// fund: the short, behind on price but 2,400 ahead in all, is
/// auto-deleveraged for the 400 and the vault absorbs nothing. Ranked by
/// price PnL alone it would not qualify and the vault would take 400.
#[test]
fn adl_counts_funding_in_a_positions_profit() {
    let text = edit(
        PERP,
        &[
            Edit::Set(
                "perps.eth-perp.funding",
                val("{ clamp = 0.15, period_hours = 0.5 }"),
            ),
            Edit::Add("perps.eth-perp.index_lag_steps", val("1")),
            Edit::Set("shocks.ETH.return", val("0.1")),
            Edit::Set("perps.eth-perp.insurance_fund", val("0.0")),
            Edit::Set("perps.eth-perp.liquidation_fee", val("0.0")),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    let mut world = World::new(&sc);
    let mut ledger = Vec::new();
    let rec = world
        .run_path_with(0, |w, _| ledger.push(w.perp_ledger()))
        .unwrap();
    assert!((rec.perps.funding_rate[1] - 0.2).abs() < 1e-12);
    assert_eq!(rec.perps.liquidations, [0, 0, 1, 0, 0]);
    assert_eq!(rec.perps.adl_events, [0, 0, 1, 0, 0]);
    assert_eq!(rec.summary.perp_vault_bad_debt, 0.0);
    assert_eq!(rec.perps.vault_position[2], 0.0, "all 10 units matched");
    for l in ledger {
        assert!(close(l, 22_000.0), "{l}");
    }
}

/// ADL give-up when the cap binds twice on one position (§15): "each
/// matched unit gives up D′/|size| of its profit (at most its profit) …
/// the units left open keep their profit". Two cross accounts `x1`
/// (margin 99 + 1) and `x2` (149 + 1) are each long 10 ALT and 10 BET; the
/// short `s` holds 20 ALT. ALT falls 10% to 90 and BET 60% to 40 at step
/// 1: `x1` is at 100 − 100 − 600 = −600 and `x2` at −550, and each one's
/// ALT share of its deficit (by notional, 900 of 1,300) is 415.38 and
/// 380.77. `s` is up 200 (10 a unit). `x1` is liquidated first: its 10 ALT
/// units meet 10 of `s`'s, which give up their whole profit, 100 (at most
/// their profit); `s` keeps 100 on the 10 units left. `x2`'s 10 units meet
/// those and take the other 100. So `s` ends where it started, at 1,000
/// (plus 200, less 200), and ALT's vault absorbs 415.38 − 100 + 380.77 −
/// 100 = 596.15. Had the first give-up not come out of the profit, the
/// second match would have taken up to 200 from `s`.
#[test]
fn a_position_deleveraged_twice_gives_up_at_most_its_profit() {
    let text = r#"
[simulation]
name = "twice"
steps = 2
paths = 1

[[assets]]
symbol = "ALT"
price = 100.0

[[assets]]
symbol = "BET"
price = 100.0

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ALT"
quote = "USDC"
base_reserve = 1000.0
fee = 0.0

[[pools]]
base = "BET"
quote = "USDC"
base_reserve = 1000.0
fee = 0.0

[[perps]]
name = "alt-perp"
asset = "ALT"
initial_margin = 0.02
maintenance_margin = 0.01
liquidation_fee = 0.0
insurance_fund = 0.0
funding = { clamp = 0.0, period_hours = 8.0 }

[[perps]]
name = "bet-perp"
asset = "BET"
initial_margin = 0.02
maintenance_margin = 0.01
liquidation_fee = 0.0
insurance_fund = 0.0
funding = { clamp = 0.0, period_hours = 8.0 }

[[perp_positions]]
perp = "alt-perp"
side = "short"
size = 20.0
margin = 1000.0
account = "s"

[[perp_positions]]
perp = "bet-perp"
side = "short"
size = 20.0
margin = 5000.0
account = "t"

[[perp_positions]]
perp = "alt-perp"
side = "long"
size = 10.0
margin = 99.0
account = "x1"

[[perp_positions]]
perp = "bet-perp"
side = "long"
size = 10.0
margin = 1.0
account = "x1"

[[perp_positions]]
perp = "alt-perp"
side = "long"
size = 10.0
margin = 149.0
account = "x2"

[[perp_positions]]
perp = "bet-perp"
side = "long"
size = 10.0
margin = 1.0
account = "x2"

[[shocks]]
step = 1
asset = "ALT"
return = -0.1

[[shocks]]
step = 1
asset = "BET"
return = -0.6
"#;
    let sc = scenario(text, &Overrides::default());
    let mut world = World::new(&sc);
    let mut ledger = Vec::new();
    let rec = world
        .run_path_with(0, |w, _| ledger.push(w.perp_ledger()))
        .unwrap();
    let alt = &rec.summary.perp_markets[0];
    assert_eq!(alt.liquidations, 2);
    assert_eq!(alt.adl_events, 2, "s is deleveraged twice");
    assert_eq!(alt.fund_drawn, 0.0);
    let expected = 600.0 * 900.0 / 1300.0 - 100.0 + 550.0 * 900.0 / 1300.0 - 100.0;
    assert!(
        (alt.vault_bad_debt - expected).abs() < 1e-6,
        "ALT's vault absorbs {} (expected {expected})",
        alt.vault_bad_debt
    );
    // `s` is closed out: all of its 20 units were matched (rows go by
    // step, then market: ALT's last row is the second to last).
    let oi = &rec.perps.oi_short;
    assert_eq!(rec.perps.perp[oi.len() - 2], 0);
    assert_eq!(oi[oi.len() - 2], 0.0);
    assert!(oi[0] > 0.0);
    for (k, l) in ledger.iter().enumerate() {
        assert!(close(*l, ledger[0]), "step {k}: ledger {l}");
    }
}

/// The cascade goes on while any mechanism executes a liquidation (§5,
/// §15): ETH falls 8% at step 1. Round 0: lending position A (1 ETH, owes
/// 1,500, HF 0.98 at the pool's 1,840) and the perp long are liquidated,
/// one each; A's seized ETH and the vault's hedge (10 ETH) are sold into
/// the pool, which falls about 2%. Round 1: B (1 ETH, owes 1,464.68, HF
/// 1.005 before) reads the pool oracle at about 1,803, HF 0.985, and is
/// liquidated in the same step. (Were the round's count the lending
/// liquidations less the perp ones, round 0 would count 0 and end the
/// step's cascade there.)
#[test]
fn a_round_that_liquidates_in_both_mechanisms_continues_the_cascade() {
    let text = edit(
        PERP,
        &[
            Edit::Add("protocols.lend.oracle", val("{ source = \"pool\" }")),
            Edit::Push(
                "positions",
                table("protocol = \"lend\"\ndebt = 1500.0\ncollateral = { ETH = 1.0 }"),
            ),
            Edit::Push(
                "positions",
                table("protocol = \"lend\"\ndebt = 1464.68\ncollateral = { ETH = 1.0 }"),
            ),
            Edit::Push(
                "liquidators",
                table("name = \"bot\"\ncapital = \"unlimited\""),
            ),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let liq = read(&dir.path().join("out/liquidations.parquet"));
    let ids = u32s(&liq, "position");
    let steps = u32s(&liq, "step");
    let rounds = u32s(&liq, "round");
    let first = |id: u32| (0..ids.len()).find(|&r| ids[r] == id).unwrap();
    assert_eq!((steps[first(0)], rounds[first(0)]), (1, 0), "A in round 0");
    assert_eq!((steps[first(1)], rounds[first(1)]), (1, 1), "B in round 1");
    let perps = perps_of(&dir.path().join("out"));
    assert_eq!(u32s(&perps, "liquidations")[1], 1, "the long in step 1");
}
