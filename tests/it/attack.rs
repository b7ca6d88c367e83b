//! Oracle manipulation (docs/model.md §16): the attacker's plan against a
//! closed form, its refusals, the defences, and the shipped scenario's
//! claims.

use contagion::Overrides;
use contagion::engine::World;

use crate::common::run_path0 as run;
use crate::common::*;

/// MNGO at a fixed 0.04 with a deep main venue and a thin one (100M MNGO,
/// 4M USD a side, fee 0.3%); a market without a supply side whose direct
/// oracle reads the thin venue now. The attacker owns 100M MNGO (4M USD).
pub(crate) const PUSH: &str = r#"
[simulation]
name = "push"
steps = 6
paths = 1

[[assets]]
symbol = "MNGO"
price = 0.04

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "MNGO"
quote = "USDC"
base_reserve = 10000000000.0
fee = 0.003

[[pools]]
name = "MNGO thin"
base = "MNGO"
quote = "USDC"
base_reserve = 100000000.0
fee = 0.003
arbitrage_usd = 500000.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"
oracle = { venues = { MNGO = ["MNGO thin"] } }

[[protocols.collateral]]
asset = "MNGO"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[positions]]
protocol = "lend"
debt = 0.0
collateral = { MNGO = 100000000.0 }

[[liquidators]]
name = "keeper"
capital = "unlimited"

[[attackers]]
name = "pusher"
position = 0
venue = "MNGO thin"
capital_usd = 5000000.0
pumps = [1.5, 2.0, 3.0]
"#;

/// A constant-product purchase with fee, written here from the swap rule
/// of docs/model.md §3 (the quote paid for dx is the dy whose sale pays
/// dx): bisection on dx until the spot reaches `target`. Returns (dx, dy,
/// reserves after).
fn buy_to(x: f64, y: f64, fee: f64, target: f64) -> (f64, f64, f64, f64) {
    let after = |dx: f64| {
        let dy = y * dx / ((x - dx) * (1.0 - fee));
        (dy, x - dx, y + dy)
    };
    let (mut lo, mut hi) = (0.0, x);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let (_, x1, y1) = after(mid);
        if y1 / x1 < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let (dy, x1, y1) = after(lo);
    (lo, dy, x1, y1)
}

/// The best plan of PUSH by the pool formulas, with the venue and the
/// debt quoted in an asset worth `fq` USD (so the venue holds 4M/fq of
/// it): (profit, loan, pushed price in USD), all USD.
fn best_plan(fq: f64) -> (f64, f64, f64) {
    let (x, fee, f) = (1e8, 0.003, 0.04);
    let y = 4e6 / fq;
    let units = 1e8;
    let mut best = (f64::NEG_INFINITY, 0.0, 0.0);
    for m in [1.5, 2.0, 3.0] {
        let (dx, dy, x1, y1) = buy_to(x, y, fee, m * f / fq);
        if dy * fq > 5e6 {
            continue;
        }
        let price = y1 / x1 * fq;
        let loan = units * price * 0.7;
        let back = y1 * dx * (1.0 - fee) / (x1 + dx * (1.0 - fee)) * fq;
        let kept = units * f;
        let profit = loan - kept - (dy * fq - back);
        if profit > best.0 {
            best = (profit, loan, price);
        }
    }
    best
}

/// PUSH with the thin venue and the market's debt in EUR at 2 USD.
fn in_eur() -> String {
    edit(
        PUSH,
        &[
            Edit::Push("assets", table("symbol = \"EUR\"\nprice = 2.0")),
            Edit::Set("pools.MNGO thin.quote", val("\"EUR\"")),
            Edit::Set("protocols.lend.debt_asset", val("\"EUR\"")),
        ],
    )
}

