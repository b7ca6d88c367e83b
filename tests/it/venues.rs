//! Venues: several pools per asset, arbitrage capacity, shocks to pools,
//! and oracles reading named venues or their median (docs/model.md §3, §4).

use contagion::Overrides;
use contagion::engine::World;
use contagion::output::recorder::PathRecord;

use crate::common::run_path0 as run;
use crate::common::*;

/// ETH at a fixed 2,000 with a deep main venue and a thin one that
/// arbitrage refills by at most 1,000 USD a step. Three protocols read
/// ETH: through the thin venue alone, through the median of the main
/// venue, the thin one and the fundamental, and through the median of the
/// thin venue and the fundamental (an even count: the upper one). Push
/// feeds with deviation 0 publish their source at every read, so the
/// recorded source and answer are the venue's price after each step.
const VENUES: &str = r#"
[simulation]
name = "venues"
steps = 8
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "USD"
price = 1.0

[[pools]]
base = "ETH"
quote = "USD"
base_reserve = 1000.0
fee = 0.0

[[pools]]
name = "ETH thin"
base = "ETH"
quote = "USD"
base_reserve = 10.0
fee = 0.003
arbitrage_usd = 1000.0

[[protocols]]
name = "thin"
kind = "lending"
debt_asset = "USD"
oracle = { kind = "push", deviation = 0.0, venues = { ETH = ["ETH thin"] } }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[protocols]]
name = "median3"
kind = "lending"
debt_asset = "USD"
oracle = { kind = "push", deviation = 0.0, venues = { ETH = ["ETH/USD", "ETH thin", "fundamental"] } }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[protocols]]
name = "median2"
kind = "lending"
debt_asset = "USD"
oracle = { kind = "push", deviation = 0.0, venues = { ETH = ["fundamental", "ETH thin"] } }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[positions]]
protocol = "thin"
debt = 1000.0
collateral = { ETH = 10.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"
"#;

/// VENUES with the thin venue shocked by `ret` at step 1.
fn shocked(ret: f64) -> String {
    edit(
        VENUES,
        &[Edit::Push(
            "shocks",
            table(&format!("step = 1\npool = \"ETH thin\"\nreturn = {ret}")),
        )],
    )
}

/// The recorded source price of protocol `p`'s ETH feed, by step.
fn source(rec: &PathRecord, p: u32) -> Vec<f64> {
    let o = &rec.oracles;
    (0..o.step.len())
        .filter(|&i| o.protocol[i] == p && o.asset[i] == 0)
        .map(|i| o.source_price[i])
        .collect()
}

/// The thin venue, pushed to 3,000, comes back by the arbitrage capacity
/// each step: its quote reserve falls by exactly 1,000 a step along the
/// curve until the rest fits in one step (the closed form of
/// docs/model.md §3 computed here from the reserves).
#[test]
fn a_thin_venue_comes_back_at_the_arbitrage_capacity() {
    let rec = run(&shocked(0.5));
    let k = 10.0 * 20_000.0;
    let y_target = 20_000.0;
    let y_shocked = (k * 3000.0f64).sqrt();
    let thin = source(&rec, 0);
    assert_eq!(thin.len(), 9);
    assert_eq!(thin[0], 2000.0);
    for (t, &got) in thin.iter().enumerate().skip(1) {
        let y = (y_shocked - 1000.0 * (t as f64 - 1.0)).max(y_target);
        let want = y * y / k;
        assert!(
            (got - want).abs() < 1e-9 * want,
            "step {t}: {got} vs {want}"
        );
    }
    // 4,494.9 of quote to unwind: 1,000 a step at steps 2–5, the rest at 6.
    assert!(thin[5] > 2000.0 * (1.0 + 1e-6) && (thin[6] - 2000.0).abs() < 1e-9);
    // The main venue never moved: its price and the fundamental stay 2,000.
    let m = &rec.market;
    for i in (0..m.step.len()).filter(|&i| m.asset[i] == 0) {
        assert_eq!(m.fundamental[i], 2000.0);
        assert!((m.pool_price[i].unwrap() - 2000.0).abs() < 1e-9);
    }
}

/// A median of three ignores one pushed venue; a median of two takes the
/// upper one (Chainlink's ⌊n/2⌋-th).
#[test]
fn a_median_of_venues_ignores_one_pushed_venue() {
    for ret in [0.5, -0.5] {
        let rec = run(&shocked(ret));
        let thin = source(&rec, 0);
        let median3 = source(&rec, 1);
        let median2 = source(&rec, 2);
        for t in 0..9 {
            assert!(
                (median3[t] - 2000.0).abs() < 1e-9,
                "step {t}: {}",
                median3[t]
            );
            assert_eq!(median2[t], thin[t].max(2000.0), "step {t}");
        }
        assert!((thin[1] - 2000.0 * (1.0 + ret)).abs() < 1e-6);
    }
}

/// What the oracle reads decides who is liquidated: the thin venue halved
/// liquidates a position at HF 1.2 in the protocol that reads it alone,
/// not in one that reads the median of three.
#[test]
fn an_oracle_on_a_pushed_venue_liquidates_and_a_median_does_not() {
    // HF 1.2 at 2,000: debt = 10·2,000·0.8 / 1.2.
    let debt = 10.0 * 2000.0 * 0.8 / 1.2;
    let text = edit(
        &shocked(-0.5),
        &[
            Edit::Set("positions.0.debt", debt.into()),
            Edit::Push(
                "positions",
                table(&format!(
                    "protocol = \"median3\"\ndebt = {debt}\ncollateral = {{ ETH = 10.0 }}"
                )),
            ),
        ],
    );
    let rec = run(&text);
    let l = &rec.liquidations;
    assert!(!l.step.is_empty(), "the thin reader must liquidate");
    assert!(l.protocol.iter().all(|&p| p == 0), "{:?}", l.protocol);
    assert_eq!(l.step[0], 1);
    // Seized at the thin venue's price, 1,000.
    assert!((l.oracle_price[0] - 1000.0).abs() < 1e-6);
}

/// A shock to the main venue, with unlimited arbitrage, lasts its step.
#[test]
fn a_shock_to_a_pool_with_unlimited_arbitrage_lasts_one_step() {
    let text = edit(
        VENUES,
        &[Edit::Push(
            "shocks",
            table("step = 3\npool = \"ETH/USD\"\nreturn = 0.1"),
        )],
    );
    let rec = run(&text);
    let m = &rec.market;
    let pool: Vec<f64> = (0..m.step.len())
        .filter(|&i| m.asset[i] == 0)
        .map(|i| m.pool_price[i].unwrap())
        .collect();
    assert!((pool[3] - 2200.0).abs() < 1e-9, "{pool:?}");
    for t in [2, 4, 5] {
        assert!((pool[t] - 2000.0).abs() < 1e-9, "{pool:?}");
    }
    // The median of three sees it at step 3: main venue 2,200, thin venue
    // and fundamental 2,000.
    assert!((source(&rec, 1)[3] - 2000.0).abs() < 1e-9);
}

#[test]
fn venues_are_validated() {
    let cases: Vec<(String, &[&str])> = vec![
        (
            edit(VENUES, &[Edit::Set("pools.1.name", val("\"ETH/USD\""))]),
            &["pools.ETH/USD.name", "a second pool named `ETH/USD`"],
        ),
        (
            edit(VENUES, &[Edit::Set("pools.1.name", val("\"fundamental\""))]),
            &["pools.fundamental.name", "names an oracle source"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Add("pools.1.impact_persistence", val("0.5"))],
            ),
            &[
                "pools.ETH thin.impact_persistence",
                "main venue (its first pool, here `ETH/USD`)",
            ],
        ),
        (
            edit(VENUES, &[Edit::Set("pools.1.arbitrage_usd", val("0.0"))]),
            &["pools.ETH thin.arbitrage_usd", "must be positive"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Set(
                    "protocols.thin.oracle.venues.ETH",
                    val("[\"ETH deep\"]"),
                )],
            ),
            &["protocols.thin.oracle.venues.ETH", "no pool `ETH deep`"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Set(
                    "protocols.thin.oracle.venues.ETH",
                    val("[\"ETH thin\", \"ETH thin\"]"),
                )],
            ),
            &["protocols.thin.oracle.venues.ETH", "listed twice"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Set("protocols.thin.oracle.venues.ETH", val("[]"))],
            ),
            &["protocols.thin.oracle.venues.ETH", "lists 0 venues"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Set(
                    "protocols.thin.oracle.venues",
                    val("{ USD = [\"ETH thin\"] }"),
                )],
            ),
            &[
                "protocols.thin.oracle.venues.USD",
                "`ETH thin` trades ETH, not USD",
            ],
        ),
        (
            edit(
                VENUES,
                &[Edit::Set(
                    "protocols.thin.oracle.venues",
                    val("{ BTC = [\"ETH thin\"] }"),
                )],
            ),
            &["protocols.thin.oracle.venues.BTC", "not an asset"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Add(
                    "protocols.thin.oracle.anchor_source",
                    val("\"pool\""),
                )],
            ),
            &[
                "protocols.thin.oracle.anchor_source",
                "not a setting of a `push` oracle",
            ],
        ),
        (
            edit(
                VENUES,
                &[Edit::Push(
                    "shocks",
                    table("step = 1\npool = \"ETH deep\"\nreturn = 0.1"),
                )],
            ),
            &["shocks[0].pool", "no pool `ETH deep`"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Push(
                    "shocks",
                    table("step = 1\npool = \"ETH thin\"\nasset = \"ETH\"\nreturn = 0.1"),
                )],
            ),
            &["shocks[0]", "not both"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Push("shocks", table("step = 1\nreturn = 0.1"))],
            ),
            &["shocks[0]", "give `asset`"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Push(
                    "shocks",
                    table("step = 0\npool = \"ETH thin\"\nreturn = 0.1"),
                )],
            ),
            &["shocks[0].step", "outside 1..=8"],
        ),
        (
            edit(
                VENUES,
                &[
                    Edit::Push(
                        "assets",
                        table("symbol = \"THIN-LP\"\nprice = 1.0\nlp_of = \"ETH thin\""),
                    ),
                    Edit::Push(
                        "shocks",
                        table("step = 1\nasset = \"THIN-LP\"\nreturn = 0.1"),
                    ),
                ],
            ),
            &["shocks[0].asset", "receipt or LP token"],
        ),
        (
            // A second unnamed pool of ETH is addressed by its index.
            edit(
                VENUES,
                &[
                    Edit::Push("assets", table("symbol = \"DAI\"\nprice = 1.0")),
                    Edit::Push(
                        "pools",
                        table("base = \"ETH\"\nquote = \"DAI\"\nbase_reserve = -1.0"),
                    ),
                ],
            ),
            &["pools.2.base_reserve", "must be positive"],
        ),
        // 6·10¹¹ ETH at 2,000 USD is 1.2·10¹⁵ USD of reserve, above the
        // 10¹⁵ any USD figure may reach (the units alone are below it).
        (
            edit(VENUES, &[Edit::Set("pools.0.base_reserve", val("6e11"))]),
            &[
                "pools.ETH.base_reserve",
                "USD of reserve at the initial price",
            ],
        ),
    ];
    for (text, needles) in cases {
        assert_rejected(&text, needles);
    }
}

