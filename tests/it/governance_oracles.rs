//! Governance over oracles and borrowing (docs/model.md §18): a lending
//! protocol's oracle terms changed during a run act from the next read,
//! each path starts from the scenario's own, the terms that size the price
//! history stay fixed, and a guardian can pause borrowing.

use contagion::Overrides;
use contagion::engine::World;

use crate::common::*;
use crate::governance::change;
use crate::oracle::{eth_oracle, stairs};

/// The stairs (ETH 1000·0.95^t, read at its fundamental) under `oracle`,
/// with `more` appended.
fn stairs_with(oracle: &str, more: &str) -> String {
    edit(
        &stairs(0.0),
        &[Edit::Set("protocols.lagged.oracle", val(oracle))],
    ) + more
}

/// A push feed with a 12% deviation on the stairs publishes when the
/// source is more than 12% from its answer: at step 3 (1000 → 857.4,
/// −14.3%) and step 6. Lowered to 4% at step 2, it publishes at step 2
/// (902.5, −9.75%) and at every step after (−5% each).
#[test]
fn a_push_feeds_deviation_changed_mid_path_acts_from_the_next_read() {
    let f = |t: i32| 1000.0 * 0.95f64.powi(t);
    let push = r#"{ kind = "push", deviation = 0.12 }"#;
    let (plain, _, _) = eth_oracle(&stairs_with(push, ""));
    let want = [0, 0, 0, 3, 3, 3, 6, 6, 6].map(f);
    for (t, (p, w)) in plain.iter().zip(want).enumerate() {
        assert!((p - w).abs() < 1e-9, "step {t}: {p} vs {w}");
    }
    let governed = stairs_with(
        push,
        &change(2, &[("protocols.lagged.oracle.deviation", 0.04)]),
    );
    let (price, _, updated) = eth_oracle(&governed);
    let want = [0, 0, 2, 3, 4, 5, 6, 7, 8].map(f);
    for (t, (p, w)) in price.iter().zip(want).enumerate() {
        assert!((p - w).abs() < 1e-9, "step {t}: {p} vs {w}");
    }
    assert_eq!(
        updated,
        [false, false, true, true, true, true, true, true, true]
    );
}

/// A guard's grace changed during the run: ETH falls 15% at step 3, the
/// 2-hour TWAP is then more than 10% off its fundamental at step 3 only.
/// With a grace of 2 h liquidations stay paused through step 5 and the
/// position (HF = TWAP/875, 0.971 from step 5) is liquidated at step 6;
/// with the grace lowered to 0.5 h at step 2, they resume at step 4 and it
/// is liquidated at step 5.
#[test]
fn a_guards_grace_changed_mid_path_shortens_the_pause() {
    let guarded = r#"{ kind = "twap", window_hours = 2.0, guard = { max_deviation = 0.1, grace_hours = 2.0 } }"#;
    let text = |more: &str| crate::oracle::falls_at_step_3(guarded) + more;
    let run = |text: &str| {
        let sc = scenario(text, &Overrides::default());
        World::new(&sc).run_path(0).unwrap()
    };
    let rec = run(&text(""));
    assert_eq!(rec.liquidations.step.first(), Some(&6));
    let rec = run(&text(&change(
        2,
        &[("protocols.lagged.oracle.guard.grace_hours", 0.5)],
    )));
    assert_eq!(rec.liquidations.step.first(), Some(&5));
    assert_eq!(
        crate::oracle::eth_paused(&rec),
        [false, false, false, true, false, false, false, false, false]
    );
}

/// Each path starts from the scenario's oracle terms: a feed publishing at
/// every read (deviation 0) liquidates the position at step 3 (857 < 875);
/// raised to 0.9 at step 5 on path 0, the feed would stay at 1,000 through
/// path 1 if the change outlived its path.
#[test]
fn every_path_starts_from_the_scenarios_oracle_terms() {
    let text = stairs_with(
        r#"{ kind = "push", deviation = 0.0 }"#,
        &change(5, &[("protocols.lagged.oracle.deviation", 0.9)]),
    );
    let sc = scenario(&text, &Overrides::default());
    let mut used = World::new(&sc);
    let first = used.run_path(0).unwrap();
    assert_eq!(first.liquidations.step.first(), Some(&3));
    let again = used.run_path(1).unwrap();
    let fresh = World::new(&sc).run_path(1).unwrap();
    assert!(fresh.summary.liquidations > 0);
    assert_eq!(again.summary.liquidations, fresh.summary.liquidations);
    assert_eq!(
        again.summary.liquidated_value,
        fresh.summary.liquidated_value
    );
}

/// Oracle terms are validated as written, and those that size the price
/// history at load (lag, window) or choose what is read cannot change.
#[test]
fn oracle_changes_are_validated() {
    let push = r#"{ kind = "push", deviation = 0.12, lag_steps = 1 }"#;
    assert_rejected(
        &stairs_with(
            push,
            &change(2, &[("protocols.lagged.oracle.deviation", -0.1)]),
        ),
        &["governance[0].set", "protocols.lagged.oracle.deviation"],
    );
    assert_rejected(
        &stairs_with(
            push,
            &change(2, &[("protocols.lagged.oracle.lag_steps", 2.0)]),
        ),
        &["governance[0].set", "cannot change during a run"],
    );
    let twap = r#"{ kind = "twap", window_hours = 2.0 }"#;
    assert_rejected(
        &stairs_with(
            twap,
            &change(2, &[("protocols.lagged.oracle.window_hours", 4.0)]),
        ),
        &["governance[0].set", "cannot change during a run"],
    );
}