/// Quoted in EUR at 2 USD, the attack's loan, profit and the push are the
/// same USD figures as the pool formulas give; and the attacker starts
/// exactly when its forecast profit is above `min_profit_usd`: a
/// threshold a thousandth of a dollar under the profit the formulas give
/// lets it attack, one a thousandth above stops it (with prices fixed the
/// forecast is exact).
#[test]
fn the_forecast_is_exact_with_fixed_prices_whatever_the_quote() {
    let (profit, loan, price) = best_plan(2.0);
    assert!((price - 0.12).abs() < 1e-9, "{price}");
    let rec = run(&in_eur());
    let s = &rec.summary;
    assert!((s.attack_borrowed.unwrap() - loan).abs() < 1e-6 * loan);
    assert!(
        (s.attack_pnl.unwrap() - profit).abs() < 1e-6,
        "{:?} vs {profit}",
        s.attack_pnl
    );
    // Liquidated at once, what the collateral does not cover is written
    // off in EUR and counted in USD: more than the loan less the
    // collateral's value near F, less than the loan.
    let bad = s.attack_bad_debt.unwrap();
    assert!(bad > loan - 1e8 * 0.0401 && bad < loan, "{bad} vs {loan}");
    // Nobody liquidating, the loan (owed in EUR, valued in USD) stays:
    // its bad debt is the loan less the collateral's 4M.
    let stuck = edit(
        &in_eur(),
        &[Edit::Set("liquidators.keeper.capital", val("0.0"))],
    );
    let bad = run(&stuck).summary.attack_bad_debt.unwrap();
    assert!((bad - (loan - 4e6)).abs() < 1e-6 * loan, "{bad}");
    for (threshold, attacks) in [(profit - 1e-3, true), (profit + 1e-3, false)] {
        let text = edit(
            &in_eur(),
            &[Edit::Add(
                "attackers.pusher.min_profit_usd",
                threshold.into(),
            )],
        );
        let borrowed = run(&text).summary.attack_borrowed.unwrap();
        assert_eq!(borrowed > 0.0, attacks, "threshold {threshold}");
    }
}

/// With prices fixed and an oracle that reads the venue now, the best plan
/// is to push and borrow in the same step (holding only pays arbitrage),
/// at the largest pump that pays most; its loan, profit and cost follow
/// from the pool formulas.
#[test]
fn the_attack_matches_its_closed_form() {
    let rec = run(PUSH);
    let s = &rec.summary;
    let (x, y, fee, f) = (1e8, 4e6, 0.003, 0.04);
    let units = 1e8;
    let mut best = (f64::NEG_INFINITY, 0.0, 0.0);
    for m in [1.5, 2.0, 3.0] {
        let (dx, dy, x1, y1) = buy_to(x, y, fee, m * f);
        if dy > 5e6 {
            continue;
        }
        let loan = units * (y1 / x1) * 0.7;
        let back = y1 * dx * (1.0 - fee) / (x1 + dx * (1.0 - fee));
        let kept = units * f;
        let profit = loan - kept - (dy - back);
        if profit > best.0 {
            best = (profit, loan, y1 / x1);
        }
    }
    // ×3 costs y·(√3 − 1) ≈ 2.9M (under 5M) and pays most.
    assert!((best.2 - 0.12).abs() < 1e-9, "{best:?}");
    let borrowed = s.attack_borrowed.unwrap();
    let pnl = s.attack_pnl.unwrap();
    assert!(
        (borrowed - best.1).abs() < 1e-6 * best.1,
        "{borrowed} vs {}",
        best.1
    );
    assert!((pnl - best.0).abs() < 1e-6 * best.1, "{pnl} vs {}", best.0);
    // The loan (8.4M against 4M of MNGO) is liquidated at once, the venue
    // being back near 0.04 after the sale, and what the collateral cannot
    // cover is bad debt: at least the loan less the collateral's value.
    let bad = s.attack_bad_debt.unwrap();
    assert!(bad > borrowed - units * 0.0401 && bad < borrowed, "{bad}");
    assert!(s.liquidations > 0);
    assert_eq!(rec.liquidations.step[0], 1);
}