/// Two unnamed pools of one base on different quotes are both fine, and
/// an LP token names its pool by the pool's name.
#[test]
fn pools_are_named_by_their_pair_unless_named() {
    let text = edit(
        VENUES,
        &[
            Edit::Push("assets", table("symbol = \"DAI\"\nprice = 1.0")),
            Edit::Push(
                "pools",
                table("base = \"ETH\"\nquote = \"DAI\"\nbase_reserve = 50.0"),
            ),
            Edit::Push(
                "assets",
                table("symbol = \"THIN-LP\"\nprice = 1.0\nlp_of = \"ETH thin\""),
            ),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    let names: Vec<&str> = sc.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["ETH/USD", "ETH thin", "ETH/DAI"]);
    // ETH's main venue is its first pool.
    assert_eq!(sc.pool_of[0], Some(0));
    let lp = sc.assets.iter().find(|a| a.symbol == "THIN-LP").unwrap();
    assert_eq!(lp.lp_of.unwrap().pool, 1);
    // 2 × 10 ETH × 2,000 USD of reserves in shares of 1 USD.
    assert!((lp.lp_of.unwrap().supply - 40_000.0).abs() < 1e-6);
}

/// Compound's anchored view with its reporter on the thin venue and its
/// anchor on the main pool: the pushed report is refused until the thin
/// venue is back within 20% of the anchor (2,000 · 1.25 = 2,500), and the
/// first report inside is taken as it is.
#[test]
fn an_anchor_on_the_main_pool_refuses_the_pushed_venue_until_it_is_back() {
    let text = edit(
        &shocked(0.5),
        &[Edit::Set(
            "protocols.median2.oracle",
            val(
                r#"{ kind = "anchored", window_hours = 2.0, tolerance = 0.2, anchor_source = "pool", venues = { ETH = ["ETH thin"] } }"#,
            ),
        )],
    );
    let sc = scenario(&text, &Overrides::default());
    let oracle = &sc.protocols[2].oracle;
    assert_eq!(
        oracle.anchors[0].quotes(),
        &[contagion::market::source::Quote::Venue(0)]
    );
    let rec = World::new(&sc).run_path(0).unwrap();
    let o = &rec.oracles;
    let rows: Vec<usize> = (0..o.step.len())
        .filter(|&i| o.protocol[i] == 2 && o.asset[i] == 0)
        .collect();
    let k = 10.0 * 20_000.0;
    let y = |t: f64| (k * 3000.0f64).sqrt() - 1000.0 * (t - 1.0);
    for (t, &i) in rows.iter().enumerate() {
        // Thin prices: 3,000, 2,760, 2,530, 2,310 at steps 1–4.
        let want = match t {
            0..=3 => 2000.0,
            _ => y(t as f64).max(20_000.0).powi(2) / k,
        };
        assert!(
            (o.oracle_price[i] - want).abs() < 1e-9 * want,
            "step {t}: {} vs {want}",
            o.oracle_price[i]
        );
        assert_eq!(o.updated[i], t >= 4, "step {t}");
    }
}

#[test]
fn bridge_halts_are_validated() {
    let bridged = edit(
        VENUES,
        &[Edit::Push(
            "assets",
            table("symbol = \"ETH.b\"\npeg = { to = \"ETH\" }"),
        )],
    );
    let halt = |text: &str| edit(&bridged, &[Edit::Push("bridge_halts", table(text))]);
    let cases: Vec<(String, &[&str])> = vec![
        (
            halt("asset = \"ETH\"\nfrom_step = 1\nto_step = 2\ndiscount = 0.1"),
            &["bridge_halts[0].asset", "has no peg"],
        ),
        (
            halt("asset = \"ETH.b\"\nfrom_step = 3\nto_step = 2\ndiscount = 0.1"),
            &["bridge_halts[0].from_step", "must lie in 1..=8"],
        ),
        (
            halt("asset = \"ETH.b\"\nfrom_step = 1\nto_step = 2\ndiscount = 1.0"),
            &["bridge_halts[0].discount", "outside [0, 1)"],
        ),
        (
            edit(
                &halt("asset = \"ETH.b\"\nfrom_step = 1\nto_step = 4\ndiscount = 0.1"),
                &[Edit::Push(
                    "bridge_halts",
                    table("asset = \"ETH.b\"\nfrom_step = 4\nto_step = 6\ndiscount = 0.1"),
                )],
            ),
            &["bridge_halts[1].from_step", "overlaps"],
        ),
        (
            edit(
                VENUES,
                &[Edit::Set(
                    "protocols.thin.oracle.venues.ETH",
                    val("[\"fundamental:BTC\"]"),
                )],
            ),
            &["protocols.thin.oracle.venues.ETH", "`BTC` is not an asset"],
        ),
    ];
    for (text, needles) in cases {
        assert_rejected(&text, needles);
    }
    // Back-to-back halts, a one-step halt and one to the last step are
    // fine; a halt past the last step is not.
    let mut text = bridged.clone();
    for (from, to) in [(1, 2), (3, 3), (4, 8)] {
        text = edit(
            &text,
            &[Edit::Push(
                "bridge_halts",
                table(&format!(
                    "asset = \"ETH.b\"\nfrom_step = {from}\nto_step = {to}\ndiscount = 0.1"
                )),
            )],
        );
    }
    // Another token's halt may overlap these.
    text = edit(
        &text,
        &[
            Edit::Push(
                "assets",
                table("symbol = \"ETH.c\"\npeg = { to = \"ETH\" }"),
            ),
            Edit::Push(
                "bridge_halts",
                table("asset = \"ETH.c\"\nfrom_step = 2\nto_step = 5\ndiscount = 0.2"),
            ),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    assert_eq!(sc.halts.len(), 4);
    assert_rejected(
        &halt("asset = \"ETH.b\"\nfrom_step = 1\nto_step = 9\ndiscount = 0.1"),
        &["bridge_halts[0].from_step", "must lie in 1..=8"],
    );
}

/// The capacity is in USD: a venue quoted in an asset worth 2 USD is
/// refilled by half as many quote units a step, and its price in USD is
/// its spot times the quote's price.
#[test]
fn arbitrage_capacity_and_venue_prices_are_in_usd_whatever_the_quote() {
    let text = edit(
        &shocked(0.5),
        &[
            Edit::Push("assets", table("symbol = \"EUR\"\nprice = 2.0")),
            Edit::Set("pools.ETH thin.quote", val("\"EUR\"")),
        ],
    );
    // median2 reads a one-step TWAP of the thin venue instead: the
    // venue's end-of-step price in USD, a step late (from the history).
    let text = edit(
        &text,
        &[Edit::Set(
            "protocols.median2.oracle",
            val(r#"{ kind = "twap", window_hours = 1.0, venues = { ETH = ["ETH thin"] } }"#),
        )],
    );
    let rec = run(&text);
    // 10 ETH at 1,000 EUR: k = 10 · 10,000; the shock to 1,500 EUR, then
    // 1,000 USD = 500 EUR a step back along the curve.
    let k = 10.0 * 10_000.0;
    let y_shocked = (k * 1500.0f64).sqrt();
    let thin = source(&rec, 0);
    for (t, &got) in thin.iter().enumerate().skip(1) {
        let y = (y_shocked - 500.0 * (t as f64 - 1.0)).max(10_000.0);
        let want = 2.0 * y * y / k;
        assert!(
            (got - want).abs() < 1e-9 * want,
            "step {t}: {got} vs {want}"
        );
    }
    let o = &rec.oracles;
    let twap: Vec<f64> = (0..o.step.len())
        .filter(|&i| o.protocol[i] == 2 && o.asset[i] == 0)
        .map(|i| o.oracle_price[i])
        .collect();
    for t in 1..thin.len() {
        let want = thin[t - 1];
        assert!(
            (twap[t] - want).abs() < 1e-9 * want,
            "step {t}: {} vs {want}",
            twap[t]
        );
    }
}

/// ETH at a fixed 100 whose main venue has exponential impact (depth
/// 1,000 ETH, α = 1.0536, so 10% of the depth costs 10% of the price),
/// read by the market's pool oracle. One position, 10 ETH against 900
/// USDC at LT 0.8 (HF 0.889, below 0.95: repaid in full), is liquidated
/// at step 1: 945 USD of ETH at the bonus, 9.45 ETH, sold into the
/// venue.
const EXPONENTIAL: &str = r#"
[simulation]
name = "exponential"
steps = 2
paths = 1

[network]
gas_usd = 0.0

[[assets]]
symbol = "ETH"
price = 100.0

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 1000.0
fee = 0.0
curve = { kind = "exponential", alpha = 1.0536 }
arbitrage_usd = 10.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"
close_factor = 0.5
full_liquidation_hf = 0.95
oracle = { source = "pool" }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "lend"
debt = 900.0
collateral = { ETH = 10.0 }

[[liquidators]]
name = "keeper"
capital = "unlimited"
"#;

/// The sale pays the integral of p₀·exp(−α·s/D) over the units sold, the
/// venue is left at p₀·exp(−α·9.45/1000), and at step 2 arbitrage brings
/// back 10 USD of it: the price rises by α·10/D (its p·D grows by α·10).
#[test]
fn an_exponential_venue_prices_a_liquidation_by_its_formula() {
    let sc = scenario(EXPONENTIAL, &Overrides::default());
    let mut world = World::new(&sc);
    let mut after = Vec::new();
    let rec = world
        .run_path_with(0, |w, _| after.push(w.market.pools[0].spot()))
        .unwrap();
    let (alpha, d, p0) = (1.0536, 1000.0, 100.0);
    let seized = 900.0 * 1.05 / 100.0;
    let l = &rec.liquidations;
    assert_eq!(l.step, vec![1]);
    assert!((l.seized[0] - seized).abs() < 1e-12);
    let proceeds = p0 * d / alpha * (1.0 - (-alpha * seized / d).exp());
    assert!(
        (l.proceeds_value[0] - proceeds).abs() < 1e-9,
        "{} vs {proceeds}",
        l.proceeds_value[0]
    );
    // Selling 0.945% of the depth costs about half of α·0.945%.
    assert!(proceeds < 945.0 && proceeds > 940.0, "{proceeds}");
    let p1 = p0 * (-alpha * seized / d).exp();
    assert!((after[0] - p1).abs() < 1e-9, "{} vs {p1}", after[0]);
    let p2 = (p1 * d + alpha * 10.0) / d;
    assert!((after[1] - p2).abs() < 1e-9, "{} vs {p2}", after[1]);
}

#[test]
fn exponential_venues_are_validated() {
    assert_rejected(
        &edit(EXPONENTIAL, &[Edit::Set("pools.ETH.fee", val("0.003"))]),
        &["pools.ETH.fee", "no fee"],
    );
    assert_rejected(
        &edit(
            EXPONENTIAL,
            &[Edit::Set("pools.ETH.curve.alpha", val("-1.0"))],
        ),
        &["pools.ETH.curve.alpha"],
    );
    assert_rejected(
        &edit(
            EXPONENTIAL,
            &[Edit::Push(
                "assets",
                table("symbol = \"LP\"\nprice = 200.0\nlp_of = \"ETH/USDC\""),
            )],
        ),
        &["assets.LP.lp_of", "exponential"],
    );
}

/// Three holders of two assets in the setup of Caccioli et al. (2014):
/// equity 0.1 and debt 0.9 each (leverage 10), LT 1, sold out by the
/// protocol when insolvent, into exponential venues (α = 1.0536) whose
/// depth is each asset's total holding (1.5). H0 holds 1 A, H1 0.5 A and
/// 0.5 B, H2 1 B. A shock to A's venue (−15%) makes H0 insolvent.
pub(crate) const THREE_HOLDERS: &str = r#"
[simulation]
name = "three-holders"
steps = 1
paths = 1

[[assets]]
symbol = "A"
price = 1.0

[[assets]]
symbol = "B"
price = 1.0

[[assets]]
symbol = "USD"
price = 1.0

[[pools]]
base = "A"
quote = "USD"
base_reserve = 1.5
fee = 0.0
curve = { kind = "exponential", alpha = 1.0536 }

[[pools]]
base = "B"
quote = "USD"
base_reserve = 1.5
fee = 0.0
curve = { kind = "exponential", alpha = 1.0536 }

[[protocols]]
name = "funds"
kind = "lending"
debt_asset = "USD"
liquidation = "forced_sale"
oracle = { source = "pool" }

[[protocols.collateral]]
asset = "A"
liquidation_threshold = 1.0
liquidation_bonus = 0.0
max_ltv = 0.95

[[protocols.collateral]]
asset = "B"
liquidation_threshold = 1.0
liquidation_bonus = 0.0
max_ltv = 0.95

[[positions]]
protocol = "funds"
debt = 0.9
collateral = { A = 1.0 }

[[positions]]
protocol = "funds"
debt = 0.9
collateral = { A = 0.5, B = 0.5 }

[[positions]]
protocol = "funds"
debt = 0.9
collateral = { B = 1.0 }

[[shocks]]
step = 1
pool = "A/USD"
return = -0.15
"#;

/// By hand: round 1 sells H0's 1 A from 0.85 (proceeds
/// 0.85·D/α·(1 − e^{−α/D})), leaving A at 0.85·e^{−α/1.5}; H1 is then
/// worth 0.5·p_A + 0.5 < 0.9 and is sold out in round 2 (A, then B);
/// B's fall takes H2 in round 3 (rounds count from 0). Each shortfall is bad debt; the
/// protocol's rows name `forced_sale`.
#[test]
fn a_forced_sale_cascade_of_three_holders_by_hand() {
    let rec = run(THREE_HOLDERS);
    let (a, d) = (1.0536, 1.5);
    let sell = |p: f64, s: f64| {
        (
            p * d / a * (1.0 - (-a * s / d).exp()),
            p * (-a * s / d).exp(),
        )
    };
    // Round 1: H0.
    let (r0, pa1) = sell(0.85, 1.0);
    // Round 2: H1 (0.5·pa1 + 0.5 < 0.9), A then B.
    assert!(0.5 * pa1 + 0.5 < 0.9);
    let (r1a, _) = sell(pa1, 0.5);
    let (r1b, pb1) = sell(1.0, 0.5);
    // Round 3: H2.
    assert!(pb1 < 0.9);
    let (r2, _) = sell(pb1, 1.0);
    let l = &rec.liquidations;
    assert_eq!(l.position, vec![0, 1, 1, 2]);
    assert_eq!(l.round, vec![0, 1, 1, 2], "rounds count from 0");
    let want = [r0, r1a, r1b, r2];
    for (got, want) in l.proceeds_value.iter().zip(want) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    let bad = [0.9 - r0, 0.0, 0.9 - r1a - r1b, 0.9 - r2];
    for (got, want) in l.bad_debt.iter().zip(bad) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    assert!(
        l.repaid
            .iter()
            .zip(&want)
            .all(|(r, w)| (r - w).abs() < 1e-12)
    );
    assert_eq!(l.seized, vec![1.0, 0.5, 0.5, 1.0]);
    assert!(l.gas.iter().all(|&g| g == 0.0));
    assert_eq!(
        l.liquidator,
        vec![0, 0, 0, 0],
        "one past the (no) liquidators"
    );
    assert!((rec.summary.bad_debt - bad.iter().sum::<f64>()).abs() < 1e-12);
    // At −5% H0 is worth 0.95 > 0.9: nobody is sold.
    let mild = edit(THREE_HOLDERS, &[Edit::Set("shocks.0.return", val("-0.05"))]);
    assert!(run(&mild).liquidations.step.is_empty());
}

/// The forced sales' rows name `forced_sale` in liquidations.parquet,
/// beside a real liquidator's name; no liquidator may take that name.
#[test]
fn forced_sales_are_named_in_the_table() {
    let text = edit(
        THREE_HOLDERS,
        &[Edit::Push(
            "liquidators",
            table("name = \"keeper\"\ncapital = \"unlimited\""),
        )],
    );
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    let report = run_into(&sc, dir.path(), "out", Some(1));
    let l = read(&report.out.join("liquidations.parquet"));
    assert_eq!(strs(&l, "liquidator"), vec!["forced_sale"; 4]);
    let named = edit(
        THREE_HOLDERS,
        &[Edit::Push(
            "liquidators",
            table("name = \"forced_sale\"\ncapital = 1.0"),
        )],
    );
    assert_rejected(&named, &["liquidators.forced_sale", "own sales"]);
}

/// The resolved scenario (what manifest.json and sweep edits write back)
/// keeps an exponential venue's curve, so it loads as the same venue, and
/// writes no curve for a constant-product pool (the default).
#[test]
fn an_exponential_curve_survives_the_resolved_scenario() {
    let sc = scenario(THREE_HOLDERS, &Overrides::default());
    let text = toml::to_string(&sc.resolved).unwrap();
    assert!(text.contains("curve"), "{text}");
    let again = scenario(&text, &Overrides::default());
    assert_eq!(again.pools.len(), sc.pools.len());
    for (a, b) in again.pools.iter().zip(&sc.pools) {
        assert!(b.impact > 0.0 && a.impact == b.impact, "{text}");
    }
    let plain = scenario(VENUES, &Overrides::default());
    let text = toml::to_string(&plain.resolved).unwrap();
    assert!(!text.contains("curve"), "{text}");
}
