//! The perps' liquidation index (docs/model.md §15, "Accounts near
//! liquidation") against the full scan that checks every open account in
//! every round: on random books of isolated, cross and two-market
//! accounts, with auto-deleveraging and a hedger trading in the perp (the
//! two ways an account's key changes on a path), both write the same
//! tables, bit for bit.

use contagion::Overrides;
use proptest::prelude::*;

use crate::common::*;

/// Two markets (ETH, BTC) on jumpy prices with a shock, four populations:
/// isolated longs, isolated shorts, cross accounts long ETH and short BTC
/// (checked in full), and cross shorts of one market; a dealer hedging
/// puts in the ETH perp.
fn book(fund: f64, shock: f64, clamp: f64, lev_max: f64, mmr: f64) -> String {
    format!(
        r#"
[simulation]
name = "perp-index"
steps = 30
paths = 3

[[assets]]
symbol = "ETH"
price = 2000.0
process = {{ kind = "merton", vol = 1.2, jump_intensity = 40.0, jump_mean = -0.03, jump_std = 0.05 }}

[[assets]]
symbol = "BTC"
price = 60000.0
process = {{ kind = "merton", vol = 0.9, jump_intensity = 30.0, jump_mean = 0.02, jump_std = 0.04 }}

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 2000.0

[[pools]]
base = "BTC"
quote = "USDC"
base_reserve = 60.0

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
initial_margin = 0.05
maintenance_margin = {mmr}
liquidation_fee = 0.01
taker_fee = 0.0005
insurance_fund = {fund}
funding = {{ clamp = {clamp}, period_hours = 8.0 }}

[[perps]]
name = "btc-perp"
asset = "BTC"
initial_margin = 0.05
maintenance_margin = {mmr}
liquidation_fee = 0.01
insurance_fund = {fund}
funding = {{ clamp = {clamp}, period_hours = 8.0 }}
margin = {{ kind = "ewma", lambda = 0.9, multiplier = 2.0, horizon_hours = 4.0, initial_vol = 0.8 }}

[[perp_populations]]
perps = ["eth-perp"]
sides = ["long"]
count = 60
notional_usd = {{ dist = "lognormal", median = 20000.0, sigma = 1.0 }}
leverage = {{ dist = "uniform", min = 1.5, max = {lev_max} }}
margin_mode = "isolated"

[[perp_populations]]
perps = ["eth-perp", "btc-perp"]
sides = ["short", "short"]
count = 40
notional_usd = {{ dist = "lognormal", median = 20000.0, sigma = 1.0 }}
leverage = {{ dist = "uniform", min = 1.5, max = {lev_max} }}
margin_mode = "isolated"

[[perp_populations]]
perps = ["eth-perp", "btc-perp"]
sides = ["long", "short"]
count = 30
notional_usd = {{ dist = "lognormal", median = 30000.0, sigma = 0.8 }}
leverage = {{ dist = "uniform", min = 1.5, max = {lev_max} }}
margin_mode = "cross"

[[perp_populations]]
perps = ["btc-perp"]
sides = ["long"]
count = 30
notional_usd = {{ dist = "lognormal", median = 30000.0, sigma = 0.8 }}
leverage = {{ dist = "uniform", min = 1.5, max = {lev_max} }}

[[hedgers]]
name = "dealer"
asset = "ETH"
surface = {{ atm = 0.9, skew = -0.3 }}
band = 0.3
hedge = {{ perp = "eth-perp", margin = 100000.0 }}
options = [{{ kind = "put", strike = 1900.0, expiry_hours = 20.0, quantity = -80.0 }}]

[[shocks]]
step = 3
asset = "ETH"
return = {shock}
"#
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn the_perp_index_and_the_full_scan_write_identical_tables(
        seed in any::<u64>(),
        fund in prop_oneof![Just(0.0), 0.0..200_000.0f64],
        shock in -0.35..-0.08f64,
        clamp in 0.0..0.01f64,
        lev_max in 8.0..19.0f64,
        mmr in 0.01..0.04f64,
    ) {
        let text = book(fund, shock, clamp, lev_max, mmr);
        let sc = scenario(&text, &Overrides { paths: None, seed: Some(seed) });
        let dir = tempfile::tempdir().unwrap();
        run_both_searches(&sc, dir.path(), Some(1));
        for t in ["perps", "path_perps", "paths", "market"] {
            let a = read(&dir.path().join(format!("indexed/{t}.parquet")));
            let b = read(&dir.path().join(format!("scan/{t}.parquet")));
            prop_assert!(same_frame(&a, &b), "{} differs", t);
        }
        let perps = read(&dir.path().join("indexed/perps.parquet"));
        let liqs: u32 = u32s(&perps, "liquidations").iter().sum();
        prop_assert!(liqs > 0, "nothing was liquidated");
    }
}