/// No plan is affordable, or none beats the profit asked: no attack, and
/// every outcome is zero (not missing).
#[test]
fn an_attack_that_does_not_pay_or_cannot_be_paid_for_is_not_made() {
    for edit_ in [
        Edit::Set("attackers.pusher.capital_usd", val("100000.0")),
        Edit::Add("attackers.pusher.min_profit_usd", val("1e9")),
    ] {
        let rec = run(&edit(PUSH, &[edit_]));
        let s = &rec.summary;
        assert_eq!(
            (s.attack_pnl, s.attack_borrowed, s.attack_bad_debt),
            (Some(0.0), Some(0.0), Some(0.0))
        );
        assert_eq!(s.liquidations, 0);
    }
    // Without attackers the outcomes are missing.
    let mut plain: toml::Value = toml::from_str(PUSH).unwrap();
    plain.as_table_mut().unwrap().remove("attackers");
    let rec = run(&toml::to_string(&plain).unwrap());
    assert_eq!(rec.summary.attack_pnl, None);
}

/// Defences on the same paths: a median of the thin venue, the main venue
/// and the fundamental, or a guard that pauses the market when its price
/// leaves the fundamental by 20%, leaves the attack nothing to gain.
#[test]
fn a_median_or_a_guard_stops_the_attack() {
    let defended = [
        Edit::Set(
            "protocols.lend.oracle",
            val(r#"{ venues = { MNGO = ["MNGO thin", "MNGO/USDC", "fundamental"] } }"#),
        ),
        Edit::Set(
            "protocols.lend.oracle",
            val(
                r#"{ kind = "push", deviation = 0.0, venues = { MNGO = ["MNGO thin"] }, guard = { max_deviation = 0.2 } }"#,
            ),
        ),
    ];
    for d in defended {
        let rec = run(&edit(PUSH, &[d]));
        assert_eq!(rec.summary.attack_borrowed, Some(0.0));
        assert_eq!(rec.summary.attack_bad_debt, Some(0.0));
    }
}

/// A TWAP makes the attacker hold the venue: with a one-step window it
/// pushes at step 1 and borrows at step 2, once the TWAP holds step 1's
/// pushed price.
#[test]
fn a_twap_makes_the_attacker_hold_the_venue_for_its_window() {
    let text = edit(
        PUSH,
        &[Edit::Set(
            "protocols.lend.oracle",
            val(r#"{ kind = "twap", window_hours = 1.0, venues = { MNGO = ["MNGO thin"] } }"#),
        )],
    );
    let rec = run(&text);
    let o = &rec.oracles;
    let mngo: Vec<f64> = (0..o.step.len())
        .filter(|&i| o.asset[i] == 0)
        .map(|i| o.oracle_price[i])
        .collect();
    // The TWAP during step 2 is step 1's end price, the pushed 0.12; at
    // step 1 it still shows step 0's 0.04.
    assert!((mngo[1] - 0.04).abs() < 1e-12, "{mngo:?}");
    assert!((mngo[2] - 0.12).abs() < 1e-9, "{mngo:?}");
    assert!(rec.summary.attack_borrowed.unwrap() > 0.0);
    // Liquidated only once the TWAP has come down: not in step 2.
    assert!(rec.liquidations.step.iter().all(|&t| t >= 3));
}

#[test]
fn attackers_are_validated() {
    // Defaults: hold up to 24 steps, pumps 1.25 to 10, from step 1.
    let mut plain: toml::Value = toml::from_str(PUSH).unwrap();
    let a = plain["attackers"][0].as_table_mut().unwrap();
    a.remove("pumps");
    let sc = scenario(&toml::to_string(&plain).unwrap(), &Overrides::default());
    let spec = &sc.attackers[0];
    assert_eq!(spec.max_hold_steps, 24);
    assert_eq!(spec.pumps, [1.25, 1.5, 2.0, 3.0, 5.0, 10.0]);
    assert_eq!((spec.from_step, spec.until_step), (1, 6));
    // The limits themselves are allowed.
    let edge = edit(
        PUSH,
        &[
            Edit::Add("attackers.pusher.until_step", val("6")),
            Edit::Add("attackers.pusher.max_hold_steps", val("10000")),
            Edit::Set("attackers.pusher.pumps", val("[1e6]")),
        ],
    );
    assert_eq!(
        scenario(&edge, &Overrides::default()).attackers[0].pumps,
        [1e6]
    );
    let many = edit(
        PUSH,
        &[Edit::Set(
            "attackers.pusher.pumps",
            val(&format!(
                "{:?}",
                (2..34).map(|m| m as f64).collect::<Vec<_>>()
            )),
        )],
    );
    assert_eq!(
        scenario(&many, &Overrides::default()).attackers[0]
            .pumps
            .len(),
        32
    );
    let cases: Vec<(Vec<Edit>, &[&str])> = vec![
        (
            vec![Edit::Set("attackers.pusher.position", val("3"))],
            &["attackers.pusher.position", "no positions[3]"],
        ),
        (
            vec![Edit::Set("positions.0.debt", val("10.0"))],
            &["attackers.pusher.position", "owe nothing"],
        ),
        (
            vec![Edit::Set("attackers.pusher.venue", val("\"MNGO deep\""))],
            &["attackers.pusher.venue", "no pool `MNGO deep`"],
        ),
        (
            vec![Edit::Set("attackers.pusher.pumps", val("[0.5]"))],
            &["attackers.pusher.pumps", "must be above 1"],
        ),
        (
            vec![Edit::Set("attackers.pusher.pumps", val("[]"))],
            &["attackers.pusher.pumps", "give 1 to"],
        ),
        (
            vec![Edit::Set("attackers.pusher.capital_usd", val("-1.0"))],
            &["attackers.pusher.capital_usd", "must be positive"],
        ),
        (
            vec![Edit::Add("attackers.pusher.from_step", val("9"))],
            &["attackers.pusher.from_step", "must lie in 1..=6"],
        ),
        (
            vec![Edit::Add("attackers.pusher.until_step", val("7"))],
            &["attackers.pusher.from_step", "1..=7 must lie in 1..=6"],
        ),
        (
            vec![Edit::Add("attackers.pusher.max_hold_steps", val("10001"))],
            &["attackers.pusher.max_hold_steps", "above 10,000"],
        ),
        (
            vec![Edit::Set("attackers.pusher.pumps", val("[2e6]"))],
            &["attackers.pusher.pumps", "at most 1e6"],
        ),
        (
            vec![Edit::Set(
                "attackers.pusher.pumps",
                val(&format!(
                    "{:?}",
                    (2..35).map(|m| m as f64).collect::<Vec<_>>()
                )),
            )],
            &["attackers.pusher.pumps", "lists 33 multiples"],
        ),
        (
            vec![Edit::Push(
                "attackers",
                table("name = \"again\"\nposition = 0\ncapital_usd = 1.0"),
            )],
            &["attackers.again.position", "already another attacker's"],
        ),
    ];
    for (edits, needles) in cases {
        assert_rejected(&edit(PUSH, &edits), needles);
    }
}

/// With a supply side and no liquidator capital, the loan comes out of the
/// market's cash (capped by it), the utilisation shows it, and the loan
/// stays on the books: its bad debt is what it owes beyond its collateral
/// at F, and the attacker's profit counts what is left of the account as
/// nothing.
#[test]
fn the_loan_comes_out_of_cash_and_stays_as_bad_debt_when_nobody_liquidates() {
    let base = edit(
        PUSH,
        &[
            Edit::Set("liquidators.keeper.capital", val("0.0")),
            Edit::Add("protocols.lend.supply", val("{ deposits = 20000000.0 }")),
        ],
    );
    let rec = run(&base);
    let s = &rec.summary;
    let loan = s.attack_borrowed.unwrap();
    assert!(loan > 8e6 && loan < 20e6, "{loan}");
    assert_eq!(s.liquidations, 0);
    // Owes the loan (no rate model: no interest) against 100M MNGO at 0.04.
    let bad = s.attack_bad_debt.unwrap();
    assert!((bad - (loan - 4e6)).abs() < 1e-6 * loan, "{bad} vs {loan}");
    let p = &rec.protocols;
    // Rows per step: one protocol. Cash and utilisation after step 1.
    assert!((p.cash_value[1].unwrap() - (20e6 - loan)).abs() < 1e-6 * loan);
    assert!((p.utilisation[1].unwrap() - loan / 20e6).abs() < 1e-9);
    // A market with 6M of cash lends 6M at most (the pushed price would
    // allow 8.4M); 6M against 4M of collateral still pays.
    let poor = edit(
        &base,
        &[Edit::Set(
            "protocols.lend.supply",
            val("{ deposits = 6000000.0 }"),
        )],
    );
    let loan = run(&poor).summary.attack_borrowed.unwrap();
    assert!((loan - 6e6).abs() < 1e-6, "{loan}");
    // With 1M the forecast sees that a 1M loan against 4M of collateral
    // does not pay: no attack at all.
    let broke = edit(
        &base,
        &[Edit::Set(
            "protocols.lend.supply",
            val("{ deposits = 1000000.0 }"),
        )],
    );
    assert_eq!(run(&broke).summary.attack_borrowed, Some(0.0));
}

/// The last step is a step like the others: an attacker allowed to start
/// only there plans within it (hold 0) and attacks.
#[test]
fn an_attacker_can_start_at_the_last_step() {
    let rec = run(&edit(
        PUSH,
        &[Edit::Add("attackers.pusher.from_step", val("6"))],
    ));
    assert!(rec.summary.attack_borrowed.unwrap() > 0.0);
    assert!(rec.liquidations.step.iter().all(|&t| t == 6));
}

/// The forecast holds prices still; when MNGO doubles during the hold, the
/// re-push costs more than the capital left, and the attacker spends what
/// is left and no more, in USD whatever the quote is worth.
#[test]
fn an_attacker_whose_capital_runs_out_mid_hold_spends_exactly_its_capital() {
    for quote_usd in ["1.0", "2.0"] {
        let text = edit(
            PUSH,
            &[
                Edit::Set(
                    "protocols.lend.oracle",
                    val(
                        r#"{ kind = "twap", window_hours = 1.0, venues = { MNGO = ["MNGO thin"] } }"#,
                    ),
                ),
                Edit::Push("shocks", table("step = 2\nasset = \"MNGO\"\nreturn = 1.0")),
                Edit::Set("assets.USDC.price", val(quote_usd)),
            ],
        );
        let sc = scenario(&text, &Overrides::default());
        let mut world = World::new(&sc);
        let rec = world.run_path(0).unwrap();
        assert!(
            rec.summary.attack_borrowed.unwrap() > 0.0,
            "quote at {quote_usd}"
        );
        let spent = world.attackers.spent(0);
        assert!((spent - 5e6).abs() < 1e-6, "quote at {quote_usd}: {spent}");
    }
    // Without the shock the plan costs less than the capital.
    let calm = edit(
        PUSH,
        &[Edit::Set(
            "protocols.lend.oracle",
            val(r#"{ kind = "twap", window_hours = 1.0, venues = { MNGO = ["MNGO thin"] } }"#),
        )],
    );
    let sc = scenario(&calm, &Overrides::default());
    let mut world = World::new(&sc);
    world.run_path(0).unwrap();
    assert!(
        world.attackers.spent(0) < 4.5e6,
        "{}",
        world.attackers.spent(0)
    );
}

/// Timing on, the attackers' forecasts and pushes are counted in a stage
/// of their own, and its time is part of the path's.
#[test]
fn attackers_are_timed_in_their_own_stage() {
    use contagion::engine::phase::Stage;
    let text = edit(PUSH, &[Edit::Add("attackers.pusher.until_step", val("6"))]);
    let sc = scenario(&text, &Overrides::default());
    let mut world = World::new(&sc);
    world.enable_timing();
    world.run_path(0).unwrap();
    let nanos = world.stage_nanos().expect("timing was enabled");
    assert!(nanos.get(Stage::AgentsAttack) > 0);
}
