//! Interest (docs/model.md §11): a kinked rate model accruing through a debt
//! index, checked against the closed form step by step.

use contagion::Overrides;

use crate::common::*;

const RATES: &str = r#"
[simulation]
name = "rates"
steps = 48
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
supply = { deposits = 10000.0, reserve_fund = 50.0, rate = { base = 0.01, slope1 = 0.04, kink = 0.8, slope2 = 3.0, reserve_factor = 0.2 } }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "lend"
debt = 4000.0
collateral = { ETH = 10.0 }

[[positions]]
protocol = "lend"
debt = 4500.0
collateral = { ETH = 10.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"
"#;

#[test]
fn debt_grows_by_the_rate_the_utilisation_gives() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(RATES, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let p = read(&dir.path().join("run/protocols.parquet"));
    let debt = f64s(&p, "debt_value");
    let util = f64s(&p, "utilisation");
    let rate = f64s(&p, "borrow_rate");
    let share = f64s(&p, "share_value");
    let cash = f64s(&p, "cash_value");
    let reserve = f64s(&p, "reserve_value");
    // The kinked curve of docs/model.md §11, written out here.
    let kinked = |u: f64| {
        if u <= 0.8 {
            0.01 + 0.04 * u / 0.8
        } else {
            0.01 + 0.04 + 3.0 * (u - 0.8) / (1.0 - 0.8)
        }
    };
    let dt = 1.0 / 8760.0;
    // Step 0: 8,500 borrowed of 10,050 (cash 1,550): utilisation 0.8458,
    // above the 0.8 kink.
    assert!((util[0] - 8500.0 / 10050.0).abs() < 1e-15);
    // No rate is applied in step 0 (interest accrues from step 1): §8
    // records 0 there, not the rate the utilisation implies.
    assert_eq!(rate[0], 0.0);
    let mut index = 1.0f64;
    for t in 1..debt.len() {
        // The rate of step t comes from the utilisation at the end of t − 1.
        let want = kinked(util[t - 1]);
        assert!(
            (rate[t] - want).abs() < 1e-15,
            "step {t}: rate {} vs {want}",
            rate[t]
        );
        index *= (want * dt).exp();
        assert!((debt[t] - 8500.0 * index).abs() < 1e-9, "step {t}");
        // Cash does not move without repayments; utilisation rises with debt.
        assert_eq!(cash[t], 1550.0);
        assert!((util[t] - debt[t] / (debt[t] + 1550.0)).abs() < 1e-12);
        // Balance sheet: cash + borrowed = supplier assets + reserve, with
        // supplier assets = share value × 10,000 shares (no redemption).
        assert!((cash[t] + debt[t] - share[t] * 10_000.0 - reserve[t]).abs() < 1e-9);
        // The reserve takes 20% of the interest, suppliers 80%.
        let interest = debt[t] - 8500.0;
        assert!((reserve[t] - 50.0 - 0.2 * interest).abs() < 1e-9);
        assert!((share[t] - 1.0 - 0.8 * interest / 10_000.0).abs() < 1e-12);
    }
    // Step 1 by hand: u = 8500/10050 = 0.845771, above the kink, so
    // 0.01 + 0.04 + 3·(0.845771 − 0.8)/0.2 = 0.736567.
    assert!(
        (rate[1] - 0.7365671641791044).abs() < 1e-12,
        "above the kink the slope is steep: {}",
        rate[1]
    );
}

#[test]
fn interest_alone_pushes_a_position_below_one() {
    // A flat 200% a year (base only) and a position at HF 1.001: with fixed
    // prices HF_t = 1.001 / exp(2·t/8760), below 1 first at
    // t > ln(1.001)·8760/2 = 4.38, i.e. at step 5.
    let text = edit(
        RATES,
        &[
            Edit::Set(
                "protocols.lend.supply.rate",
                val("{ base = 2.0, slope1 = 0.0, kink = 0.5, slope2 = 0.0 }"),
            ),
            // 10·2000·0.8/1.001
            Edit::Set("positions.0.debt", val("15984.015984015984")),
            Edit::Set("protocols.lend.supply.deposits", val("30000.0")),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&text, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let liq = read(&dir.path().join("run/liquidations.parquet"));
    let steps = u32s(&liq, "step");
    assert_eq!(steps[0], 5, "{steps:?}");
    let hf = f64s(&liq, "health_factor")[0];
    let want = 1.001 / (2.0 * 5.0 / 8760.0f64).exp();
    assert!((hf - want).abs() < 1e-12, "{hf} vs {want}");
    // It owed the grown debt: half of it was repaid.
    let repaid = f64s(&liq, "repaid")[0];
    assert!((repaid - 0.5 * 15984.015984015984 * (2.0 * 5.0 / 8760.0f64).exp()).abs() < 1e-6);
}

#[test]
fn bad_rate_models_are_rejected() {
    for (change, needle) in [
        (
            Edit::Set("protocols.lend.supply.rate.kink", val("1.0")),
            "protocols.lend.supply.rate.kink",
        ),
        (
            Edit::Set("protocols.lend.supply.rate.slope2", val("-1.0")),
            "protocols.lend.supply.rate.slope2",
        ),
        (
            Edit::Set("protocols.lend.supply.rate.reserve_factor", val("1.0")),
            "protocols.lend.supply.rate.reserve_factor",
        ),
        (
            Edit::Add("protocols.lend.supply.rate.slope3", val("1.0")),
            "unknown field `slope3`",
        ),
    ] {
        let text = edit(RATES, &[change]);
        let e = contagion::Scenario::from_toml(
            &text,
            "t.toml",
            std::path::Path::new("."),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(needle), "`{needle}` not in {e}");
    }
}
