//! Lender runs (docs/model.md §11, "Runs").

use contagion::Overrides;

use crate::common::*;

const RUN: &str = r#"
[simulation]
name = "run"
steps = 5
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
supply = { deposits = 10000.0 }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "lend"
debt = 8000.0
collateral = { ETH = 10.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[lenders]]
name = "whale"
protocol = "lend"
share = 0.5
trigger = { utilisation = 0.5 }

[[shocks]]
step = 3
asset = "ETH"
return = -0.55
"#;

/// By hand: 10,000 deposited, 8,000 lent, cash 2,000, utilisation 0.8.
/// Step 1: the whale (5,000 shares) runs and asks for 5,000 but gets the
/// 2,000 of cash: utilisation 100%, 3,000 shares left. Step 2: no cash,
/// nothing paid. Step 3: ETH −55%, HF = 10·900·0.8/8000 = 0.9: half the debt
/// (4,000) is repaid for 4.667 ETH; HF is then 2·0.9 − 0.8·1.05 = 0.96, so
/// round 1 repays another 2,000 (HF 1.08): cash 6,000. Step 4: the whale
/// gets its 3,000; utilisation 2,000 / (2,000 + 3,000) = 0.4.
#[test]
fn a_run_drains_cash_and_waits_for_repayments() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(RUN, &Overrides::default());
    run_into(&sc, dir.path(), "r", Some(1));
    let p = read(&dir.path().join("r/protocols.parquet"));
    assert_eq!(
        f64s(&p, "withdrawn_value"),
        [0.0, 2000.0, 0.0, 0.0, 3000.0, 0.0]
    );
    assert_eq!(
        f64s(&p, "cash_value"),
        [2000.0, 0.0, 0.0, 6000.0, 3000.0, 3000.0]
    );
    let u = f64s(&p, "utilisation");
    assert_eq!(u[1], 1.0);
    assert!((u[4] - 0.4).abs() < 1e-15);
    // Redemptions at par leave the share value alone.
    assert!(f64s(&p, "share_value").iter().all(|&v| v == 1.0));
}

