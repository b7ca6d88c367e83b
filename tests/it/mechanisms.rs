//! Pegged tokens, e-mode, isolated debt ceilings, rate-driven deleveraging
//! and scripted runs (docs/model.md §12), each against a hand computation or
//! a second implementation written here.

use contagion::Overrides;
use polars::prelude::*;

use crate::common::*;

/// Rows of `market.parquet` for one asset, in step order (path 0).
fn market_of(df: &DataFrame, asset: &str, column: &str) -> Vec<f64> {
    rows_of(df, 0, "asset", asset, column)
}

/// Rows of `protocols.parquet` for one protocol and column, in step order.
fn protocol_of(df: &DataFrame, protocol: &str, column: &str) -> Vec<Option<f64>> {
    let (names, values) = (strs(df, "protocol"), f64_opts(df, column));
    (0..df.height())
        .filter(|&r| names[r] == protocol)
        .map(|r| values[r])
        .collect()
}

fn invalid(text: &str, needle: &str) {
    let e = scenario_error(text);
    assert!(e.contains(needle), "`{needle}` not in: {e}");
}

const PEG: &str = r#"
[simulation]
name = "peg"
steps = 12
paths = 1
seed = 3

[[assets]]
symbol = "ETH"
price = 2000.0
process = { kind = "gbm", vol = 0.8 }

[[assets]]
symbol = "stETH"
price = 1960.0
peg = { to = "ETH", ratio = 1.0, reversion_half_life_hours = 4.0 }

[[assets]]
symbol = "USDC"
price = 1.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"

[[protocols.collateral]]
asset = "stETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[positions]]
protocol = "lend"
debt = 100.0
collateral = { stETH = 1.0 }

[[shocks]]
step = 6
asset = "stETH"
return = -0.05
"#;

