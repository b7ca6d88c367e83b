//! A cascade of three positions over two steps, worked out by hand (with a
//! calculator, independently of the engine) and checked against the rows the
//! run writes.
//!
//! Set-up: ETH at 1,000 and USD at 1, both fixed. A 100 ETH / 100,000 USD
//! pool with no fee and ρ = 0.5. One lending market reading the pool spot
//! (lag 0), LT 0.8, LB 0.1, close factor 0.5, full liquidation below HF 0.9.
//! Gas 1 USD · (1 + 0.5·n). One unlimited liquidator with min_profit 0.
//!
//! Positions (id: ETH, USD debt): 0: 10, 7,600; 1: 10, 7,000; 2: 3, 1,500.
//!
//! Step 1: shock −10%, F = 900. Arbitrage with k = 10⁷:
//!   x = sqrt(10⁷/900) = 105.40925533894598, y = sqrt(10⁷·900) = 94868.32980505138.
//! Round 0 at price 900: HF₀ = 10·900·0.8/7600 = 0.9473684210526315 < 1;
//!   HF₁ = 7200/7000 ≥ 1; HF₂ = 2160/1500 ≥ 1.
//!   Position 0: CF 0.5, R = 3800, s = 3800·1.1/900 = 4.644444444444445 ETH,
//!   gas 1.0. Selling s moves the pool to 10⁷/(x+s)² = 825.6399626409916.
//! Round 1 at 825.6399626409916: HF₀ = 5.355555…·825.64·0.8/3800 =
//!   0.9308969871180303, HF₁ = 10·825.64·0.8/7000 = 0.9435885287325618,
//!   HF₂ = 1.0567 ≥ 1. In HF order: position 0 (R = 1900,
//!   s = 2.5313697187266393, gas 1.5), then position 1 (R = 3500,
//!   s = 4.663049481864863, gas 2.0). Pool price → 727.4250154041523.
//! Round 2 at 727.4250154041523: HF₀ = 0.8650035477303003 < 0.9 → CF 1:
//!   R = 1900 would seize 2.8731 ETH > 2.824185836828916 left, so the seizure
//!   is capped: s = 2.824185836828916, R = s·727.425/1.1 = 1867.6212962358752,
//!   gas 2.5, and the remaining 32.37870376412479 USD is bad debt.
//!   HF₁ = 0.8873671572264347 → CF 1: R = 3500, s = 5.292641741033565, gas 3.0.
//!   HF₂ = 3·727.43·0.8/1500 = 1.1639 ≥ 1. Pool price → 636.2792496246685.
//! Round 3: HF₂ = 1.018 ≥ 1; positions 0 and 1 have no debt: the cascade
//!   ends after 3 rounds. Impact persistence: F = exp(ln 900 + 0.5·(ln
//!   636.279 − ln 900)) = 756.7372890655001.
//! Step 2: shock −20%, F = 605.3898312524001; arbitrage to that price.
//!   Round 0: HF₂ = 3·605.39·0.8/1500 = 0.9686237300038402: CF 0.5,
//!   R = 750, s = 1.3627582714649857, gas 1.0 (n restarts each step).
//!   Pool → 592.7530476170724. Round 1: HF₂ = 1.035: none. F after
//!   persistence = 599.0381185460949.

use contagion::Overrides;

use crate::common::*;

pub const HAND: &str = r#"
[simulation]
name = "hand"
steps = 2
paths = 1

[network]
gas_usd = 1.0
congestion = 0.5

[[assets]]
symbol = "ETH"
price = 1000.0

[[assets]]
symbol = "USD"
price = 1.0

[[pools]]
base = "ETH"
quote = "USD"
base_reserve = 100.0
fee = 0.0
impact_persistence = 0.5

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USD"
close_factor = 0.5
full_liquidation_hf = 0.9
oracle = { source = "pool", lag_steps = 0 }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.1
max_ltv = 0.7

[[positions]]
protocol = "lend"
debt = 7600.0
collateral = { ETH = 10.0 }

[[positions]]
protocol = "lend"
debt = 7000.0
collateral = { ETH = 10.0 }

[[positions]]
protocol = "lend"
debt = 1500.0
collateral = { ETH = 3.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "ETH"
return = -0.1

[[shocks]]
step = 2
asset = "ETH"
return = -0.2
"#;

fn assert_all_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(close(*g, *w), "{what}: got {got:?}, want {want:?}");
    }
}