#[test]
fn drawdown_and_peer_triggers_fire_after_a_loss() {
    // The two-market case of tests/it/contagion.rs: lend-a takes 847.62 USD
    // of bad debt in step 1 and its share value falls to 0.9252381.
    let text = edit(
        crate::contagion::TWO_MARKETS,
        &[
            Edit::Set("simulation.steps", val("3")),
            Edit::Push(
                "lenders",
                table(
                    r#"
name = "a-lender"
protocol = "lend-a"
share = 0.2
trigger = { share_value_drawdown = 0.05 }
"#,
                ),
            ),
            Edit::Push(
                "lenders",
                table(
                    r#"
name = "b-lender"
protocol = "lend-b"
share = 0.1
trigger = { peer = "lend-a", peer_bad_debt_usd = 500.0 }
"#,
                ),
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&text, &Overrides::default());
    run_into(&sc, dir.path(), "r", Some(1));
    let p = read(&dir.path().join("r/protocols.parquet"));
    let names = strs(&p, "protocol");
    let w = f64s(&p, "withdrawn_value");
    let a: Vec<f64> = (0..p.height())
        .filter(|&i| names[i] == "lend-a")
        .map(|i| w[i])
        .collect();
    let b: Vec<f64> = (0..p.height())
        .filter(|&i| names[i] == "lend-b")
        .map(|i| w[i])
        .collect();
    // Nothing fires before the loss; in step 2 the A lender redeems its 2,000
    // shares at 0.9252381 and the B lender its 2,000 at 1.0.
    assert_eq!(a[1], 0.0);
    assert!((a[2] - 2000.0 * 0.9252380952380952).abs() < 1e-9, "{a:?}");
    assert_eq!(a[3], 0.0, "all its shares are gone");
    assert_eq!(b[..2], [0.0, 0.0]);
    assert_eq!(b[2], 2000.0);
}

#[test]
fn lenders_are_validated() {
    for (path, to, needle) in [
        ("lenders.whale.share", "1.5", "lenders.whale.share"),
        (
            "lenders.whale.trigger",
            "{}",
            "lenders.whale.trigger: names no signal",
        ),
        (
            "lenders.whale.trigger",
            "{ peer = \"lend\" }",
            "go together",
        ),
        (
            "lenders.whale.protocol",
            "\"lent\"",
            "unknown protocol `lent`",
        ),
    ] {
        let e = contagion::Scenario::from_toml(
            &edit(RUN, &[Edit::Set(path, val(to))]),
            "t.toml",
            std::path::Path::new("."),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(needle), "`{needle}` not in {e}");
    }
}

/// §11: a redemption leaves the share value unchanged, the last one
/// included, and with no share outstanding the interest goes to the
/// reserve. The whale holds every share and redeems them all at step 2
/// (cash 14,000 covers them). Before that the reserve takes the reserve
/// factor's 20% of each step's interest; after it, all of it, and the
/// share value stays where the last redemption left it (it read 0).
#[test]
fn the_last_redemption_leaves_the_share_value_and_interest_goes_to_the_reserve() {
    let text = edit(
        RUN,
        &[
            Edit::Add("protocols.lend.supply.reserve_fund", val("5000.0")),
            Edit::Add(
                "protocols.lend.supply.rate",
                val("{ base = 0.5, slope1 = 0.1, kink = 0.8, slope2 = 1.0, reserve_factor = 0.2 }"),
            ),
            Edit::Set("positions.0.debt", val("1000.0")),
            Edit::Set("lenders.whale.share", val("1.0")),
            Edit::Set("lenders.whale.trigger", val("{ at_step = 2 }")),
            Edit::Set("shocks.ETH.return", val("0.0")),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&text, &Overrides::default());
    run_into(&sc, dir.path(), "r", Some(1));
    let p = read(&dir.path().join("r/protocols.parquet"));
    let (v, w) = (f64s(&p, "share_value"), f64s(&p, "withdrawn_value"));
    let (debt, reserve, cash) = (
        f64s(&p, "debt_value"),
        f64s(&p, "reserve_value"),
        f64s(&p, "cash_value"),
    );
    assert!(v[1] > 1.0 && v[2] > v[1], "interest raised it: {v:?}");
    assert!(
        close(w[2], 10_000.0 * v[2]),
        "all shares at {}: {}",
        v[2],
        w[2]
    );
    for t in 3..v.len() {
        assert_eq!(v[t], v[2], "step {t}");
    }
    for t in 1..v.len() {
        let interest = debt[t] - debt[t - 1];
        assert!(interest > 0.0);
        let share = if t <= 2 { 0.2 } else { 1.0 };
        assert!(
            (reserve[t] - reserve[t - 1] - share * interest).abs() < 1e-9,
            "step {t}: reserve +{} of interest {interest}",
            reserve[t] - reserve[t - 1]
        );
    }
    // C + B = A + R with A = 0 once everything is redeemed.
    for t in 2..v.len() {
        assert!((cash[t] + debt[t] - reserve[t]).abs() < 1e-9, "step {t}");
    }
}

/// `withdrawn_value` of the `eth-lend` market at each step of run `r`.
fn eth_withdrawn(dir: &std::path::Path) -> Vec<Option<f64>> {
    let p = read(&dir.join("r/protocols.parquet"));
    let names = strs(&p, "protocol");
    let w = f64_opts(&p, "withdrawn_value");
    (0..p.height())
        .filter(|&r| names[r] == "eth-lend")
        .map(|r| w[r])
        .collect()
}

/// An ETH market whose lender runs at step 1, and a USDC market whose
/// ETH-backed position is liquidated in the same step.
const FLOW: &str = r#"
[simulation]
name = "flow"
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

[[protocols]]
name = "eth-lend"
kind = "lending"
debt_asset = "ETH"
oracle = { source = "pool" }
supply = { deposits = 100.0 }

[[protocols.collateral]]
asset = "USDC"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[protocols]]
name = "usdc-lend"
kind = "lending"
debt_asset = "USDC"
oracle = { source = "pool" }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "usdc-lend"
debt = 15000.0
collateral = { ETH = 10.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[lenders]]
name = "whale"
protocol = "eth-lend"
share = 0.5
trigger = { at_step = 1 }

[[shocks]]
step = 1
asset = "ETH"
return = -0.3
"#;

/// Flows are valued at the price when they happen (§8): a lender's
/// withdrawal at stage 3 at the oracle price then. The whale redeems 50 of
/// an ETH market's 100 ETH at step 1, after ETH has fallen 30% and
/// arbitrage has taken the pool to 1,400: 70,000 USD. A USDC market's
/// liquidation then sells ETH into the pool, so the step ends below 1,400
/// (the pool-read oracle's end-of-step price would value it lower).
#[test]
fn a_withdrawal_is_valued_at_the_oracle_price_when_it_happens() {
    let text = FLOW;
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(text, &Overrides::default());
    run_into(&sc, dir.path(), "r", Some(1));
    let eth = eth_withdrawn(dir.path());
    assert!(close(eth[1].unwrap(), 50.0 * 1400.0), "{:?}", eth);
    let m = read(&dir.path().join("r/market.parquet"));
    let pool = rows_of(&m, 0, "asset", "ETH", "pool_price");
    assert!(
        pool[1] < 1400.0 * 0.99,
        "the liquidation moved the pool: {}",
        pool[1]
    );
}

/// A lagged pool oracle values a withdrawal at the pool price of k steps
/// before (§4, §8), not the fundamental's. The same market with
/// `lag_steps = 1` and the whale running at step 2: its 50 ETH are valued
/// at the pool's end-of-step-1 price, which the liquidation took below
/// the fundamental (1,400, no impact persistence).
#[test]
fn a_lagged_pool_oracle_values_a_withdrawal_at_the_pool_price_it_reads() {
    let text = edit(
        FLOW,
        &[
            Edit::Set(
                "protocols.eth-lend.oracle",
                val("{ source = \"pool\", lag_steps = 1 }"),
            ),
            Edit::Set("lenders.whale.trigger", val("{ at_step = 2 }")),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&text, &Overrides::default());
    run_into(&sc, dir.path(), "r", Some(1));
    let m = read(&dir.path().join("r/market.parquet"));
    let pool = rows_of(&m, 0, "asset", "ETH", "pool_price");
    let fundamental = rows_of(&m, 0, "asset", "ETH", "fundamental");
    assert!(close(fundamental[1], 1400.0));
    assert!(pool[1] < 1400.0 * 0.99, "{}", pool[1]);
    let eth = eth_withdrawn(dir.path());
    assert_eq!(eth[1], Some(0.0), "nothing withdrawn before the trigger");
    assert!(
        close(eth[2].unwrap(), 50.0 * pool[1]),
        "{:?} vs {}",
        eth,
        50.0 * pool[1]
    );
}
