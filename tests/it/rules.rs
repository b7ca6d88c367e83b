//! Rules of docs/model.md §4, §5 and §10, each on a scenario small enough
//! to work out by hand. Every expected number below is derived in the
//! comment above it from the formulas of the model page, not from the
//! engine's own helpers.
//!
//! Unless said otherwise: ETH at 1,000 and USD at 1, both fixed; LT 0.8,
//! LB 0.1, close factor 0.5; no gas.

use contagion::Overrides;
use polars::prelude::DataFrame;

use crate::common::*;

/// A one-market world with the given extra lines: `{pool}` for the
/// `[[pools]]` block (or nothing), `{oracle}` for the oracle, `{rest}` for
/// positions, liquidators and shocks.
fn world(steps: u32, pool: &str, oracle: &str, extra_protocol: &str, rest: &str) -> String {
    format!(
        r#"
[simulation]
name = "rules"
steps = {steps}
paths = 1

[[assets]]
symbol = "ETH"
price = 1000.0

[[assets]]
symbol = "BTC"
price = 1000.0

[[assets]]
symbol = "USD"
price = 1.0
{pool}
[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USD"
close_factor = 0.5
full_liquidation_hf = 0.9
oracle = {oracle}

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.1
max_ltv = 0.7

[[protocols.collateral]]
asset = "BTC"
liquidation_threshold = 0.8
liquidation_bonus = 0.1
max_ltv = 0.7
{extra_protocol}
{rest}
"#
    )
}

const ETH_POOL: &str = r#"
[[pools]]
base = "ETH"
quote = "USD"
base_reserve = 100.0
fee = 0.0
impact_persistence = 0.0
"#;

const FUNDAMENTAL: &str = r#"{ source = "fundamental" }"#;
const POOL_NOW: &str = r#"{ source = "pool", lag_steps = 0 }"#;

fn run_text(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(text, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let out = dir.path().join("run");
    (dir, out)
}

fn positions(liq: &DataFrame) -> Vec<i64> {
    i64s(liq, "position")
}

fn assert_close(what: &str, got: f64, want: f64) {
    assert!(close(got, want), "{what}: got {got}, want {want}");
}

/// Two identical positions (10 ETH, 7,600 USD) tie on HF after a −10% move
/// (HF = 10·900·0.8/7600 = 0.947368 each). Liquidators in scenario order:
/// `small` with 5,000 USD, then `big` (unlimited). No pool: seized ETH is
/// kept, so capital only falls.
///
/// §5: ties go by ascending id, so position 0 comes first; `small` can pay
/// R = 3,800 and does (capital 5,000 → 1,200). Position 1 also needs 3,800:
/// `small` now has 1,200 < 3,800, so the next liquidator in order, `big`,
/// takes it. Round 1: each has 10 − 3800·1.1/900 = 5.7778 ETH against 3,800,
/// HF = 1.0947: nothing more.
#[test]
fn ties_go_by_id_and_a_liquidator_pays_from_its_capital() {
    let rest = r#"
[[positions]]
protocol = "lend"
debt = 7600.0
collateral = { ETH = 10.0 }

[[positions]]
protocol = "lend"
debt = 7600.0
collateral = { ETH = 10.0 }

[[liquidators]]
name = "small"
capital = 5000.0

[[liquidators]]
name = "big"
capital = "unlimited"

[[shocks]]
step = 1
asset = "ETH"
return = -0.1
"#;
    let (_d, out) = run_text(&world(1, "", FUNDAMENTAL, "", rest));
    let liq = read(&out.join("liquidations.parquet"));
    let pairs: Vec<(i64, String)> = positions(&liq)
        .into_iter()
        .zip(strs(&liq, "liquidator"))
        .collect();
    assert_eq!(
        pairs,
        [(0, "small".to_string()), (1, "big".to_string())],
        "position 0 first (ascending id); small cannot pay twice"
    );
    for r in f64s(&liq, "repaid") {
        assert_close("repaid", r, 3800.0);
    }
    assert_eq!(i64s(&liq, "round"), [0, 0]);
}

/// The same pair, but `small` alone with 5,000 of capital: it liquidates
/// position 0 and then cannot pay for position 1 (1,200 left), which waits
/// for a liquidator that never comes. The step's insolvent debt is 0 (both
/// are over-collateralised), position 1's debt stays 7,600.
#[test]
fn a_position_no_liquidator_can_pay_for_waits() {
    let rest = r#"
[[positions]]
protocol = "lend"
debt = 7600.0
collateral = { ETH = 10.0 }

[[positions]]
protocol = "lend"
debt = 7600.0
collateral = { ETH = 10.0 }

[[liquidators]]
name = "small"
capital = 5000.0

[[shocks]]
step = 1
asset = "ETH"
return = -0.1
"#;
    let (_d, out) = run_text(&world(2, "", FUNDAMENTAL, "", rest));
    let liq = read(&out.join("liquidations.parquet"));
    assert_eq!(positions(&liq), [0]);
    let p = read(&out.join("protocols.parquet"));
    // Debt at the end of steps 0, 1, 2: 15,200, then 3,800 + 7,600.
    let debt = f64s(&p, "debt_value");
    assert_eq!(debt.len(), 3);
    assert_close("debt step 0", debt[0], 15_200.0);
    assert_close("debt step 1", debt[1], 11_400.0);
    assert_close("debt step 2", debt[2], 11_400.0);
}

/// `min_profit` inside the engine, and a position that waits one round.
///
/// Pool 100 ETH / 100,000 USD, no fee, read at its spot (lag 0). One
/// liquidator, unlimited, `min_profit = 100`. Position 0: 10 ETH, 7,600;
/// position 1: 2 ETH, 1,500. ETH falls 10%: arbitrage takes the pool to
/// x = sqrt(10⁷/900) = 105.409255.
///
/// Round 0 at 900: position 0, HF 0.947368, CF 0.5: R = 3,800, profit
/// R·LB = 380 ≥ 100: liquidated, 4.644444 ETH sold into the pool, whose
/// price falls to 10⁷/(x + 4.644444)² = 825.639963. Position 1, HF =
/// 2·900·0.8/1500 = 0.96 ≥ 0.9, CF 0.5: R = 750, profit 75 < 100: no
/// liquidator, it waits.
/// Round 1 at 825.639963: position 1, HF = 2·825.64·0.8/1500 = 0.880683 <
/// 0.9, so CF 1: R = 1,500, s = 1650/825.639963 = 1.998450 ETH (< 2, not
/// capped), profit 150 ≥ 100: liquidated now, and first (lowest HF);
/// position 0 (HF 0.930897) after it.
#[test]
fn min_profit_makes_a_position_wait_for_a_later_round() {
    let rest = r#"
[[positions]]
protocol = "lend"
debt = 7600.0
collateral = { ETH = 10.0 }

[[positions]]
protocol = "lend"
debt = 1500.0
collateral = { ETH = 2.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"
min_profit = 100.0

[[shocks]]
step = 1
asset = "ETH"
return = -0.1
"#;
    let (_d, out) = run_text(&world(1, ETH_POOL, POOL_NOW, "", rest));
    let liq = read(&out.join("liquidations.parquet"));
    let (pos, round) = (positions(&liq), i64s(&liq, "round"));
    assert_eq!(&pos[..3], [0, 1, 0]);
    assert_eq!(&round[..3], [0, 1, 1]);
    let (hf, repaid, seized) = (
        f64s(&liq, "health_factor"),
        f64s(&liq, "repaid"),
        f64s(&liq, "seized"),
    );
    assert_close("hf 0", hf[0], 0.9473684210526315);
    assert_close("R 0", repaid[0], 3800.0);
    assert_close("hf 1", hf[1], 0.8806826268170577);
    assert_close("R 1", repaid[1], 1500.0);
    assert_close("s 1", seized[1], 1.9984497779420842);
    assert_close("oracle 1", f64s(&liq, "oracle_price")[1], 825.6399626409915);
    assert_eq!(pos.iter().filter(|&&p| p == 1).count(), 1);
}

/// Bad debt needs every collateral entry empty (§5 step 7).
///
/// One position: 10 ETH and 1 BTC (both 1,000 at first), debt 9,000. ETH
/// falls 50%: ETH worth 5,000, BTC 1,000, HF = 6000·0.8/9000 = 0.533 < 0.9,
/// so CF 1 and R = 9,000.
/// Round 0: the largest collateral is ETH; s = 9900/500 = 19.8 > 10, so the
/// seizure is capped: s = 10, R = 10·500/1.1 = 4,545.4545. ETH is now empty
/// but 1 BTC is left: no bad debt yet; 4,454.5455 is still owed.
/// Round 1: HF = 1000·0.8/4454.5455 = 0.1796, CF 1; s = 4900/1000 = 4.9 > 1
/// BTC: capped, R = 1000/1.1 = 909.0909, and with nothing left the rest,
/// 4,454.5455 − 909.0909 = 3,545.4545, is bad debt.
#[test]
fn bad_debt_waits_until_every_collateral_entry_is_empty() {
    let rest = r#"
[[positions]]
protocol = "lend"
debt = 9000.0
collateral = { ETH = 10.0, BTC = 1.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "ETH"
return = -0.5
"#;
    let (_d, out) = run_text(&world(1, "", FUNDAMENTAL, "", rest));
    let liq = read(&out.join("liquidations.parquet"));
    assert_eq!(strs(&liq, "asset"), ["ETH", "BTC"]);
    assert_eq!(i64s(&liq, "round"), [0, 1]);
    let (repaid, seized, bad) = (
        f64s(&liq, "repaid"),
        f64s(&liq, "seized"),
        f64s(&liq, "bad_debt"),
    );
    assert_close("R 0", repaid[0], 4545.454545454545);
    assert_close("s 0", seized[0], 10.0);
    assert_eq!(bad[0], 0.0, "1 BTC is left: no bad debt yet");
    assert_close("R 1", repaid[1], 909.090909090909);
    assert_close("s 1", seized[1], 1.0);
    assert_close("bad 1", bad[1], 3545.454545454546);
    let paths = read(&out.join("paths.parquet"));
    assert_close(
        "paths.bad_debt",
        f64s(&paths, "bad_debt")[0],
        3545.454545454546,
    );
}

/// Insolvent debt (§5) is a sum over positions of `max(0, d·p_d − Σ c·p)`,
/// not the protocol's net shortfall. Nobody liquidates (`min_profit` out
/// of reach). ETH falls 20% to 800: position 0 (10 ETH, 9,000) is 1,000
/// short; position 1 (10 ETH, 7,000, HF 0.914) has 1,000 to spare, which
/// does not offset position 0. Insolvent debt is 1,000 at step 1 and in the
/// paths table (last step); 0 at step 0.
#[test]
fn insolvent_debt_sums_each_positions_shortfall() {
    let rest = r#"
[[positions]]
protocol = "lend"
debt = 9000.0
collateral = { ETH = 10.0 }

[[positions]]
protocol = "lend"
debt = 7000.0
collateral = { ETH = 10.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"
min_profit = 1.0e12

[[shocks]]
step = 1
asset = "ETH"
return = -0.2
"#;
    let (_d, out) = run_text(&world(1, "", FUNDAMENTAL, "", rest));
    let p = read(&out.join("protocols.parquet"));
    let insolvent = f64s(&p, "insolvent_debt");
    assert_eq!(insolvent[0], 0.0);
    assert_close("insolvent step 1", insolvent[1], 1000.0);
    assert_eq!(i64s(&p, "liquidations"), [0, 0]);
    let paths = read(&out.join("paths.parquet"));
    assert_close("paths", f64s(&paths, "insolvent_debt")[0], 1000.0);
}

/// A pool oracle with lag 1 reads the pool's price at the end of the
/// previous step, and the pool's fee applies to the liquidator's sale.
///
/// Pool 100 ETH / 100,000 USD with fee φ = 0.003, no persistence. Market
/// `lend` reads the pool now; market `late` reads it with lag 1.
/// Step 1: ETH −10%; arbitrage (no fee: along the curve) to x =
/// 105.409255, y = 94,868.329805. `lend`'s position 0 (10 ETH, 7,300): HF
/// 0.986301, R = 3,650, s = 4.461111 ETH. Sale with fee (§3): out =
/// y·s(1−φ)/(x + s(1−φ)) = 3,840.889252 USD, the liquidator's proceeds;
/// x → x + s, y → y − out: spot 828.498561. Position 0 then has HF 1.0058:
/// one round. `late`'s position 1 (10 ETH, 7,000) reads the end of step 0
/// (1,000): HF 1.1429, safe.
/// Step 2: the pool is arbitraged back to 900 (ρ = 0). `late` reads the
/// end of step 1, 828.498561: HF = 10·828.4986·0.8/7000 = 0.946855 < 1 —
/// at the fundamental (900) it would be 1.0286 and safe. R = 3,500,
/// s = 3850/828.498561 = 4.646960 ETH.
#[test]
fn a_lagged_pool_oracle_reads_last_steps_pool_and_sales_pay_the_fee() {
    let late = r#"
[[protocols]]
name = "late"
kind = "lending"
debt_asset = "USD"
oracle = { source = "pool", lag_steps = 1 }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.1
max_ltv = 0.7
"#;
    let rest = r#"
[[positions]]
protocol = "lend"
debt = 7300.0
collateral = { ETH = 10.0 }

[[positions]]
protocol = "late"
debt = 7000.0
collateral = { ETH = 10.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "ETH"
return = -0.1
"#;
    let text = edit(
        &world(2, ETH_POOL, POOL_NOW, late, rest),
        &[Edit::Set("pools.ETH.fee", val("0.003"))],
    );
    let (_d, out) = run_text(&text);
    let liq = read(&out.join("liquidations.parquet"));
    assert_eq!(positions(&liq), [0, 1]);
    assert_eq!(i64s(&liq, "step"), [1, 2]);
    assert_eq!(strs(&liq, "protocol"), ["lend", "late"]);
    let (oracle, seized, proceeds) = (
        f64s(&liq, "oracle_price"),
        f64s(&liq, "seized"),
        f64s(&liq, "proceeds_value"),
    );
    assert_close("lend's oracle", oracle[0], 900.0);
    assert_close("s 0", seized[0], 4.461111111111111);
    assert_close("proceeds after fee", proceeds[0], 3840.8892519557676);
    assert_close("late's lagged oracle", oracle[1], 828.4985614794799);
    assert_close(
        "late's HF",
        f64s(&liq, "health_factor")[1],
        0.9468554988336915,
    );
    assert_close("s 1", seized[1], 4.646960391970888);

    let m = read(&out.join("market.parquet"));
    let pool_price = f64_opts(&m, "pool_price");
    let (asset, step) = (strs(&m, "asset"), i64s(&m, "step"));
    let eth1 = (0..m.height())
        .find(|&r| asset[r] == "ETH" && step[r] == 1)
        .unwrap();
    assert_close(
        "pool at end of step 1",
        pool_price[eth1].unwrap(),
        828.4985614794799,
    );
}

/// The cascade cap (§1.4, §10). The hand-worked cascade of hand_cascade.rs
/// has three rounds with liquidations in step 1 (then a quiet fourth) and
/// one in step 2. With `max_cascade_rounds = 3` step 1 used every allowed
/// round: capped, and the run is otherwise unchanged. With 4, the fourth
/// round found nothing: not capped.
#[test]
fn the_cascade_cap_is_recorded_when_every_allowed_round_liquidated() {
    let capped_at = |cap: i64| {
        edit(
            crate::hand_cascade::HAND,
            &[Edit::Add("simulation.max_cascade_rounds", cap.into())],
        )
    };
    for (cap, capped, capped_steps) in [(3, [false, true, false], 1), (4, [false, false, false], 0)]
    {
        let text = capped_at(cap);
        let (_d, out) = run_text(&text);
        let p = read(&out.join("protocols.parquet"));
        assert_eq!(i64s(&p, "cascade_rounds"), [0, 3, 1], "cap {cap}");
        let got: Vec<bool> = p
            .column("cascade_capped")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .map(Option::unwrap)
            .collect();
        assert_eq!(got, capped, "cap {cap}");
        let paths = read(&out.join("paths.parquet"));
        assert_eq!(i64s(&paths, "capped_steps"), [capped_steps], "cap {cap}");
        assert_close("bad debt", f64s(&paths, "bad_debt")[0], 32.37870376412479);
    }
    // With 2 rounds the cap stops step 1 before position 0's last
    // liquidation: 3 liquidations in step 1 (round 0: 0; round 1: 0, 1).
    let text = capped_at(2);
    let (_d, out) = run_text(&text);
    let liq = read(&out.join("liquidations.parquet"));
    let steps = i64s(&liq, "step");
    assert_eq!(steps.iter().filter(|&&s| s == 1).count(), 3);
    let p = read(&out.join("protocols.parquet"));
    assert_eq!(i64s(&p, "cascade_rounds")[1], 2);
}

/// `record_every = 2` on the hand-worked cascade (§10): rows for steps 0
/// and 2 only; step 2's row holds step 2's flows (one liquidation, 750
/// repaid, no bad debt), not the sum since step 0; `bad_debt_cum` still
/// counts step 1's 32.3787; every liquidation row is kept (six).
#[test]
fn record_every_keeps_each_recorded_steps_own_flows() {
    let text = edit(
        crate::hand_cascade::HAND,
        &[Edit::Add("simulation.record_every", val("2"))],
    );
    let (_d, out) = run_text(&text);
    let p = read(&out.join("protocols.parquet"));
    assert_eq!(i64s(&p, "step"), [0, 2]);
    assert_eq!(i64s(&p, "liquidations"), [0, 1]);
    assert_eq!(i64s(&p, "cascade_rounds"), [0, 1]);
    let repaid = f64s(&p, "repaid_value");
    assert_close("repaid step 2", repaid[1], 750.0);
    assert_eq!(f64s(&p, "bad_debt"), [0.0, 0.0]);
    let cum = f64s(&p, "bad_debt_cum");
    assert_close("bad_debt_cum", cum[1], 32.37870376412479);
    let m = read(&out.join("market.parquet"));
    assert_eq!(i64s(&m, "step"), [0, 0, 2, 2]);
    let liq = read(&out.join("liquidations.parquet"));
    assert_eq!(i64s(&liq, "step"), [1, 1, 1, 1, 1, 2]);
}

/// `max_drawdown` (§10) is the largest fall from a running peak of any
/// asset, not from the start or at the end. ETH: +50% (1,500), −40%
/// (900), +10% (990): worst fall 1 − 900/1500 = 0.4 (from the start it is
/// only 0.1, at the end 0.34). BTC: −10% at step 1, 0.1.
#[test]
fn max_drawdown_is_measured_from_the_running_peak() {
    let rest = r#"
[[positions]]
protocol = "lend"
debt = 100.0
collateral = { ETH = 1.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "ETH"
return = 0.5

[[shocks]]
step = 1
asset = "BTC"
return = -0.1

[[shocks]]
step = 2
asset = "ETH"
return = -0.4

[[shocks]]
step = 3
asset = "ETH"
return = 0.1
"#;
    let (_d, out) = run_text(&world(3, "", FUNDAMENTAL, "", rest));
    let paths = read(&out.join("paths.parquet"));
    assert_close("max_drawdown", f64s(&paths, "max_drawdown")[0], 0.4);
}

/// The NaN quarantine (§10): a shock of +10³⁰⁸ sends ETH's price to +∞ at
/// step 2; the run stops with an error naming path, step and quantity, and
/// leaves no output folder behind.
#[test]
fn a_non_finite_price_stops_the_run_and_keeps_no_output() {
    let rest = r#"
[[positions]]
protocol = "lend"
debt = 100.0
collateral = { ETH = 1.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"
"#;
    // Each shock is within its bound (a thousandfold rise), but together
    // they leave f64's range: 1000·1001^k passes f64::MAX (1.8e308) at
    // k = 102, since ln 1000 + 101·ln 1001 = 704.7 < 709.78 < 711.6.
    let shocks: String = (1..=105)
        .map(|t| format!("\n[[shocks]]\nstep = {t}\nasset = \"ETH\"\nreturn = 1000.0\n"))
        .collect();
    let rest = format!("{rest}{shocks}");
    let sc = scenario(
        &world(110, "", FUNDAMENTAL, "", &rest),
        &Overrides::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let err = run_error(&sc, dir.path());
    assert!(
        err.contains("path 0, step 102: fundamental price of ETH is inf"),
        "{err}"
    );
}

/// The quarantine also stops a price that reaches exactly 0 (only a
/// receipt token may be worth 0): falls of 99.9% a step take ETH from 2,000
/// to 2·10⁻³²¹ after 108 steps (subnormal, still positive) and to 0 at
/// step 109, where 2·10⁻³²⁴ rounds to zero.
#[test]
fn a_price_that_underflows_to_zero_stops_the_run() {
    let rest: String = (1..=112)
        .map(|t| format!("\n[[shocks]]\nstep = {t}\nasset = \"ETH\"\nreturn = -0.999\n"))
        .collect();
    let sc = scenario(
        &world(115, "", FUNDAMENTAL, "", &rest),
        &Overrides::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let err = run_error(&sc, dir.path());
    assert!(
        err.contains("path 0, step 109: fundamental price of ETH is 0"),
        "{err}"
    );
}

/// Generated positions (§10): with a fixed size V = 10,000 USD and HF
/// 1.25, collateral ETH at 2,000 and debt in EUR at 1.1, each position
/// holds c = V/2000 = 5 ETH and owes d = V·LT/(HF·p_d) = 10000·0.8/(1.25·1.1)
/// = 5,818.1818 EUR. Four of them: collateral 40,000 USD and debt
/// 4·5818.1818·1.1 = 25,600 USD at step 0. ETH −25%: every HF is
/// 1.25·0.75 = 0.9375; R = 2,909.0909 EUR, s = R·1.1·1.05/1500 = 2.24 ETH.
#[test]
fn generated_positions_follow_the_size_and_health_formulas() {
    let text = r#"
[simulation]
name = "generated"
steps = 1
paths = 1
seed = 9

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "EUR"
price = 1.1

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "EUR"
close_factor = 0.5

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[populations]]
protocol = "lend"
count = 4
collateral_asset = "ETH"
size_usd = { dist = "fixed", value = 10000.0 }
health_factor = { dist = "fixed", value = 1.25 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "ETH"
return = -0.25
"#;
    let (_d, out) = run_text(text);
    let p = read(&out.join("protocols.parquet"));
    assert_close("collateral", f64s(&p, "collateral_value")[0], 40_000.0);
    assert_close("debt", f64s(&p, "debt_value")[0], 25_600.0);
    let liq = read(&out.join("liquidations.parquet"));
    assert_eq!(positions(&liq), [0, 1, 2, 3]);
    for ((hf, r), s) in f64s(&liq, "health_factor")
        .into_iter()
        .zip(f64s(&liq, "repaid"))
        .zip(f64s(&liq, "seized"))
    {
        assert_close("hf", hf, 0.9375);
        assert_close("R", r, 2909.090909090909);
        assert_close("s", s, 2.24);
    }
}

/// The hedger's band (§14): it trades back to zero delta only when the
/// book's net delta is outside ±band. ETH is fixed at 2,000 and moves only
/// by shocks: −1% at step 1, −10% at step 2; the pool (100,000 ETH) is deep
/// enough that the hedge's own impact is small. The book is 100 short puts
/// at 2,000 (σ 80%, a day to expiry), so gamma·S is about 0.48 ETH per USD:
/// the −1% step moves the net delta by about 9.5 ETH, the −10% step by
/// far more than 20.
/// With a band of 20 the first step is inside the band (no trade, the
/// delta left where it is, clearly non-zero), the second outside (a trade,
/// and the delta back near zero). With a band of 5 the first step trades.
#[test]
fn the_hedger_trades_only_outside_its_band() {
    let text = |band: f64| {
        format!(
            r#"
[simulation]
name = "band"
steps = 2
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
base_reserve = 100000.0
fee = 0.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USD"

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[hedgers]]
name = "dealer"
asset = "ETH"
surface = {{ atm = 0.8 }}
band = {band:?}
options = [{{ kind = "put", strike = 2000.0, expiry_hours = 24.0, quantity = -100.0 }}]

[[shocks]]
step = 1
asset = "ETH"
return = -0.01

[[shocks]]
step = 2
asset = "ETH"
return = -0.1
"#
        )
    };
    let run = |band: f64| {
        let (_d, out) = run_text(&text(band));
        let g = read(&out.join("greeks.parquet"));
        (f64s(&g, "delta"), f64s(&g, "hedge_trade"))
    };
    let (delta, trade) = run(20.0);
    assert_eq!(delta.len(), 3);
    assert!(delta[0].abs() < 1e-9, "starts delta-neutral: {}", delta[0]);
    assert_eq!(trade[1], 0.0, "inside the band");
    assert!(
        delta[1].abs() > 5.0 && delta[1].abs() < 20.0,
        "{}",
        delta[1]
    );
    assert!(trade[2] != 0.0, "outside the band");
    assert!(delta[2].abs() < 1.0, "rehedged: {}", delta[2]);
    let (delta, trade) = run(5.0);
    assert!(trade[1] != 0.0, "a band of 5 trades at the first step");
    assert!(delta[1].abs() < 1.0, "{}", delta[1]);
}

/// Graph edges (§11): `pool_leg` (asset → pool, weight: the reserve of that
/// asset, which at the start is the base reserve's value on either leg) and
/// `pegged_to` (a pegged token → its underlying, weight: the pegged token's
/// value, its units in the book plus in pools). stETH at 1,960 pegged to
/// ETH; a stETH/ETH pool with 100 stETH (196,000 USD a leg); the book holds
/// 3 stETH. So: stETH → pool 196,000, ETH → pool 196,000, stETH → ETH
/// (100 + 3)·1,960 = 201,880.
#[test]
fn pool_legs_and_pegs_are_graph_edges() {
    let text = r#"
[simulation]
name = "edges"
steps = 1
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "stETH"
price = 1960.0
peg = { to = "ETH", ratio = 1.0 }

[[assets]]
symbol = "USD"
price = 1.0

[[pools]]
base = "stETH"
quote = "ETH"
base_reserve = 100.0
fee = 0.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USD"

[[protocols.collateral]]
asset = "stETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[positions]]
protocol = "lend"
debt = 1000.0
collateral = { stETH = 3.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"
"#;
    let (_d, out) = run_text(text);
    let e = read(&out.join("graph_edges.parquet"));
    let (src, dst, kind, w) = (
        strs(&e, "source"),
        strs(&e, "target"),
        strs(&e, "kind"),
        f64s(&e, "weight_usd"),
    );
    let find = |k: &str, s: &str| -> (String, f64) {
        let r = (0..e.height())
            .find(|&r| kind[r] == k && src[r] == s)
            .unwrap_or_else(|| panic!("no {k} edge from {s}: {kind:?} {src:?}"));
        (dst[r].clone(), w[r])
    };
    let (pool, w_steth) = find("pool_leg", "stETH");
    assert_close("stETH leg", w_steth, 196_000.0);
    let (pool2, w_eth) = find("pool_leg", "ETH");
    assert_eq!(pool, pool2, "both legs go to the same pool");
    assert_close("ETH leg", w_eth, 196_000.0);
    let (to, w_peg) = find("pegged_to", "stETH");
    assert_eq!(to, "ETH");
    assert_close("peg", w_peg, 201_880.0);
    assert_eq!(kind.iter().filter(|k| *k == "pool_leg").count(), 2);
}

/// An LP token's price (§12) is `2·sqrt(x·y·F_base·F_quote)/S`, so it
/// moves with the quote's price too. Pool ETH/EUR (EUR at 1.1), LP at 100,
/// so S = 2·100·2000/100 = 4,000 shares. EUR rises 10% at step 1 and ETH
/// does not move: arbitrage keeps k, F_base·F_quote grows by 1.1, and the
/// share price becomes 100·sqrt(1.1) = 104.880885. (Every other test
/// prices LP tokens against a quote worth 1, where `· F_quote` and
/// `/ F_quote` agree: cargo-mutants found that.)
#[test]
fn an_lp_token_moves_with_its_quote_assets_price() {
    let text = r#"
[simulation]
name = "lp-quote"
steps = 1
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "EUR"
price = 1.1

[[assets]]
symbol = "LP"
price = 100.0
lp_of = "ETH/EUR"

[[pools]]
base = "ETH"
quote = "EUR"
base_reserve = 100.0
fee = 0.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "EUR"

[[protocols.collateral]]
asset = "LP"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[positions]]
protocol = "lend"
debt = 100.0
collateral = { LP = 10.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "EUR"
return = 0.1
"#;
    let (_d, out) = run_text(text);
    let m = read(&out.join("market.parquet"));
    let (asset, f) = (strs(&m, "asset"), f64s(&m, "fundamental"));
    let lp: Vec<f64> = (0..m.height())
        .filter(|&r| asset[r] == "LP")
        .map(|r| f[r])
        .collect();
    assert_close("LP at step 0", lp[0], 100.0);
    assert_close("LP at step 1", lp[1], 104.88088481701516);
}