#[test]
fn the_run_reproduces_the_hand_computed_cascade() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(HAND, &Overrides::default());
    run_into(&sc, dir.path(), "hand", Some(1));
    let out = dir.path().join("hand");

    let liq = read(&out.join("liquidations.parquet"));
    assert_eq!(u32s(&liq, "step"), [1, 1, 1, 1, 1, 2]);
    assert_eq!(u32s(&liq, "round"), [0, 1, 1, 2, 2, 0]);
    let position = i64s(&liq, "position");
    assert_eq!(position, [0, 0, 1, 0, 1, 2]);
    assert_all_close(
        "health_factor",
        &f64s(&liq, "health_factor"),
        &[
            0.9473684210526315,
            0.9308969871180303,
            0.9435885287325618,
            0.8650035477303003,
            0.8873671572264347,
            0.9686237300038402,
        ],
    );
    assert_all_close(
        "repaid",
        &f64s(&liq, "repaid"),
        &[3800.0, 1900.0, 3500.0, 1867.6212962358752, 3500.0, 750.0],
    );
    assert_all_close(
        "seized",
        &f64s(&liq, "seized"),
        &[
            4.644444444444445,
            2.5313697187266393,
            4.663049481864863,
            2.824185836828916,
            5.292641741033565,
            1.3627582714649857,
        ],
    );
    assert_all_close(
        "oracle_price",
        &f64s(&liq, "oracle_price"),
        &[
            900.0,
            825.6399626409916,
            825.6399626409916,
            727.4250154041523,
            727.4250154041523,
            605.3898312524001,
        ],
    );
    assert_all_close("gas", &f64s(&liq, "gas"), &[1.0, 1.5, 2.0, 2.5, 3.0, 1.0]);
    assert_all_close(
        "bad_debt",
        &f64s(&liq, "bad_debt"),
        &[0.0, 0.0, 0.0, 32.37870376412479, 0.0, 0.0],
    );

    let market = read(&out.join("market.parquet"));
    let eth: Vec<usize> = strs(&market, "asset")
        .iter()
        .enumerate()
        .filter(|(_, a)| *a == "ETH")
        .map(|(i, _)| i)
        .collect();
    let fundamental = f64s(&market, "fundamental");
    let f: Vec<f64> = eth.iter().map(|&i| fundamental[i]).collect();
    assert_all_close(
        "fundamental",
        &f,
        &[1000.0, 756.7372890655001, 599.0381185460949],
    );
    let pool = market.column("pool_price").unwrap().f64().unwrap();
    assert!(close(pool.get(eth[2]).unwrap(), 592.7530476170724));
    // USD has no pool: its pool_price is null.
    assert_eq!(pool.get(1), None);

    let protocols = read(&out.join("protocols.parquet"));
    assert_eq!(u32s(&protocols, "cascade_rounds"), [0, 3, 1]);
    assert_eq!(u32s(&protocols, "liquidations"), [0, 5, 1]);
    assert_all_close(
        "bad_debt_cum",
        &f64s(&protocols, "bad_debt_cum"),
        &[0.0, 32.37870376412479, 32.37870376412479],
    );
    // End of step 2, at the pool price 592.753…: position 1 keeps
    // 10 − 4.66305 − 5.29264 = 0.0443088 ETH, position 2 keeps 1.63724 ETH
    // and owes 750 USD.
    let left = 10.0 - 4.663049481864863 - 5.292641741033565 + 3.0 - 1.3627582714649857;
    assert_all_close(
        "collateral_value",
        &f64s(&protocols, "collateral_value")[2..],
        &[left * 592.7530476170724],
    );
    assert_all_close(
        "debt_value",
        &f64s(&protocols, "debt_value"),
        &[16100.0, 1500.0, 750.0],
    );

    let paths = read(&out.join("paths.parquet"));
    assert_all_close(
        "paths.bad_debt",
        &f64s(&paths, "bad_debt"),
        &[32.37870376412479],
    );
    assert_eq!(u32s(&paths, "liquidations"), [6]);
    assert_eq!(u32s(&paths, "max_cascade_rounds"), [3]);
}