/// δ₀ = ln 0.98 halves every 4 hours; the shock at step 6 adds ln 0.95;
/// ETH moves by its own process and stETH follows it exactly.
#[test]
fn a_pegged_token_follows_its_underlying_with_a_decaying_discount() {
    let sc = scenario(PEG, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let m = read(&dir.path().join("out/market.parquet"));
    let eth = market_of(&m, "ETH", "fundamental");
    let steth = market_of(&m, "stETH", "fundamental");
    assert_eq!(eth.len(), 13);
    let mut delta = 0.98f64.ln();
    for t in 0..=12 {
        if t > 0 {
            delta *= 0.5f64.powf(1.0 / 4.0);
        }
        if t == 6 {
            delta += 0.95f64.ln();
        }
        let want = eth[t] * delta.exp();
        assert!(close(steth[t], want), "step {t}: {} vs {want}", steth[t]);
    }
    // ETH really moved: the test is not trivially about constants.
    assert!(eth.iter().any(|&p| (p - 2000.0).abs() > 1.0));
    let png = std::fs::read(dir.path().join("out/charts/peg_stETH.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
}

/// A stETH-backed ETH loan (HF 0.8·9.8/7.5 = 1.045) is liquidated when
/// stETH opens 5% below its peg. The forced sales into the stETH/ETH pool,
/// with full impact persistence, set the discount; when ETH then falls 20%
/// the discount is kept (stETH falls with it, and the ETH loan's health does
/// not change), instead of stETH keeping its USD price.
#[test]
fn pool_impact_on_a_pegged_token_persists_relative_to_the_underlying() {
    let text = edit(
        PEG,
        &[
            Edit::Set("assets.ETH.process", val("{ kind = \"fixed\" }")),
            Edit::Remove("assets.stETH.peg.reversion_half_life_hours"),
            Edit::Push(
                "pools",
                table(
                    "base = \"stETH\"\nquote = \"ETH\"\nbase_reserve = 50.0\nfee = 0.0\nimpact_persistence = 1.0",
                ),
            ),
            Edit::Set("protocols.lend.debt_asset", val("\"ETH\"")),
            Edit::Add("protocols.lend.oracle", val("{ source = \"pool\" }")),
            Edit::Set("positions.0.debt", val("7.5")),
            Edit::Set("positions.0.collateral", val("{ stETH = 10.0 }")),
            Edit::Push(
                "liquidators",
                table("name = \"bot\"\ncapital = \"unlimited\""),
            ),
            Edit::Set("shocks.stETH.step", val("2")),
            Edit::Push("shocks", table("step = 8\nasset = \"ETH\"\nreturn = -0.2")),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let m = read(&dir.path().join("out/market.parquet"));
    let eth = market_of(&m, "ETH", "fundamental");
    let steth = market_of(&m, "stETH", "fundamental");
    let l = read(&dir.path().join("out/liquidations.parquet"));
    assert!(l.height() >= 1, "the shock must liquidate");
    assert!(u32s(&l, "step").iter().all(|&s| s == 2));
    let ratio: Vec<f64> = steth.iter().zip(&eth).map(|(s, e)| s / e).collect();
    // The shock alone gives 0.98 · 0.95 = 0.931; the sales push it lower.
    assert!(ratio[2] < 0.931 - 1e-3, "{}", ratio[2]);
    for t in 3..=12 {
        assert!(
            close(ratio[t], ratio[2]),
            "step {t}: {} vs {}",
            ratio[t],
            ratio[2]
        );
    }
    assert!(close(eth[8], 0.8 * eth[7]));
}

pub(crate) const EMODE: &str = r#"
[simulation]
name = "emode"
steps = 2
paths = 1

[[assets]]
symbol = "ETH"
price = 1000.0

[[assets]]
symbol = "stETH"
price = 990.0
peg = { to = "ETH" }

[[assets]]
symbol = "WBTC"
price = 20000.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "ETH"
emode = { assets = ["ETH", "stETH"], liquidation_threshold = 0.93, liquidation_bonus = 0.01, max_ltv = 0.9 }

[[protocols.collateral]]
asset = "stETH"
liquidation_threshold = 0.81
liquidation_bonus = 0.075
max_ltv = 0.69

[[protocols.collateral]]
asset = "WBTC"
liquidation_threshold = 0.7
liquidation_bonus = 0.1
max_ltv = 0.6

[[positions]]
protocol = "lend"
debt = 80.0
collateral = { stETH = 100.0 }

[[positions]]
protocol = "lend"
debt = 80.0
collateral = { stETH = 100.0, WBTC = 0.001 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "stETH"
return = -0.05
"#;

/// stETH at 0.99 ETH falls 5%: 94.05 ETH of collateral for 80 ETH of debt.
/// In e-mode HF = 0.93·94.05/80 = 1.093 (safe); the second position also
/// holds WBTC, outside the category, so it uses the per-asset parameters:
/// HF = (0.81·94.05 + 0.7·0.02)/80 = 0.952, and it is liquidated with the
/// stETH bonus of 7.5%. At step 2, a 15% fall takes the e-mode position to
/// HF 0.93·79.94/80 = 0.929, liquidated with the e-mode bonus of 1%.
#[test]
fn emode_parameters_apply_to_positions_wholly_inside_the_category() {
    // The step-2 shock is listed before the step-1 one.
    let text = edit(
        EMODE,
        &[Edit::Set(
            "shocks",
            val(
                "[{ step = 2, asset = \"stETH\", return = -0.15 }, { step = 1, asset = \"stETH\", return = -0.05 }]",
            ),
        )],
    );
    let sc = scenario(&text, &Overrides::default());
    assert_eq!(sc.book.coll_lt, vec![0.93, 0.81, 0.7]);
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let l = read(&dir.path().join("out/liquidations.parquet"));
    let step = u32s(&l, "step");
    let position = i64s(&l, "position");
    let hf = f64s(&l, "health_factor");
    let seized = f64s(&l, "seized");
    let repaid = f64s(&l, "repaid");
    assert_eq!((step[0], position[0]), (1, 1));
    let coll = 100.0 * 0.99 * 0.95;
    assert!(close(hf[0], (0.81 * coll + 0.7 * 0.02) / 80.0));
    // Repay 40 ETH; seize 40·1.075 ETH worth of stETH at 0.9405 ETH.
    assert!(close(repaid[0], 40.0));
    assert!(close(seized[0], 40.0 * 1.075 / 0.9405));
    let first_emode = (0..l.height()).find(|&r| position[r] == 0).unwrap();
    assert_eq!(step[first_emode], 2);
    let p2 = 0.9405 * 0.85;
    assert!(close(hf[first_emode], 0.93 * 100.0 * p2 / 80.0));
    assert!(close(seized[first_emode], 40.0 * 1.01 / p2));

    // Without e-mode the first position is liquidated at step 1 already.
    let plain = edit(EMODE, &[Edit::Remove("protocols.lend.emode")]);
    let sc = scenario(&plain, &Overrides::default());
    run_into(&sc, dir.path(), "plain", Some(1));
    let l = read(&dir.path().join("plain/liquidations.parquet"));
    assert!(i64s(&l, "position").contains(&0));
}

#[test]
fn emode_and_peg_errors_name_the_field() {
    invalid(
        &edit(
            EMODE,
            &[Edit::Set("protocols.lend.emode.assets", val("[\"stETH\"]"))],
        ),
        "protocols.lend.emode.assets: must include the debt asset `ETH`",
    );
    invalid(
        &edit(
            EMODE,
            &[Edit::Set("protocols.lend.emode.max_ltv", val("0.95"))],
        ),
        "protocols.lend.emode.max_ltv: 0.95 is above the liquidation threshold 0.93",
    );
    invalid(
        &edit(EMODE, &[Edit::Set("assets.stETH.peg.to", val("\"ETX\""))]),
        "assets.stETH.peg.to: unknown asset `ETX`",
    );
    invalid(
        &edit(
            EMODE,
            &[Edit::Add(
                "assets.stETH.process",
                val("{ kind = \"gbm\", vol = 0.5 }"),
            )],
        ),
        "assets.stETH.process",
    );
    invalid(
        &edit(EMODE, &[Edit::Add("assets.stETH.peg.ratio", val("0.0"))]),
        "assets.stETH.peg.ratio",
    );
}

/// Three single-collateral positions of 400 USD of debt against a ceiling of
/// 1,000: the first two fit, the third is left out of the book.
#[test]
fn an_isolated_debt_ceiling_admits_positions_in_id_order() {
    let wbtc = || table("protocol = \"lend\"\ndebt = 400.0\ncollateral = { WBTC = 40.0 }");
    let text = edit(
        EMODE,
        &[
            Edit::Add(
                "protocols.lend.collateral.WBTC.debt_ceiling_usd",
                val("1000000.0"),
            ),
            Edit::Set("positions.1", wbtc()),
            Edit::Push("positions", wbtc()),
            Edit::Push("positions", wbtc()),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    // 400 ETH of debt is 400,000 USD: two fit under 1,000,000, not three.
    assert_eq!(sc.book.len(), 3);
    assert_eq!(sc.book.over_ceiling, 1);
    assert_eq!(sc.book.debt, vec![80.0, 400.0, 400.0]);
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["positions_over_debt_ceiling"], 1);

    invalid(
        &edit(
            EMODE,
            &[Edit::Add(
                "protocols.lend.collateral.WBTC.debt_ceiling_usd",
                val("1000000.0"),
            )],
        ),
        "positions[1].collateral.WBTC: `WBTC` is isolated",
    );
}

const DELEVERAGE: &str = r#"
[simulation]
name = "deleverage"
steps = 40
paths = 1

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
supply = { deposits = 10000.0, rate = { slope1 = 0.1, kink = 0.8, slope2 = 1.0 } }
deleverage = { borrow_rate = 0.5, repay = 0.1 }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "lend"
debt = 9500.0
collateral = { ETH = 10.0 }
"#;

/// Utilisation 0.95 gives a borrow rate of 0.1 + 1.0·0.15/0.2 = 0.85, above
/// the 0.5 tolerance. Replayed here step by step: interest at the rate of
/// the last utilisation, then a repayment of 10% of what is owed, from ETH
/// sold at F (no pool), until the rate falls to the tolerance.
#[test]
fn borrowers_deleverage_while_the_rate_is_above_their_tolerance() {
    let sc = scenario(DELEVERAGE, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let p = read(&dir.path().join("out/protocols.parquet"));
    let rate = protocol_of(&p, "lend", "borrow_rate");
    let deleveraged = protocol_of(&p, "lend", "deleveraged_value");
    let debt_value = f64s(&p, "debt_value");
    let coll_value = f64s(&p, "collateral_value");

    let dt = 1.0 / 8760.0;
    let (mut borrowed, mut cash, mut units) = (9500.0f64, 500.0f64, 10.0f64);
    let mut acted = 0;
    for t in 1..=40usize {
        let u = borrowed / (borrowed + cash);
        let r = if u <= 0.8 {
            0.1 * u / 0.8
        } else {
            0.1 + (u - 0.8) / 0.2
        };
        borrowed *= (r * dt).exp();
        let mut repaid = 0.0;
        if r > 0.5 {
            repaid = 0.1 * borrowed;
            units -= repaid / 2000.0;
            borrowed -= repaid;
            cash += repaid;
            acted += 1;
        }
        assert!(close(rate[t].unwrap(), r), "step {t}: rate");
        assert!(
            close(deleveraged[t].unwrap(), repaid),
            "step {t}: {:?} vs {repaid}",
            deleveraged[t]
        );
        assert!(close(debt_value[t], borrowed), "step {t}: debt");
        assert!(close(coll_value[t], units * 2000.0), "step {t}: collateral");
    }
    // It stops by itself: repayments lower utilisation and the rate.
    assert!((1..40).contains(&acted), "acted {acted} times");
}

/// With a pool, the sales move it: the pool price ends below F, and the
/// borrower gets less than F for what it sold.
#[test]
fn deleveraging_sells_into_the_pool() {
    let text = edit(
        DELEVERAGE,
        &[Edit::Push(
            "pools",
            table("base = \"ETH\"\nquote = \"USDC\"\nbase_reserve = 20.0\nfee = 0.0"),
        )],
    );
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let m = read(&dir.path().join("out/market.parquet"));
    let pool = market_of(&m, "ETH", "pool_price");
    assert!(close(pool[0], 2000.0));
    // About 950 USD of ETH (0.475 ETH at F) sold into a 20-ETH pool:
    // x' = 20.475, price (20/x')² · 2000 ≈ 1908, paid y − k/x'.
    let owed = 9500.0 * (0.85f64 / 8760.0).exp();
    let x = 20.0 + 0.1 * owed / 2000.0;
    assert!(close(pool[1], 2000.0 * (20.0 / x).powi(2)));
    let p = read(&dir.path().join("out/protocols.parquet"));
    let deleveraged = protocol_of(&p, "lend", "deleveraged_value");
    let out = 40000.0 - 40000.0 * 20.0 / x;
    assert!(close(deleveraged[1].unwrap(), out));
    assert!(out < 0.1 * owed);
}

#[test]
fn deleveraging_needs_a_rate_model() {
    invalid(
        &edit(DELEVERAGE, &[Edit::Remove("protocols.lend.supply.rate")]),
        "protocols.lend.deleverage: needs a rate model",
    );
    invalid(
        &edit(
            DELEVERAGE,
            &[Edit::Set("protocols.lend.deleverage.repay", val("1.5"))],
        ),
        "protocols.lend.deleverage.repay",
    );
}

/// A scripted run starts at its step and not before.
#[test]
fn a_lender_with_at_step_runs_from_that_step() {
    let text = |at_step: i64| {
        edit(
            DELEVERAGE,
            &[
                Edit::Remove("protocols.lend.deleverage"),
                Edit::Set("positions.0.debt", val("5000.0")),
                Edit::Push(
                    "lenders",
                    table(&format!(
                        "name = \"whale\"\nprotocol = \"lend\"\nshare = 0.2\nwithdraw = 0.5\ntrigger = {{ at_step = {at_step} }}"
                    )),
                ),
            ],
        )
    };
    let sc = scenario(&text(7), &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let p = read(&dir.path().join("out/protocols.parquet"));
    let w = protocol_of(&p, "lend", "withdrawn_value");
    assert!(w[..7].iter().all(|v| *v == Some(0.0)), "{w:?}");
    // Step 7: half of 2,000 shares at a share value just above 1.
    let v7 = w[7].unwrap();
    assert!(v7 > 1000.0 && v7 < 1000.1, "{v7}");
    assert!(w[8].unwrap() > 0.0);
    invalid(
        &text(41),
        "lenders.whale.trigger.at_step: 41 is outside 1..=40",
    );
}

const LP: &str = r#"
[simulation]
name = "lp"
steps = 2
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[assets]]
symbol = "LP"
price = 100.0
lp_of = "ETH/USDC"

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 100.0
fee = 0.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"

[[protocols.collateral]]
asset = "LP"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[positions]]
protocol = "lend"
debt = 7000.0
collateral = { LP = 100.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "ETH"
return = -0.3
"#;

/// By hand: the pool (100 ETH, 200,000 USDC) is worth 400,000, so 4,000
/// shares at 100. ETH falls to 1,400 and arbitrage leaves k = 2·10⁷: the
/// fair value 2·sqrt(k·1400) ÷ 4,000 prices a share at 83.67, HF 0.956.
/// Half the debt (3,500) is repaid for 3,500·1.05/83.67 shares; burning
/// them takes that fraction of both reserves, and the ETH is sold into what
/// is left. Without a fee neither step moves the share price.
#[test]
fn lp_tokens_are_priced_off_their_pool_and_burnt_when_seized() {
    let sc = scenario(LP, &Overrides::default());
    assert!(close(sc.assets[2].lp_of.unwrap().supply, 4000.0));
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let k: f64 = 100.0 * 200_000.0;
    let (x, y) = ((k / 1400.0).sqrt(), (k * 1400.0).sqrt());
    let price = 2.0 * (k * 1400.0).sqrt() / 4000.0;
    let l = read(&dir.path().join("out/liquidations.parquet"));
    assert_eq!(l.height(), 1);
    assert!(close(
        f64s(&l, "health_factor")[0],
        0.8 * 100.0 * price / 7000.0
    ));
    let seized = 3500.0 * 1.05 / price;
    assert!(close(f64s(&l, "seized")[0], seized));
    let f = seized / 4000.0;
    let (dx, dy) = (x * f, y * f);
    let (x1, y1) = (x - dx, y - dy);
    let out = y1 * dx / (x1 + dx);
    assert!(close(f64s(&l, "proceeds_value")[0], dy + out));
    let m = read(&dir.path().join("out/market.parquet"));
    let lp = market_of(&m, "LP", "fundamental");
    assert!(close(lp[0], 100.0));
    assert!(close(lp[1], price), "{} vs {price}", lp[1]);
    let pool = market_of(&m, "ETH", "pool_price");
    assert!(close(pool[1], (y1 - out) / (x1 + dx)));

    invalid(
        &edit(LP, &[Edit::Set("assets.LP.lp_of", val("\"ETH/DAI\""))]),
        "assets.LP.lp_of: no pool `ETH/DAI`",
    );
    invalid(
        &edit(LP, &[Edit::Set("positions.0.collateral.LP", val("4000.0"))]),
        "assets.LP.price: positions hold 4000 units of `LP`",
    );
    invalid(
        &edit(
            LP,
            &[Edit::Add(
                "assets.LP.process",
                val("{ kind = \"gbm\", vol = 0.5 }"),
            )],
        ),
        "assets.LP.process",
    );
}

/// A lending market without positions, to shift others' indices.
const DUMMY: &str = "[[protocols]]\nname = \"dummy\"\nkind = \"lending\"\ndebt_asset = \"EUR\"\n\n[[protocols.collateral]]\nasset = \"WBTC\"\nliquidation_threshold = 0.8\nliquidation_bonus = 0.05\nmax_ltv = 0.7\n\n";

/// A lending market in ETH with a lender that runs at step 2.
const FLIGHT: &str = r#"
[simulation]
name = "flight"
steps = 3
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[assets]]
symbol = "WBTC"
price = 50000.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 10000.0
fee = 0.0

[[protocols]]
name = "eth-market"
kind = "lending"
debt_asset = "ETH"
supply = { deposits = 1000.0 }

[[protocols.collateral]]
asset = "WBTC"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[positions]]
protocol = "eth-market"
debt = 600.0
collateral = { WBTC = 50.0 }

[[lenders]]
name = "whale"
protocol = "eth-market"
share = 0.3
sell = true
trigger = { at_step = 2 }
"#;

/// A lender that sells what it withdraws: 30% of 1,000 ETH of deposits
/// (cash 400) runs at step 2, gets its 300 ETH and sells them into a
/// 10,000-ETH pool without fee: the pool ends the step at
/// 2000·(10,000/10,300)². Without `sell` the pool stays at 2,000.
#[test]
fn a_lender_that_sells_its_withdrawal_moves_the_pool() {
    let text = FLIGHT;
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(text, &Overrides::default());
    run_into(&sc, dir.path(), "sell", Some(1));
    let m = read(&dir.path().join("sell/market.parquet"));
    let pool = market_of(&m, "ETH", "pool_price");
    assert!(close(pool[1], 2000.0));
    assert!(
        close(pool[2], 2000.0 * (10_000.0f64 / 10_300.0).powi(2)),
        "{}",
        pool[2]
    );
    let sc = scenario(
        &edit(text, &[Edit::Remove("lenders.whale.sell")]),
        &Overrides::default(),
    );
    run_into(&sc, dir.path(), "hold", Some(1));
    let m = read(&dir.path().join("hold/market.parquet"));
    assert!(close(market_of(&m, "ETH", "pool_price")[2], 2000.0));
    invalid(
        &edit(
            text,
            &[
                Edit::Set("protocols.eth-market.debt_asset", val("\"USDC\"")),
                Edit::Set("protocols.eth-market.supply.deposits", val("2000000.0")),
            ],
        ),
        "lenders.whale.sell: `USDC` has no pool to sell into",
    );
}

/// Debt ceilings (§12) take positions in id order and admit each that still
/// fits: 400k, then 700k (1.1M would pass the 1M ceiling: left out), then
/// 200k (600k: fits). The positions kept keep their ids 0, 1 and 3, and
/// book.parquet and liquidations.parquet agree on them: WBTC falls 40% and
/// both WBTC positions (HF 0.7·0.6 = 0.84) are liquidated as ids 1 and 3.
#[test]
fn a_debt_ceiling_keeps_ids_and_admits_later_positions_that_fit() {
    let wbtc = |debt: f64, units: f64| {
        table(&format!(
            "protocol = \"lend\"\ndebt = {debt:?}\ncollateral = {{ WBTC = {units:?} }}"
        ))
    };
    let text = edit(
        EMODE,
        &[
            Edit::Add(
                "protocols.lend.collateral.WBTC.debt_ceiling_usd",
                val("1000000.0"),
            ),
            Edit::Set("positions.1", wbtc(400.0, 40.0)),
            Edit::Push("positions", wbtc(700.0, 70.0)),
            Edit::Push("positions", wbtc(200.0, 20.0)),
            Edit::Set("shocks.0.asset", val("\"WBTC\"")),
            Edit::Set("shocks.0.return", val("-0.4")),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    assert_eq!(sc.book.over_ceiling, 1);
    assert_eq!(sc.book.debt, vec![80.0, 400.0, 200.0]);
    assert_eq!(sc.book.id, vec![0, 1, 3]);
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let book = read(&dir.path().join("out/book.parquet"));
    assert_eq!(i64s(&book, "id"), [0, 1, 3]);
    assert_eq!(f64s(&book, "debt"), [80.0, 400.0, 200.0]);
    let l = read(&dir.path().join("out/liquidations.parquet"));
    let mut ids = i64s(&l, "position");
    ids.sort();
    ids.dedup();
    assert_eq!(ids, [1, 3]);
}

/// §12: LP collateral a deleveraging borrower sells is burnt for its share
/// of the pool's reserves and the base leg sold into what is left, as in a
/// seizure, not sold at F. Utilisation 7,000/7,500 gives a rate of
/// 0.1 + (0.9333 − 0.8)/0.2 = 0.767, above the 0.5 tolerance; HF is 1.14.
/// Step 1 repays 10% of what is owed: u = 0.1·owed/100 LP units burnt
/// (fraction u/4,000 of 100 ETH and 200,000 USDC), the ETH sold into the
/// rest. The proceeds are dy + out, less than u·100 at F.
#[test]
fn deleveraging_burns_lp_collateral_as_a_seizure_does() {
    let text = edit(
        LP,
        &[
            Edit::Add(
                "protocols.lend.supply",
                val("{ deposits = 7500.0, rate = { slope1 = 0.1, kink = 0.8, slope2 = 1.0 } }"),
            ),
            Edit::Add(
                "protocols.lend.deleverage",
                val("{ borrow_rate = 0.5, repay = 0.1 }"),
            ),
            Edit::Set("shocks.ETH.return", val("0.0")),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "out", Some(1));
    let r = 0.1 + (7000.0 / 7500.0 - 0.8) / 0.2;
    let owed = 7000.0 * (r / 8760.0f64).exp();
    let u = 0.1 * owed / 100.0;
    let f = u / 4000.0;
    let (dx, dy) = (100.0 * f, 200_000.0 * f);
    let (x1, y1) = (100.0 - dx, 200_000.0 - dy);
    let out = y1 * dx / (x1 + dx);
    let p = read(&dir.path().join("out/protocols.parquet"));
    let deleveraged = protocol_of(&p, "lend", "deleveraged_value");
    assert!(
        close(deleveraged[1].unwrap(), dy + out),
        "{:?} vs {}",
        deleveraged[1],
        dy + out
    );
    assert!(dy + out < u * 100.0 - 0.5, "{} vs {}", dy + out, u * 100.0);
    let l = read(&dir.path().join("out/liquidations.parquet"));
    assert_eq!(l.height(), 0);
}

/// A withdrawal's USD value (`withdrawn_value`) is taken at the protocol's
/// oracle price (§11). Here the oracle reads the ETH pool, quoted in EUR
/// at 1.25 USD: its spot is 1,600 EUR, so ETH is worth 1,600 × 1.25 =
/// 2,000 USD, and the lender's 300 ETH are 600,000 USD (a quote taken at 1
/// USD, or divided by its price, would give 480,000 or 384,000).
///
/// The same with an oracle that keeps state (Maker's OSM, `delayed`), whose
/// price in use is read from the protocol's own oracle state, and with ETH
/// listed second among the assets and the market second among the
/// protocols.
#[test]
fn a_withdrawal_is_valued_at_a_pool_oracle_in_usd_through_the_quote() {
    for (oracle, eth_second) in [
        ("{ source = \"pool\" }", false),
        (
            "{ source = \"pool\", kind = \"delayed\", hop_hours = 1.0 }",
            true,
        ),
    ] {
        let mut edits = vec![
            Edit::Remove("lenders.whale.sell"),
            Edit::Set("assets.USDC.symbol", val("\"EUR\"")),
            Edit::Set("assets.1.price", val("1.25")),
            Edit::Set("pools.ETH.quote", val("\"EUR\"")),
            Edit::Add("protocols.eth-market.oracle", val(oracle)),
        ];
        if eth_second {
            // ETH falls 10% at step 1: the protocol's OSM still shows 2,000
            // when the lender runs at step 2 (its last read, at step 1, put
            // step 0's price in use), while a direct oracle, the dummy
            // market's, read 1,800.
            edits.push(Edit::Push(
                "shocks",
                table("step = 1\nasset = \"ETH\"\nreturn = -0.1"),
            ));
            edits.push(Edit::Set(
                "assets.0",
                table("symbol = \"EUR\"\nprice = 1.25"),
            ));
            edits.push(Edit::Set(
                "assets.1",
                table("symbol = \"ETH\"\nprice = 2000.0"),
            ));
        }
        let mut base = FLIGHT.to_string();
        if eth_second {
            // And the market second among the protocols.
            let first = "[[protocols]]\nname = \"eth-market\"";
            assert!(base.contains(first));
            base = base.replacen(first, &format!("{DUMMY}{first}"), 1);
        }
        let sc = scenario(&edit(&base, &edits), &Overrides::default());
        assert_eq!(sc.assets[1].symbol == "ETH", eth_second);
        let market = sc.protocols.iter().position(|p| p.name == "eth-market");
        assert_eq!(market, Some(usize::from(eth_second)));
        let dir = tempfile::tempdir().unwrap();
        run_into(&sc, dir.path(), "out", Some(1));
        let p = read(&dir.path().join("out/protocols.parquet"));
        let w = protocol_of(&p, "eth-market", "withdrawn_value");
        assert_eq!(w[1], Some(0.0));
        let v = w[2].unwrap();
        assert!((v - 600_000.0).abs() < 1e-6, "{oracle}: {v}");
    }
}