/// The attack of `attack::PUSH` (borrowing 8.4M against MNGO pushed to 3×)
/// under a guardian whose signal (MNGO's drawdown, 0 at step 0) is at its
/// threshold from the start: pausing borrowing stops the attack, pausing
/// liquidations only does not (and the loan is then never liquidated).
#[test]
fn a_guardian_that_pauses_borrowing_stops_the_attack() {
    let guardian = |pauses: &str| {
        format!(
            "\n[[guardians]]\nprotocol = \"lend\"\nsignal = {{ kind = \"drawdown\", asset = \"MNGO\" }}\nabove = 0.0\nhours = 100.0\n{pauses}\n"
        )
    };
    let run = |text: &str| {
        let sc = scenario(text, &Overrides::default());
        World::new(&sc).run_path(0).unwrap()
    };
    let plain = run(crate::attack::PUSH);
    let borrowed = plain.summary.attack_borrowed.unwrap();
    assert!(borrowed > 8e6, "{borrowed}");
    assert!(plain.summary.liquidations > 0);
    for pauses in [
        r#"pauses = ["borrowing"]"#,
        r#"pauses = ["liquidations", "borrowing"]"#,
    ] {
        let rec = run(&(crate::attack::PUSH.to_string() + &guardian(pauses)));
        // Not even started: a plan without a loan does not pay.
        assert_eq!(rec.summary.attack_pnl, Some(0.0), "{pauses}");
        assert_eq!(rec.summary.attack_borrowed, Some(0.0), "{pauses}");
        assert_eq!(rec.summary.attack_bad_debt, Some(0.0), "{pauses}");
    }
    let rec = run(&(crate::attack::PUSH.to_string() + &guardian("")));
    assert_eq!(rec.summary.attack_borrowed, Some(borrowed));
    assert_eq!(rec.summary.liquidations, 0);
    // Both fields are rows of `parameters.parquet` when both pause.
    let sc = scenario(
        &(crate::attack::PUSH.to_string() + &guardian(r#"pauses = ["borrowing", "liquidations"]"#)),
        &Overrides::default(),
    );
    let fields: Vec<&str> = sc.governance.actors[0]
        .fields
        .iter()
        .map(|(_, f)| f.as_str())
        .collect();
    assert_eq!(fields, ["liquidations_paused", "borrowing_paused"]);
    for bad in [r#"pauses = []"#, r#"pauses = ["borrowing", "borrowing"]"#] {
        assert_rejected(
            &(crate::attack::PUSH.to_string() + &guardian(bad)),
            &["guardians[0].pauses"],
        );
    }
}

/// A CDP's OSM hop changed during the run (Maker's `OSM.step`): one vault
/// exactly safe at 150 (10 ETH owing 1,000 at ratio 1.5), ETH at 100 from
/// step 1, steps of 0.25 h. With a 2-hour hop the OSM's value in use is
/// still 150 at the end (8 steps, 2 h: its first poke moves 100 into
/// `nxt` only). With the hop set to 0.5 h at step 2, the poke at step 2
/// (0.5 h) queues 100 and the one at step 4 (1 h) puts it in use: the
/// vault is sent to auction at step 4. The new ratio is the scenario's own,
/// so the auction is not counted as the change's doing.
#[test]
fn a_cdps_osm_hop_changed_mid_path_takes_the_new_cadence() {
    let vault = crate::cdp::one_vault(crate::cdp::DUTCH, "", -1.0 / 3.0).replace(
        "oracle = { kind = \"direct\" }",
        "oracle = { kind = \"delayed\", hop_hours = 2.0 }",
    );
    let run = |text: &str| {
        let sc = scenario(text, &Overrides::default());
        World::new(&sc).run_path(0).unwrap()
    };
    assert!(run(&vault).auctions.start_step.is_empty());
    let rec = run(&(vault + &change(2, &[("cdps.maker.oracle.hop_hours", 0.5)])));
    assert_eq!(rec.auctions.start_step, [4]);
    assert_eq!(rec.auctions.by_change, [false]);
}

/// A pause that starts during the attacker's hold: under a one-hour TWAP
/// the attacker pushes at step 1 and borrows at step 2. A guardian
/// watching another asset (ETH, halved at step 1: drawdown 0.5 at the end
/// of step 1) pauses borrowing from step 2: the attacker has paid for the
/// push and gets no loan.
#[test]
fn a_borrowing_pause_that_starts_during_the_hold_refuses_the_loan() {
    let text = edit(
        crate::attack::PUSH,
        &[
            Edit::Set(
                "protocols.lend.oracle",
                val(r#"{ kind = "twap", window_hours = 1.0, venues = { MNGO = ["MNGO thin"] } }"#),
            ),
            Edit::Push("assets", table("symbol = \"ETH\"\nprice = 2000.0")),
            Edit::Push("shocks", table("step = 1\nasset = \"ETH\"\nreturn = -0.5")),
        ],
    ) + "\n[[guardians]]\nprotocol = \"lend\"\nsignal = { kind = \"drawdown\", asset = \"ETH\" }\nabove = 0.3\nhours = 10.0\npauses = [\"borrowing\"]\n";
    let sc = scenario(&text, &Overrides::default());
    let rec = World::new(&sc).run_path(0).unwrap();
    let s = &rec.summary;
    assert_eq!(s.actors[0].first_change, Some(2));
    assert_eq!(s.attack_borrowed, Some(0.0));
    assert!(s.attack_pnl.unwrap() < -1e5, "{:?}", s.attack_pnl);
}
