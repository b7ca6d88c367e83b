//! Hedgers and option vaults (docs/model.md §14): short gamma amplifies a
//! crash, long gamma dampens it, and a vault's equity reconciles with its
//! premiums, payouts and holdings.

use contagion::Overrides;
use contagion::derivatives::{Kind, greeks};

use crate::common::*;

fn shipped(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml")),
    )
    .unwrap()
}

/// The shipped short-gamma scenario with its dealers' book replaced:
/// `book` is the `options = [...]` value, or None to drop the dealers.
fn with_book(book: Option<&str>) -> String {
    let s = shipped("short-gamma-crash");
    let a = s.find("# Dealers:").unwrap();
    let b = s.find("# A covered-call").unwrap();
    let hedgers = match book {
        None => String::new(),
        Some(options) => format!(
            "[[hedgers]]\nname = \"dealers\"\nasset = \"ETH\"\nsurface = {{ atm = 0.7, skew = -0.4, smile = 0.6 }}\nband = 250.0\noptions = {options}\n\n"
        ),
    };
    format!("{}{}{}", &s[..a], hedgers, &s[b..])
}

/// Per path: the lowest ETH pool price, and the value liquidated.
fn outcome(text: &str, dir: &std::path::Path, name: &str) -> (Vec<f64>, Vec<f64>) {
    let sc = scenario(
        text,
        &Overrides {
            paths: Some(24),
            seed: None,
        },
    );
    run_into(&sc, dir, name, Some(2));
    let m = read(&dir.join(name).join("market.parquet"));
    let low: Vec<f64> = (0..24)
        .map(|p| {
            rows_of(&m, p, "asset", "ETH", "pool_price")
                .into_iter()
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let paths = read(&dir.join(name).join("paths.parquet"));
    (low, f64s(&paths, "liquidated_value"))
}

/// The same paths three times: no dealers, dealers short puts, dealers long
/// the same puts. Short gamma sells into the fall and pushes the pool lower
/// on every path, with more liquidated; long gamma buys the dip and holds it
/// higher on every path, with less liquidated.
#[test]
fn short_gamma_hedging_amplifies_the_crash_and_long_gamma_dampens_it() {
    let puts = |q: f64| {
        format!(
            "[{{ kind = \"put\", strike = 2700.0, expiry_hours = 168.0, quantity = {q} }}, {{ kind = \"put\", strike = 2400.0, expiry_hours = 168.0, quantity = {q} }}]"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let (low_none, liq_none) = outcome(&with_book(None), dir.path(), "none");
    let (low_short, liq_short) = outcome(&with_book(Some(&puts(-12000.0))), dir.path(), "short");
    let (low_long, liq_long) = outcome(&with_book(Some(&puts(12000.0))), dir.path(), "long");
    for p in 0..24 {
        assert!(
            low_short[p] < low_none[p],
            "path {p}: {} vs {}",
            low_short[p],
            low_none[p]
        );
        assert!(
            low_long[p] > low_none[p],
            "path {p}: {} vs {}",
            low_long[p],
            low_none[p]
        );
    }
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    assert!(sum(&liq_short) > sum(&liq_none) && sum(&liq_none) > sum(&liq_long));
}

/// A covered-call vault on a GBM market with nothing else trading, replayed
/// from its own rows: at step 0 it sells 5,000 calls at the strike whose
/// delta is 0.25, for the Black–Scholes premium. At every expiry it pays
/// `q·max(S − K, 0)` in kind and sells the next epoch on what is left, so at
/// an expiry the equity is `units·S + Σ earlier premiums` (the new options
/// are worth exactly the premium just received).
#[test]
fn an_option_vault_reconciles_with_its_premiums_and_payouts() {
    let text = r#"
[simulation]
name = "vault"
steps = 340
paths = 3
seed = 11

[[assets]]
symbol = "ETH"
price = 3000.0
process = { kind = "gbm", vol = 0.9 }

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 10000.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[option_vaults]]
name = "cc-vault"
asset = "ETH"
strategy = "covered_call"
deposits = 5000.0
delta = 0.25
tenor_hours = 168.0
surface = { atm = 0.7, skew = -0.4, smile = 0.6 }

# A rally in the first epoch, so its calls finish in the money.
[[shocks]]
step = 100
asset = "ETH"
return = 0.2
"#;
    let sc = scenario(text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let g = read(&dir.path().join("run/greeks.parquet"));
    let m = read(&dir.path().join("run/market.parquet"));
    let names: Vec<String> = g.get_column_names().iter().map(|c| c.to_string()).collect();
    assert_eq!(
        names,
        [
            "path",
            "step",
            "agent",
            "kind",
            "delta",
            "gamma",
            "vega",
            "theta",
            "hedge_trade",
            "pnl",
            "equity",
            "premium",
            "payout",
            "strike"
        ]
    );
    let mut exercised = 0;
    for path in 0..3u32 {
        let col = |name: &str| rows_of(&g, path, "agent", "cc-vault", name);
        let (equity, premium, payout, strike) =
            (col("equity"), col("premium"), col("payout"), col("strike"));
        let prices = rows_of(&m, path, "asset", "ETH", "pool_price");
        assert_eq!(prices.len(), 341);
        // Step 0: a 25-delta call at the surface's volatility for that strike.
        let (s0, k0) = (prices[0], strike[0]);
        let x = (k0 / s0).ln();
        let vol = (0.7 - 0.4 * x + 0.6 * x * x).max(0.05);
        let g0 = greeks(Kind::Call, s0, k0, 168.0 / 8760.0, vol, 0.0, 0.0);
        assert!((g0.delta - 0.25).abs() < 1e-9, "{}", g0.delta);
        assert!(close(premium[0], 5000.0 * g0.price));
        // Replay the epochs.
        let mut units = 5000.0;
        let mut premiums = premium[0];
        for t in [168usize, 336] {
            let payoff = units * (prices[t] - strike[t - 1]).max(0.0);
            exercised += (payoff > 0.0) as u32;
            assert!(close(payout[t], payoff), "path {path} step {t}");
            units -= payoff / prices[t];
            assert!(
                close(equity[t], units * prices[t] + premiums),
                "path {path} step {t}: {} vs {}",
                equity[t],
                units * prices[t] + premiums
            );
            premiums += premium[t];
        }
    }
    assert!(
        exercised > 0,
        "no epoch finished in the money: the test would not bite"
    );
}

/// A cash-secured put vault: 1,000,000 USD sells puts on `collateral/K` at
/// a 30-delta strike; a fall in the first epoch puts them in the money. At
/// each expiry it pays `q·max(K − S, 0)` from its collateral, and its equity
/// is `collateral + Σ earlier premiums`.
#[test]
fn a_cash_secured_put_vault_pays_from_its_collateral() {
    let text = r#"
[simulation]
name = "put-vault"
steps = 340
paths = 2
seed = 5

[[assets]]
symbol = "ETH"
price = 3000.0
process = { kind = "gbm", vol = 0.6 }

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
max_ltv = 0.7

[[option_vaults]]
name = "put-vault"
asset = "ETH"
strategy = "cash_secured_put"
deposits = 1000000.0
delta = 0.3
tenor_hours = 168.0
surface = { atm = 0.6, skew = -0.3 }

[[shocks]]
step = 100
asset = "ETH"
return = -0.2
"#;
    let sc = scenario(text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let g = read(&dir.path().join("run/greeks.parquet"));
    let m = read(&dir.path().join("run/market.parquet"));
    let mut exercised = 0;
    for path in 0..2u32 {
        let col = |name: &str| rows_of(&g, path, "agent", "put-vault", name);
        let (equity, premium, payout, strike) =
            (col("equity"), col("premium"), col("payout"), col("strike"));
        let f = rows_of(&m, path, "asset", "ETH", "fundamental");
        // Step 0: |delta| 0.3 at the strike, on collateral / K contracts.
        let x = (strike[0] / 3000.0).ln();
        let vol = (0.6 - 0.3 * x).max(0.05);
        let g0 = greeks(Kind::Put, 3000.0, strike[0], 168.0 / 8760.0, vol, 0.0, 0.0);
        assert!((g0.delta + 0.3).abs() < 1e-9);
        assert!(close(premium[0], 1_000_000.0 / strike[0] * g0.price));
        let mut collateral = 1_000_000.0;
        let mut premiums = premium[0];
        for t in [168usize, 336] {
            let q = collateral / strike[t - 1];
            let pay = q * (strike[t - 1] - f[t]).max(0.0);
            exercised += (pay > 0.0) as u32;
            assert!(close(payout[t], pay), "path {path} step {t}");
            collateral -= pay;
            assert!(
                close(equity[t], collateral + premiums),
                "path {path} step {t}"
            );
            premiums += premium[t];
        }
    }
    assert!(exercised > 0, "no put finished in the money");
}

/// Dealers hedging through a perp instead of the pool: the perp's vault
/// takes the other side of every hedge trade and passes it on to the same
/// pool, so with no fees and no funding the market is exactly the same on
/// every path; the dealers' perp position (short) is their hedge, and the
/// vault holds the opposite.
#[test]
fn hedging_through_a_perp_moves_the_pool_as_hedging_in_it_does() {
    let book = "[{ kind = \"put\", strike = 2700.0, expiry_hours = 168.0, quantity = -12000.0 }, { kind = \"put\", strike = 2400.0, expiry_hours = 168.0, quantity = -12000.0 }]";
    let direct = with_book(Some(book));
    let perp = edit(
        &direct,
        &[
            Edit::Add(
                "hedgers.dealers.hedge",
                val("{ perp = \"eth-perp\", margin = 50000000.0 }"),
            ),
            Edit::Push(
                "perps",
                table(
                    "name = \"eth-perp\"\nasset = \"ETH\"\ninitial_margin = 0.1\nmaintenance_margin = 0.05\nfunding = { clamp = 0.0, period_hours = 8.0 }",
                ),
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let ov = Overrides {
        paths: Some(6),
        seed: None,
    };
    run_into(&scenario(&direct, &ov), dir.path(), "direct", Some(1));
    let sc = scenario(&perp, &ov);
    assert_eq!(sc.hedgers[0].perp, Some((0, 0)));
    // It starts hedged: short puts have a positive delta, so the dealers
    // start short the perp.
    assert!(sc.perp_book.size[0] < 0.0);
    run_into(&sc, dir.path(), "perp", Some(1));
    let a = read(&dir.path().join("direct/market.parquet"));
    let b = read(&dir.path().join("perp/market.parquet"));
    assert!(same_frame(&a, &b), "the market differs");
    let ga = read(&dir.path().join("direct/greeks.parquet"));
    let gb = read(&dir.path().join("perp/greeks.parquet"));
    let (da, db) = (f64s(&ga, "delta"), f64s(&gb, "delta"));
    let (ta, tb) = (f64s(&ga, "hedge_trade"), f64s(&gb, "hedge_trade"));
    for k in 0..da.len() {
        assert!(
            (da[k] - db[k]).abs() < 1e-6 * da[k].abs().max(1.0),
            "row {k}"
        );
        assert!(
            (ta[k] - tb[k]).abs() < 1e-6 * ta[k].abs().max(1.0),
            "row {k}"
        );
    }
    assert!(ta.iter().any(|&t| t < -100.0), "the dealers never sold");
    let p = read(&dir.path().join("perp/perps.parquet"));
    let vault = f64s(&p, "vault_position");
    assert!(
        vault.iter().all(|&v| v > 0.0),
        "the vault holds the dealers' opposite"
    );
    // The dealers are the only traders: the open interest is their short,
    // which is what the vault holds long; nobody is long.
    let (short, long) = (f64s(&p, "oi_short"), f64s(&p, "oi_long"));
    for k in 0..vault.len() {
        assert!(
            close(short[k], vault[k]),
            "row {k}: {} against {}",
            short[k],
            vault[k]
        );
        assert_eq!(long[k], 0.0, "row {k}");
    }
}

/// Hedgers trade at most half the pool's base reserve either way (§14).
/// Dealers short 10,000 puts on a 100-ETH pool (k = 2·10⁷); ETH halves at
/// step 1 and arbitrage takes the pool to 1,000 (x = sqrt(k/1,000) =
/// 141.42). The puts' delta asks for a sale of thousands of ETH: the
/// dealers sell x/2 = 70.71, and the pool ends the step at
/// 1,000·(x/(x + x/2))² = 444.4, not near 0.
#[test]
fn a_hedgers_sale_is_capped_at_half_the_pool() {
    let text = r#"
[simulation]
name = "cap"
steps = 2
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
base_reserve = 100.0
fee = 0.0

[[hedgers]]
name = "dealers"
asset = "ETH"
surface = { atm = 0.8 }
band = 1.0
options = [{ kind = "put", strike = 1900.0, expiry_hours = 720.0, quantity = -10000.0 }]

[[shocks]]
step = 1
asset = "ETH"
return = -0.5
"#;
    let sc = scenario(text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let g = read(&dir.path().join("run/greeks.parquet"));
    let trade = f64s(&g, "hedge_trade");
    let x = (2e7f64 / 1000.0).sqrt();
    assert!(close(trade[1], -0.5 * x), "{} vs {}", trade[1], -0.5 * x);
    assert!(
        f64s(&g, "delta")[1] > 1000.0,
        "the cap left most of the delta"
    );
    let m = read(&dir.path().join("run/market.parquet"));
    let price = rows_of(&m, 0, "asset", "ETH", "pool_price");
    assert!(close(price[1], 1000.0 / 2.25), "{}", price[1]);
}

/// Stocks are recorded at the end-of-step price (§8): the dealers' net
/// delta and the vault's equity in greeks.parquet, re-derived here from
/// market.parquet's end-of-step pool price with Black–Scholes. Liquidations
/// sell ETH into the pool after the agents act, so the price the agents
/// traded at is not the one the step ends at.
#[test]
fn option_stocks_are_valued_at_the_end_of_step_price() {
    let puts = "[{ kind = \"put\", strike = 2700.0, expiry_hours = 168.0, quantity = -12000.0 }, { kind = \"put\", strike = 2400.0, expiry_hours = 168.0, quantity = -12000.0 }]";
    let sc = scenario(
        &with_book(Some(puts)),
        &Overrides {
            paths: Some(3),
            seed: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let m = read(&dir.path().join("run/market.parquet"));
    let g = read(&dir.path().join("run/greeks.parquet"));
    let (h, v) = (&sc.hedgers[0], &sc.option_vaults[0]);
    let (agent, path) = (strs(&g, "agent"), i64s(&g, "path"));
    let (delta, trade, equity) = (
        f64s(&g, "delta"),
        f64s(&g, "hedge_trade"),
        f64_opts(&g, "equity"),
    );
    let (premium, strike) = (f64_opts(&g, "premium"), f64_opts(&g, "strike"));
    let vault_pnl = f64s(&g, "pnl");
    let options_delta = |s: f64, hours: f64| -> f64 {
        h.options
            .iter()
            .map(|o| {
                let tau = (o.expiry_hours - hours) / 8760.0;
                let vol = h.surface.vol(0.7, s, o.strike);
                o.quantity * greeks(o.kind, s, o.strike, tau, vol, h.rate, 0.0).delta
            })
            .sum()
    };
    let mut checked = 0;
    for p in 0..3u32 {
        let price = rows_of(&m, p, "asset", "ETH", "pool_price");
        let rows = |a: &str| -> Vec<usize> {
            (0..g.height())
                .filter(|&r| agent[r] == a && path[r] == p as i64)
                .collect()
        };
        let (hr, vr) = (rows("dealers"), rows("cc-vault"));
        let mut hedge = -options_delta(price[0], 0.0);
        let cash = premium[vr[0]].unwrap();
        let k = strike[vr[0]].unwrap();
        for (t, s) in price.iter().enumerate() {
            let hours = t as f64 * sc.dt_hours;
            hedge += trade[hr[t]];
            let want = options_delta(*s, hours) + hedge;
            assert!(
                (delta[hr[t]] - want).abs() < 1e-6 * want.abs().max(1.0),
                "path {p} step {t}: delta {} vs {want}",
                delta[hr[t]]
            );
            let tau = (168.0 - hours) / 8760.0;
            let call = greeks(
                Kind::Call,
                *s,
                k,
                tau,
                v.surface.vol(0.7, *s, k),
                v.rate,
                0.0,
            );
            let want = 5000.0 * s + cash - 5000.0 * call.price;
            let got = equity[vr[t]].unwrap();
            assert!(
                (got - want).abs() < 1e-9 * want.abs(),
                "path {p} step {t}: equity {got} vs {want}"
            );
            // PnL: equity less equity at step 0, the same formula at S₀.
            let first = equity[vr[0]].unwrap();
            assert!((vault_pnl[vr[t]] - (want - first)).abs() < 1e-6 * want.abs());
            checked += 1;
        }
    }
    assert!(checked > 100);
}

/// A hedger that never rehedges (band 10¹²) keeps its step-0 hedge −Δ₀ and
/// cash Δ₀·S₀, so its PnL at the end-of-step price S is
/// `V(S) − V₀ − Δ₀·(S − S₀)` (§14, §8), with V the puts' Black–Scholes value.
#[test]
fn an_unhedged_books_pnl_is_its_value_change_less_the_static_hedge() {
    let puts = "[{ kind = \"put\", strike = 2700.0, expiry_hours = 168.0, quantity = -12000.0 }, { kind = \"put\", strike = 2400.0, expiry_hours = 168.0, quantity = -12000.0 }]";
    let text = edit(
        &with_book(Some(puts)),
        &[Edit::Set("hedgers.dealers.band", val("1e12"))],
    );
    let sc = scenario(
        &text,
        &Overrides {
            paths: Some(2),
            seed: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let m = read(&dir.path().join("run/market.parquet"));
    let g = read(&dir.path().join("run/greeks.parquet"));
    let h = &sc.hedgers[0];
    let (agent, path, pnl) = (strs(&g, "agent"), i64s(&g, "path"), f64s(&g, "pnl"));
    let book = |s: f64, hours: f64| -> (f64, f64) {
        h.options.iter().fold((0.0, 0.0), |(v, d), o| {
            let tau = (o.expiry_hours - hours) / 8760.0;
            let vol = h.surface.vol(0.7, s, o.strike);
            let g = greeks(o.kind, s, o.strike, tau, vol, h.rate, 0.0);
            (v + o.quantity * g.price, d + o.quantity * g.delta)
        })
    };
    for p in 0..2u32 {
        let price = rows_of(&m, p, "asset", "ETH", "pool_price");
        let rows: Vec<usize> = (0..g.height())
            .filter(|&r| agent[r] == "dealers" && path[r] == p as i64)
            .collect();
        let (v0, d0) = book(price[0], 0.0);
        for (t, s) in price.iter().enumerate() {
            let (v, _) = book(*s, t as f64 * sc.dt_hours);
            let want = v - v0 - d0 * (s - price[0]);
            let got = pnl[rows[t]];
            assert!(
                (got - want).abs() < 1e-6 * want.abs().max(1.0),
                "path {p} step {t}: {got} vs {want}"
            );
        }
        assert!(pnl[rows[40]].abs() > 1000.0, "the crash moved it");
    }
}

/// The quote asset's price is a unit, not a value: the same dealers on a
/// pool quoted in USDC (1 USD) and in a token worth 2 USD (the pool at half
/// the price, the same USD depth) trade the same units and record the same
/// delta and PnL in USD on every step (their cash is kept in USD).
#[test]
fn a_hedgers_pnl_does_not_depend_on_the_pools_quote_unit() {
    let text = |quote_price: f64| {
        format!(
            r#"
[simulation]
name = "numeraire"
steps = 6
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "QUOTE"
price = {quote_price}

[[pools]]
base = "ETH"
quote = "QUOTE"
base_reserve = 500.0
fee = 0.003

[[hedgers]]
name = "dealers"
asset = "ETH"
surface = {{ atm = 0.8 }}
band = 1.0
options = [{{ kind = "put", strike = 1900.0, expiry_hours = 720.0, quantity = -300.0 }}]

[[shocks]]
step = 1
asset = "ETH"
return = -0.15

[[shocks]]
step = 3
asset = "ETH"
return = 0.1
"#
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let mut frames = Vec::new();
    for (name, q) in [("usd", 1.0), ("two", 2.0)] {
        run_into(
            &scenario(&text(q), &Overrides::default()),
            dir.path(),
            name,
            Some(1),
        );
        frames.push(read(&dir.path().join(name).join("greeks.parquet")));
    }
    let trade = f64s(&frames[0], "hedge_trade");
    assert!(
        trade.iter().filter(|t| t.abs() > 1.0).count() >= 2,
        "{trade:?}"
    );
    for col in ["delta", "hedge_trade", "pnl"] {
        let (a, b) = (f64s(&frames[0], col), f64s(&frames[1], col));
        for (t, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "{col} at step {t}: {x} vs {y}"
            );
        }
    }
}

/// The dealers' PnL replayed from the pool (§14): nothing else trades, so
/// at each step arbitrage leaves the pool at x = sqrt(k/F) (no fee, k
/// fixed) before the dealers trade; a sale of u pays y·u/(x + u), a
/// purchase costs y·u/(x − u). Cash starts at Δ₀·S₀ against a hedge of
/// −Δ₀, and the PnL is `V(S) + cash + hedge·S − V₀` at the end-of-step S.
#[test]
fn a_rehedging_dealers_pnl_follows_its_trades_through_the_pool() {
    let text = r#"
[simulation]
name = "replay"
steps = 6
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
base_reserve = 500.0
fee = 0.0

[[hedgers]]
name = "dealers"
asset = "ETH"
surface = { atm = 0.8 }
band = 1.0
options = [{ kind = "put", strike = 1900.0, expiry_hours = 720.0, quantity = -300.0 }]

[[shocks]]
step = 1
asset = "ETH"
return = -0.15

[[shocks]]
step = 3
asset = "ETH"
return = 0.1
"#;
    let sc = scenario(text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let m = read(&dir.path().join("run/market.parquet"));
    let g = read(&dir.path().join("run/greeks.parquet"));
    let (f, s_end) = (
        rows_of(&m, 0, "asset", "ETH", "fundamental"),
        rows_of(&m, 0, "asset", "ETH", "pool_price"),
    );
    let (trade, pnl) = (f64s(&g, "hedge_trade"), f64s(&g, "pnl"));
    let h = &sc.hedgers[0];
    let book = |s: f64, hours: f64| -> (f64, f64) {
        h.options.iter().fold((0.0, 0.0), |(v, d), o| {
            let tau = (o.expiry_hours - hours) / 8760.0;
            let vol = h.surface.vol(0.8, s, o.strike);
            let g = greeks(o.kind, s, o.strike, tau, vol, h.rate, 0.0);
            (v + o.quantity * g.price, d + o.quantity * g.delta)
        })
    };
    let k = 500.0 * 500.0 * 2000.0;
    let (v0, d0) = book(2000.0, 0.0);
    let (mut cash, mut hedge) = (d0 * 2000.0, -d0);
    assert!(pnl[0].abs() < 1e-6, "{}", pnl[0]);
    for t in 1..f.len() {
        let (x, y) = ((k / f[t]).sqrt(), (k * f[t]).sqrt());
        let u = trade[t];
        cash += if u < 0.0 {
            y * -u / (x - u)
        } else {
            -y * u / (x - u)
        };
        hedge += u;
        let (v, _) = book(s_end[t], t as f64);
        let want = v + cash + hedge * s_end[t] - v0;
        assert!(
            (pnl[t] - want).abs() < 1e-6 * want.abs().max(1.0),
            "step {t}: {} vs {want}",
            pnl[t]
        );
    }
    assert!(
        trade.iter().filter(|t| t.abs() > 1.0).count() >= 2,
        "{trade:?}"
    );
}

/// A book that is all delta: 100 calls struck at 1 (ETH at 2,000, one
/// year to expiry at 5% volatility, no rate) are worth 100·(S − 1) with
/// delta 100 (d1 > 100). Hedged by a short of 100 in a perp with no fees and no
/// funding, the dealer's PnL (§14: book value + the perp account's gain)
/// is 0 at every step: what the calls gain the short loses, mark for mark.
/// The quote asset is DAI at 1.25 USD, so a price taken in the wrong unit
/// shows. ETH rises 10% at step 1.
const DELTA_ONE: &str = r#"
[simulation]
name = "delta-one"
steps = 3
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "DAI"
price = 1.25

[[pools]]
base = "ETH"
quote = "DAI"
base_reserve = 10000.0
fee = 0.0

[[perps]]
name = "eth-perp"
asset = "ETH"
initial_margin = 0.1
maintenance_margin = 0.05
liquidation_fee = 0.0
insurance_fund = 0.0
funding = { clamp = 0.0, period_hours = 8.0 }

[[hedgers]]
name = "dealer"
asset = "ETH"
surface = { atm = 0.05 }
band = 1.0
hedge = { perp = "eth-perp", margin = 1000000000.0 }
options = [{ kind = "call", strike = 1.0, expiry_hours = 8760.0, quantity = 100.0 }]

[[shocks]]
step = 1
asset = "ETH"
return = 0.1
"#;

fn delta_one_run(text: &str) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(text, &Overrides::default());
    assert!(
        (sc.perp_book.size[0] + 100.0).abs() < 1e-9,
        "starts short 100: {}",
        sc.perp_book.size[0]
    );
    run_into(&sc, dir.path(), "r", Some(1));
    let g = read(&dir.path().join("r/greeks.parquet"));
    let m = read(&dir.path().join("r/market.parquet"));
    (
        f64s(&g, "pnl"),
        rows_of(&m, 0, "asset", "ETH", "fundamental"),
        rows_of(&m, 0, "asset", "ETH", "pool_price"),
    )
}

#[test]
fn a_delta_one_book_hedged_in_a_perp_makes_nothing() {
    let (pnl, f, _) = delta_one_run(DELTA_ONE);
    assert!(close(f[1], 2200.0), "the shock moved ETH: {}", f[1]);
    for (t, p) in pnl.iter().enumerate() {
        assert!(p.abs() < 1e-6 * 100.0 * 2200.0, "step {t}: PnL {p}");
    }
}

/// The same dealer with a margin of 25,000 (10% of 200,000 is the
/// minimum): the 10% rise leaves the short at 25,000 − 20,000 = 5,000,
/// below 5% of 220,000, and it is liquidated in the first round at the
/// mark 2,200 with nothing to pay (no fee): 5,000 comes back. From then on
/// its PnL is the calls' gain plus what came back less the margin,
/// 100·(S − 2,000) − 20,000 = 100·(S − 2,200): positive at the end of
/// step 1, where the vault's purchase of the 100 ETH it took over holds
/// the pool above 2,200, and 0 once arbitrage brings it back.
#[test]
fn a_liquidated_perp_hedge_leaves_what_came_back() {
    let text = edit(
        DELTA_ONE,
        &[Edit::Set("hedgers.dealer.hedge.margin", val("25000.0"))],
    );
    let (pnl, f, s) = delta_one_run(&text);
    assert!(
        s[1] > f[1] * 1.001,
        "the vault bought: {} vs {}",
        s[1],
        f[1]
    );
    for t in 1..pnl.len() {
        let want = 100.0 * (s[t] - 2200.0);
        assert!(
            (pnl[t] - want).abs() < 1e-6 * 2.2e5,
            "step {t}: {} vs {want}",
            pnl[t]
        );
    }
    assert!(pnl[1] > 1.0 && pnl[2].abs() < 1.0);
}

/// The delta-one dealer beside a trader short 100 ETH with a margin of
/// 21,000, and a cascade capped at one round. The 10% rise leaves the
/// trader 1,000 of equity against 11,000 required: the first round settles
/// every account at the mark 2,200, then closes the trader, and the vault
/// buys the 100 ETH of the short it takes over in the pool. The cap ends
/// the cascade there, so at the end of step 1 the dealer's short has
/// variation the round did not settle: the record values it at the pool's
/// price (§14), and the PnL is still 0 at every step. (Subtracting that
/// variation instead of adding it leaves 2·100·(S − 2,200) of PnL.)
#[test]
fn a_perp_hedge_counts_the_variation_a_capped_cascade_left_unsettled() {
    let text = edit(
        DELTA_ONE,
        &[
            Edit::Add("simulation.max_cascade_rounds", val("1")),
            Edit::Push(
                "perp_positions",
                table("perp = \"eth-perp\"\nside = \"short\"\nsize = 100.0\nmargin = 21000.0"),
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&text, &Overrides::default());
    run_into(&sc, dir.path(), "r", Some(1));
    let out = dir.path().join("r");
    let paths = read(&out.join("paths.parquet"));
    assert_eq!(u32s(&paths, "capped_steps"), [1], "the cap ended step 1");
    assert_eq!(u32s(&paths, "perp_liquidations"), [1]);
    let g = read(&out.join("greeks.parquet"));
    let m = read(&out.join("market.parquet"));
    let pnl = f64s(&g, "pnl");
    let (f, s) = (
        rows_of(&m, 0, "asset", "ETH", "fundamental"),
        rows_of(&m, 0, "asset", "ETH", "pool_price"),
    );
    assert!(
        s[1] > f[1] * 1.01,
        "the vault's purchase moved the pool after the round settled: {} vs {}",
        s[1],
        f[1]
    );
    for (t, p) in pnl.iter().enumerate() {
        assert!(p.abs() < 1e-6 * 100.0 * 2200.0, "step {t}: PnL {p}");
    }
}

/// The same market with 100 at-the-money calls (strike 2,000, 80%
/// volatility): after the 10% rise the dealer rehedges in the perp at the
/// pool's price in USD (§14), so its net delta at the end of the step is
/// within the band of 1 but for the gamma of the vault passing the trade
/// to the pool (a few ETH into 10,000: about 0.05 of delta). Priced in the
/// quote unit instead, the trade would leave it tens of ETH off.
#[test]
fn a_perp_hedger_rehedges_at_the_pools_usd_price() {
    let text = edit(
        DELTA_ONE,
        &[
            Edit::Set("hedgers.dealer.surface.atm", val("0.8")),
            Edit::Set("hedgers.dealer.options.0.strike", val("2000.0")),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&text, &Overrides::default());
    run_into(&sc, dir.path(), "r", Some(1));
    let g = read(&dir.path().join("r/greeks.parquet"));
    let (delta, trade) = (f64s(&g, "delta"), f64s(&g, "hedge_trade"));
    assert!(
        trade[1] < -1.0,
        "the rise called for a larger short: {}",
        trade[1]
    );
    for (t, d) in delta.iter().enumerate() {
        assert!(d.abs() < 1.2, "step {t}: net delta {d}");
    }
}

/// With a rate the delta-one book carries: 100 calls struck at 1,000 are
/// worth 100·(S − 1,000·e^{−r·τ}), so hedged, the dealer's PnL after t
/// steps of 24 hours is 100·1,000·(e^{−r} − e^{−r(1 − 24t/8,760)}) with
/// r = 5% and one year to expiry at step 0: −13.03 at step 1 (§14: the
/// record values the book at the step's time to expiry).
#[test]
fn a_hedged_delta_one_book_pays_its_carry_step_by_step() {
    let text = edit(
        DELTA_ONE,
        &[
            Edit::Add("simulation.dt_hours", val("24.0")),
            Edit::Add("hedgers.dealer.rate", val("0.05")),
            Edit::Set("hedgers.dealer.options.0.strike", val("1000.0")),
        ],
    );
    let (pnl, _, _) = delta_one_run(&text);
    let r: f64 = 0.05;
    for (t, p) in pnl.iter().enumerate() {
        let tau = 1.0 - 24.0 * t as f64 / 8760.0;
        let want = 100.0 * 1000.0 * ((-r).exp() - (-r * tau).exp());
        assert!((p - want).abs() < 1e-6 * 2.2e5, "step {t}: {p} vs {want}");
    }
    assert!(pnl[1] < -13.0 && pnl[1] > -13.1, "{}", pnl[1]);
}

/// `greeks.parquet` names every agent: hedgers first, then vaults in file
/// order, each with its kind. The shipped short-gamma market with a second
/// vault: dealers, cc-vault, cc-vault-2 at every step of the 96.
#[test]
fn greeks_rows_name_hedgers_then_each_vault() {
    let text = edit(
        &with_book(Some(
            "[{ kind = \"put\", strike = 2400.0, expiry_hours = 168.0, quantity = -100.0 }]",
        )),
        &[Edit::Push(
            "option_vaults",
            table(
                "name = \"cc-vault-2\"\nasset = \"ETH\"\nstrategy = \"covered_call\"\ndeposits = 100.0\ndelta = 0.1\ntenor_hours = 24.0\nsurface = { atm = 0.7 }",
            ),
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(
        &text,
        &Overrides {
            paths: Some(1),
            seed: None,
        },
    );
    run_into(&sc, dir.path(), "r", Some(1));
    let g = read(&dir.path().join("r/greeks.parquet"));
    let (agents, kinds) = (strs(&g, "agent"), strs(&g, "kind"));
    assert!(agents.len() >= 3 * 97 && agents.len() % 3 == 0);
    for t in 0..agents.len() / 3 {
        assert_eq!(
            agents[3 * t..3 * t + 3],
            ["dealers", "cc-vault", "cc-vault-2"],
            "step {t}"
        );
        assert_eq!(kinds[3 * t..3 * t + 3], ["hedger", "vault", "vault"]);
    }
}
