//! Proposals and risk agents (docs/model.md §18): when a proposal executes
//! (its signal, its delay in whole steps, its vote, whether its signal must
//! still be there), the liquidations a change causes, an agent's caps, the
//! rule of one actor per target, and determinism. The exact timing rules are
//! also checked against an implementation written from the text alone
//! (governance_independent.rs).

use contagion::Overrides;
use contagion::engine::World;
use contagion::mechanism::governance::table::Fate;

use crate::common::*;
use crate::governance::{one_position, run_path};

const LT: &str = "protocols.lend.collateral.ETH.liquidation_threshold";

/// `one_position` (10 ETH at 2,000 owing 15,000 under LT 0.8) over `steps`
/// steps of `dt` hours, with `shocks` (step, return) to ETH and `extra`.
fn with(steps: u32, dt: f64, shocks: &[(u32, f64)], extra: &str) -> String {
    let mut s = String::new();
    for (t, r) in shocks {
        s += &format!("[[shocks]]\nstep = {t}\nasset = \"ETH\"\nreturn = {r:?}\n\n");
    }
    one_position(&format!("{s}{extra}"))
        .replace("steps = 6", &format!("steps = {steps}\ndt_hours = {dt:?}"))
}

/// A proposal to lower the threshold to 0.7 (and max LTV to 0.65) when
/// ETH's drawdown reaches 4%.
fn proposal(delay: f64, more: &str) -> String {
    format!(
        "[[proposals]]\nname = \"cut\"\nsignal = {{ kind = \"drawdown\", asset = \"ETH\" }}\nabove = 0.04\ndelay_hours = {delay:?}\n{more}\nset = {{ \"{LT}\" = 0.7, \"protocols.lend.collateral.ETH.max_ltv\" = 0.65 }}\n"
    )
}

/// ETH −5% at step 2: HF 19,000 · 0.8 / 15,000 = 1.013, healthy under the
/// scenario's threshold, 0.887 under 0.7. The proposal is raised at the end
/// of step 2 and, with no delay, executes at the start of step 3, whose
/// cascade liquidates the position: a liquidation the change caused.
#[test]
fn a_proposal_executes_after_its_signal_and_its_liquidation_is_its_doing() {
    let text = with(6, 1.0, &[(2, -0.05)], &proposal(0.0, ""));
    let (rec, _) = run_path(&text, 0);
    let a = rec.summary.actors[0];
    assert_eq!(a.raised, Some(2));
    assert_eq!(a.first_change, Some(3));
    assert_eq!(a.fate, Fate::Executed);
    assert_eq!(a.changes, 1);
    let l = &rec.liquidations;
    assert_eq!(l.step[0], 3);
    assert!(l.by_change[0], "healthy under 0.8, liquidated under 0.7");
    assert!((l.health_factor[0] - 19000.0 * 0.7 / 15000.0).abs() < 1e-12);
    assert_eq!(a.liquidations as usize, l.step.len());
    let seized: f64 = l.seized_value.iter().sum();
    assert!((a.liquidated_value - seized).abs() < 1e-6 * seized);
    // A fall below HF 1 under the scenario's own threshold is not the
    // change's doing: −10% at step 2 (HF 0.96) with the same proposal.
    let text = with(6, 1.0, &[(2, -0.10)], &proposal(0.0, ""));
    let (rec, _) = run_path(&text, 0);
    assert_eq!(rec.liquidations.step[0], 2);
    assert!(!rec.liquidations.by_change[0]);
}

/// The delay is counted in whole steps, rounded up: due at step
/// t + 1 + ⌈delay / dt⌉ for a signal at the end of step t = 2.
#[test]
fn a_delay_is_counted_in_whole_steps() {
    for (dt, delay, due) in [
        (1.0, 0.0, 3),
        (1.0, 24.0, 27),
        (3.0, 72.0, 27),
        (4.0, 10.0, 6),
        (0.1, 0.3, 6), // 0.3 / 0.1 = 2.9999999999999996 steps: 3
        (0.5, 0.2, 4),
        (2.0, 30.0, 18),
    ] {
        let text = with(40, dt, &[(2, -0.05)], &proposal(delay, ""));
        let (rec, _) = run_path(&text, 0);
        let a = rec.summary.actors[0];
        assert_eq!(a.raised, Some(2), "dt {dt}, delay {delay}");
        assert_eq!(a.first_change, Some(due), "dt {dt}, delay {delay}");
        assert_eq!(rec.liquidations.step[0], due, "dt {dt}, delay {delay}");
    }
    // The tolerance grows with the span: 1,000 h and a hundred-billionth
    // over are 1,000 hourly steps.
    let text = with(
        1010,
        1.0,
        &[(2, -0.05)],
        &proposal(1000.0 * (1.0 + 1e-11), ""),
    );
    assert_eq!(
        run_path(&text, 0).0.summary.actors[0].first_change,
        Some(1003)
    );
    // Due after the last step: pending, nothing changes.
    let text = with(20, 1.0, &[(2, -0.05)], &proposal(24.0, ""));
    let (rec, _) = run_path(&text, 0);
    assert_eq!(rec.summary.actors[0].fate, Fate::Pending);
    assert!(rec.liquidations.step.is_empty());
}

/// ETH −5% at step 2, +6% at step 3 (back above its high: no drawdown).
/// Due at step 4 (1 h delay): by default it executes although the signal
/// has gone; with `requires_signal` it is cancelled.
#[test]
fn a_proposal_executes_when_its_signal_has_gone_unless_it_requires_it() {
    let shocks = [(2, -0.05), (3, 0.06)];
    let (rec, _) = run_path(&with(8, 1.0, &shocks, &proposal(1.0, "")), 0);
    assert_eq!(rec.summary.actors[0].fate, Fate::Executed);
    assert_eq!(rec.summary.actors[0].first_change, Some(4));
    let text = with(8, 1.0, &shocks, &proposal(1.0, "requires_signal = true"));
    let (rec, _) = run_path(&text, 0);
    assert_eq!(rec.summary.actors[0].fate, Fate::Cancelled);
    assert_eq!(rec.summary.actors[0].changes, 0);
    assert!(rec.liquidations.step.is_empty());
    // A signal that stays: executed either way.
    let text = with(
        8,
        1.0,
        &[(2, -0.05)],
        &proposal(1.0, "requires_signal = true"),
    );
    assert_eq!(run_path(&text, 0).0.summary.actors[0].fate, Fate::Executed);
}

/// A vote passes with its probability (binomial bounds over 400 paths), on
/// the same paths whatever the delay: the draw belongs to the path.
#[test]
fn votes_pass_with_their_probability_on_the_same_paths_whatever_the_delay() {
    let fates = |delay: f64| -> Vec<Fate> {
        let text = with(
            8,
            1.0,
            &[(2, -0.05)],
            &proposal(delay, "pass_probability = 0.3"),
        );
        let sc = scenario(&text, &Overrides::default());
        let mut w = World::new(&sc);
        (0..400)
            .map(|p| w.run_path(p).unwrap().summary.actors[0].fate)
            .collect()
    };
    let now = fates(0.0);
    let later = fates(3.0);
    let passed = now.iter().filter(|&&f| f == Fate::Executed).count() as f64;
    // 400 · 0.3 = 120, sd 9.2: four sd.
    assert!((passed - 120.0).abs() < 37.0, "{passed}");
    assert!(
        now.iter()
            .all(|&f| f == Fate::Executed || f == Fate::Rejected)
    );
    assert_eq!(now, later);
}

/// An agent from 0.8 to 0.7 in 10 levels as ETH's drawdown goes from 0 to
/// 10%, at most 2 levels a step and 5 within 24 hours: every move keeps to
/// both caps, and both bind on some path.
#[test]
fn an_agent_keeps_to_its_caps() {
    let agent = format!(
        "[[risk_agents]]\nname = \"bot\"\nsignal = {{ kind = \"drawdown\", asset = \"ETH\" }}\nfrom = 0.0\nto = 0.1\nlevels = 10\nmax_step = 0.2\nmax_day = 0.5\nset = {{ \"{LT}\" = 0.7, \"protocols.lend.collateral.ETH.max_ltv\" = 0.65 }}\n"
    );
    let text = with(120, 1.0, &[], &agent).replace(
        "price = 2000.0",
        "price = 2000.0\nprocess = { kind = \"gbm\", drift = 0.0, vol = 2.5 }",
    );
    let sc = scenario(&text, &Overrides::default());
    let mut w = World::new(&sc);
    let (mut step_bound, mut day_bound) = (false, false);
    for p in 0..20 {
        let rec = w.run_path(p).unwrap();
        let rows = &rec.parameters;
        // One row per field: threshold rows are the first of each move.
        let mut level = 0i64;
        let mut moves: Vec<(u32, i64)> = Vec::new();
        for r in (0..rows.step.len()).step_by(2) {
            let lt = rows.new[r];
            let to = ((0.8 - lt) / 0.01).round() as i64;
            assert!((rows.old[r] - (0.8 - 0.01 * level as f64)).abs() < 1e-12);
            moves.push((rows.step[r], (to - level).abs()));
            level = to;
        }
        for (i, &(t, n)) in moves.iter().enumerate() {
            assert!((1..=2).contains(&n), "path {p} step {t}: {n} levels");
            step_bound |= n == 2;
            let day: i64 = moves[..=i]
                .iter()
                .filter(|&&(s, _)| s + 24 > t)
                .map(|&(_, n)| n)
                .sum();
            assert!(day <= 5, "path {p}: {day} levels in the 24 h to step {t}");
            day_bound |= day == 5;
        }
    }
    assert!(step_bound && day_bound, "the caps never bound");
}

/// Two lending markets, one governed by a schedule and one by an agent:
/// each moves only its own, the tables are the same on one thread and on
/// two, and path 1 is the same in a run of 2 paths and of 4.
#[test]
fn actors_on_two_markets_compose_and_runs_are_deterministic() {
    let second = second_market();
    let actors = format!(
        "{second}\n[[governance]]\nstep = 5\nset = {{ \"{LT}\" = 0.75 }}\n\n[[risk_agents]]\nsignal = {{ kind = \"volatility\", asset = \"ETH\", start = 0.5 }}\nfrom = 0.6\nto = 1.5\nmax_step = 0.1\nset = {{ \"protocols.lend2.collateral.ETH.liquidation_threshold\" = 0.7, \"protocols.lend2.collateral.ETH.max_ltv\" = 0.65 }}\n"
    );
    let text = with(48, 1.0, &[(10, -0.04), (20, -0.04)], &actors).replace(
        "price = 2000.0",
        "price = 2000.0\nprocess = { kind = \"gbm\", drift = 0.0, vol = 1.5 }",
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&text, &Overrides::default());
    run_into(&sc, dir.path(), "one", Some(1));
    run_into(&sc, dir.path(), "two", Some(2));
    for f in [
        "parameters",
        "path_actors",
        "liquidations",
        "paths",
        "protocols",
    ] {
        let a = read(&dir.path().join(format!("one/{f}.parquet")));
        let b = read(&dir.path().join(format!("two/{f}.parquet")));
        assert!(
            same_frame(&a, &b),
            "{f}.parquet differs between 1 and 2 threads"
        );
    }
    let df = read(&dir.path().join("one/parameters.parquet"));
    for (target, name) in strs(&df, "target").iter().zip(strs(&df, "name")) {
        let want = if target == "lend" {
            "schedule"
        } else {
            "agent-0"
        };
        assert_eq!(name, want);
    }
    assert!(
        strs(&df, "name").iter().any(|n| n == "agent-0"),
        "the agent acted"
    );
    let few = scenario(
        &text,
        &Overrides {
            paths: Some(2),
            seed: None,
        },
    );
    let many = scenario(
        &text,
        &Overrides {
            paths: Some(4),
            seed: None,
        },
    );
    let a = World::new(&few).run_path(1).unwrap();
    let b = World::new(&many).run_path(1).unwrap();
    assert_eq!(a.parameters.step, b.parameters.step);
    assert_eq!(a.parameters.new, b.parameters.new);
    assert_eq!(a.summary.actors, b.summary.actors);
}

#[test]
fn bad_actors_are_refused_with_the_field_named() {
    let base = |extra: &str| with(10, 1.0, &[], extra);
    // One actor per target.
    let sched = format!("[[governance]]\nstep = 2\nset = {{ \"{LT}\" = 0.75 }}\n\n");
    assert_rejected(
        &base(&(sched + &proposal(0.0, ""))),
        &[
            "proposals[0].set.",
            "`protocols.lend` is already governed by `governance`",
        ],
    );
    let agent = |more: &str, set: &str| {
        format!(
            "[[risk_agents]]\nsignal = {{ kind = \"drawdown\", asset = \"ETH\" }}\nfrom = 0.0\nto = 0.1\nlevels = 10\n{more}\nset = {{ {set} }}\n"
        )
    };
    let both = format!("\"{LT}\" = 0.7, \"protocols.lend.collateral.ETH.max_ltv\" = 0.65");
    assert_rejected(
        &base(&agent("max_step = 0.05", &both)),
        &["risk_agents[0].max_step", "less than one level (1/10)"],
    );
    assert_rejected(
        &base(&agent("max_day = 1.5", &both)),
        &["risk_agents[0].max_day", "outside [0, 1]"],
    );
    assert_rejected(
        &base(&agent("", &both).replace("levels = 10", "levels = 0")),
        &["risk_agents[0].levels", "outside 1 to 1000"],
    );
    assert_rejected(
        &base(&agent("", &both).replace("to = 0.1", "to = 0.0")),
        &["risk_agents[0].to", "equals `from`"],
    );
    // The threshold alone to 0.7 passes max LTV 0.75 at level 6 of 10.
    assert_rejected(
        &base(&agent("", &format!("\"{LT}\" = 0.7"))),
        &["risk_agents[0]", "at level 6/10 of the way", "max_ltv"],
    );
    assert_rejected(
        &base(&proposal(0.0, "pass_probability = 1.5")),
        &["proposals[0].pass_probability", "outside [0, 1]"],
    );
    assert_rejected(&base(&proposal(-1.0, "")), &["proposals[0].delay_hours"]);
    assert_rejected(
        &base(&proposal(0.0, "").replace("asset = \"ETH\" }", "asset = \"BTC\" }")),
        &["proposals[0].signal.asset", "unknown asset `BTC`"],
    );
    assert_rejected(
        &base(
            &proposal(0.0, "").replace(&format!("\"{LT}\" = 0.7, "), &format!("\"{LT}\" = 1.7, ")),
        ),
        &[
            "proposals[0]",
            "with its values set",
            "liquidation_threshold",
        ],
    );
    let two = proposal(0.0, "")
        + &agent("", "\"protocols.lend.close_factor\" = 0.6")
            .replace("[[risk_agents]]", "[[risk_agents]]\nname = \"cut\"");
    assert_rejected(
        &base(&two),
        &["risk_agents[0]", "already governed by `proposals[0]`"],
    );
}

/// A guardian on a volatility signal with λ = 0 (the signal is the last
/// step's |return| annualised): ETH −1% at step 2 (signal 0.94 ≥ 0.5)
/// pauses liquidations from step 3; −12% at step 3 (HF 0.929) pauses again
/// from step 4; with no move after, liquidations resume `hours` later and
/// the position is liquidated then, not at step 3 as without the guardian.
#[test]
fn a_guardian_pauses_liquidations_and_they_resume_after_its_hours() {
    let guardian = |hours: f64| {
        format!(
            "[[guardians]]\nprotocol = \"lend\"\nsignal = {{ kind = \"volatility\", asset = \"ETH\", lambda = 0.0 }}\nabove = 0.5\nhours = {hours:?}\n"
        )
    };
    let shocks = [(2, -0.01), (3, -0.12)];
    let (rec, _) = run_path(&with(12, 1.0, &shocks, ""), 0);
    assert_eq!(rec.liquidations.step[0], 3);
    for (hours, resume) in [(1.0, 5), (3.0, 7), (2.5, 7), (5.0, 9)] {
        let (rec, _) = run_path(&with(12, 1.0, &shocks, &guardian(hours)), 0);
        assert_eq!(rec.liquidations.step[0], resume, "{hours} h");
        let a = rec.summary.actors[0];
        assert_eq!((a.changes, a.first_change), (2, Some(3)), "{hours} h");
        let p = &rec.parameters;
        assert_eq!(p.step, [3, resume], "{hours} h");
        assert_eq!(
            (p.old.clone(), p.new.clone()),
            (vec![0.0, 1.0], vec![1.0, 0.0])
        );
    }
    // Half-hour steps: 3 h are 6 steps.
    let (rec, _) = run_path(&with(20, 0.5, &shocks, &guardian(3.0)), 0);
    assert_eq!(rec.liquidations.step[0], 4 + 6);
}

#[test]
fn bad_guardians_are_refused() {
    let g = |protocol: &str, hours: &str| {
        format!(
            "[[guardians]]\nprotocol = \"{protocol}\"\nsignal = {{ kind = \"drawdown\", asset = \"ETH\" }}\nabove = 0.1\nhours = {hours}\n"
        )
    };
    let base = |extra: &str| with(10, 1.0, &[], extra);
    assert_rejected(
        &base(&g("nope", "1.0")),
        &["guardians[0].protocol", "unknown lending protocol `nope`"],
    );
    assert_rejected(&base(&g("lend", "0.0")), &["guardians[0].hours"]);
    assert_rejected(
        &base(&(g("lend", "1.0") + "\n" + &g("lend", "2.0"))),
        &["guardians[1].protocol", "has a guardian already"],
    );
    // Names are unique among actors, whatever their kind.
    let named = g("lend", "1.0").replace("[[guardians]]", "[[guardians]]\nname = \"cut\"");
    assert_rejected(
        &base(&(proposal(0.0, "") + "\n" + &named)),
        &["guardians[0].name", "`cut` names another actor"],
    );
    let sched =
        "[[governance]]\nstep = 2\nset = { \"protocols.lend.close_factor\" = 0.6 }\n\n".to_string();
    let named = g("lend", "1.0").replace("[[guardians]]", "[[guardians]]\nname = \"schedule\"");
    assert_rejected(
        &base(&(sched + &named)),
        &["guardians[0].name", "`schedule` names another actor"],
    );
    // A guardian may watch a protocol a proposal governs.
    let both = base(&(proposal(0.0, "") + "\n" + &g("lend", "1.0")));
    assert!(
        contagion::Scenario::from_toml(
            &both,
            "t.toml",
            std::path::Path::new("."),
            &Overrides::default()
        )
        .is_ok()
    );
}

/// "At least" is inclusive both times a proposal reads its signal: bad
/// debt 0 with `above = 0` raises it at step 0, and with
/// `requires_signal` it still executes when due (0 is not below 0).
#[test]
fn a_signal_exactly_at_its_threshold_counts() {
    let p = "[[proposals]]\nsignal = { kind = \"bad_debt\", protocol = \"lend\" }\nabove = 0.0\ndelay_hours = 2.0\nrequires_signal = true\nset = { \"protocols.lend.close_factor\" = 0.6 }\n";
    let (rec, _) = run_path(&with(6, 1.0, &[], p), 0);
    let a = rec.summary.actors[0];
    assert_eq!(a.raised, Some(0));
    assert_eq!(a.fate, Fate::Executed);
    assert_eq!(a.first_change, Some(3));
}

/// A run without actors writes neither governance table; one with an actor
/// writes both.
#[test]
fn the_governance_tables_come_with_actors_only() {
    let dir = tempfile::tempdir().unwrap();
    let plain = scenario(&with(4, 1.0, &[], ""), &Overrides::default());
    run_into(&plain, dir.path(), "plain", Some(1));
    let governed = scenario(
        &with(4, 1.0, &[], &proposal(0.0, "")),
        &Overrides::default(),
    );
    run_into(&governed, dir.path(), "governed", Some(1));
    for f in ["parameters.parquet", "path_actors.parquet"] {
        assert!(
            !dir.path().join("plain").join(f).exists(),
            "{f} without actors"
        );
        assert!(
            dir.path().join("governed").join(f).exists(),
            "{f} with an actor"
        );
    }
}

/// The second market of `one_position`, named `lend2`, with its own
/// position (the same 10 ETH owing 15,000).
fn second_market() -> String {
    let body = one_position("")
        .split("[[protocols]]")
        .nth(1)
        .unwrap()
        .split("[[liquidators]]")
        .next()
        .unwrap()
        .replace("\"lend\"", "\"lend2\"");
    format!("[[protocols]]{body}")
}

/// An actor touches only its own market: an agent halves `lend2`'s close
/// factor at step 1; the schedule changes `lend` at step 2, which must
/// leave `lend2`'s close factor alone. ETH −10% at step 4 (HF 0.96 in
/// both): `lend2`'s liquidation repays 0.25 × 15,000, `lend`'s 0.5 ×.
#[test]
fn an_actor_writes_its_own_market_only() {
    let actors = format!(
        "{}\n[[governance]]\nstep = 2\nset = {{ \"protocols.lend.full_liquidation_hf\" = 0.4, \"{LT}\" = 0.81 }}\n\n[[risk_agents]]\nsignal = {{ kind = \"bad_debt\", protocol = \"lend\" }}\nfrom = -1.0\nto = 0.0\nlevels = 1\nset = {{ \"protocols.lend2.close_factor\" = 0.25 }}\n",
        second_market()
    );
    let (rec, sc) = run_path(&with(6, 1.0, &[(4, -0.10)], &actors), 0);
    let l = &rec.liquidations;
    let lend2 = sc.protocol_index("lend2").unwrap() as u32;
    let mut seen = [false; 2];
    for r in 0..l.step.len() {
        if l.step[r] != 4 {
            continue;
        }
        let want = if l.protocol[r] == lend2 {
            3750.0
        } else {
            7500.0
        };
        if !seen[usize::from(l.protocol[r] == lend2)] {
            assert!(
                (l.repaid[r] - want).abs() < 1e-6,
                "protocol {}: {}",
                l.protocol[r],
                l.repaid[r]
            );
        }
        seen[usize::from(l.protocol[r] == lend2)] = true;
    }
    assert_eq!(seen, [true, true]);
    assert_eq!(rec.summary.actors[1].first_change, Some(1));
}

/// Oracle deviation |oracle − F| / F: a one-step-late oracle after ETH −10%
/// at step 2 reads 2,000 against 1,800 at the end of step 2 (0.111); the
/// proposal (above 0.1) is raised then, and not before.
#[test]
fn an_oracle_deviation_raises_a_proposal_when_the_oracle_lags() {
    let p = "[[proposals]]\nsignal = { kind = \"oracle_deviation\", protocol = \"lend\", asset = \"ETH\" }\nabove = 0.1\ndelay_hours = 0.0\nset = { \"protocols.lend.close_factor\" = 0.6 }\n";
    let text = with(6, 1.0, &[(2, -0.10)], p).replace(
        "oracle = { source = \"fundamental\" }",
        "oracle = { source = \"fundamental\", lag_steps = 1 }",
    );
    let (rec, _) = run_path(&text, 0);
    assert_eq!(rec.summary.actors[0].raised, Some(2));
    // 0.111 is not at least 0.12: never raised.
    let (rec, _) = run_path(&text.replace("above = 0.1", "above = 0.12"), 0);
    assert_eq!(rec.summary.actors[0].raised, None);
}

/// A change of the bonus alone reaches the open positions' entries: LB
/// 0.10 from step 1, ETH −10% at step 2 (HF 0.96): the liquidation repays
/// 7,500 and seizes 7,500 × 1.10 / 1,800 ETH.
#[test]
fn a_bonus_changed_alone_is_what_a_liquidation_pays() {
    let gov = "[[governance]]\nstep = 1\nset = { \"protocols.lend.collateral.ETH.liquidation_bonus\" = 0.10 }\n";
    let (rec, _) = run_path(&with(4, 1.0, &[(2, -0.10)], gov), 0);
    let l = &rec.liquidations;
    assert_eq!(l.step[0], 2);
    let price = 2000.0 * (0.9f64.ln()).exp();
    assert!((l.repaid[0] - 7500.0).abs() < 1e-9);
    assert!(
        (l.seized[0] - 7500.0 * 1.10 / price).abs() < 1e-9,
        "{}",
        l.seized[0]
    );
}

/// Under a threshold changed at step 1 the index examines exactly the
/// positions an index built with that threshold examines (the group's
/// search threshold is scaled by LT / LT₀, not more, not less), and both
/// liquidate the same.
#[test]
fn the_index_under_a_change_examines_what_a_fresh_index_does() {
    use contagion::engine::CandidateSearch;
    let mut book = String::new();
    for k in 0..400 {
        let hf = 1.0 + k as f64 * 0.004;
        book += &format!(
            "\n[[positions]]\nprotocol = \"lend\"\ndebt = {}\ncollateral = {{ ETH = 1.0 }}\n",
            1600.0 / hf
        );
    }
    let base = with(3, 1.0, &[(2, -0.02)], &book).replace(
        "[simulation]",
        "[simulation]\nunhealthy_positions = \"keep\"",
    );
    let governed = base.clone()
        + &format!(
            "\n[[governance]]\nstep = 1\nset = {{ \"{LT}\" = 0.7, \"protocols.lend.collateral.ETH.max_ltv\" = 0.65 }}\n"
        );
    let fresh = base
        .replace("liquidation_threshold = 0.8", "liquidation_threshold = 0.7")
        .replace("max_ltv = 0.75", "max_ltv = 0.65");
    let mut examined = Vec::new();
    let mut liquidations = Vec::new();
    for text in [&governed, &fresh] {
        let sc = scenario(text, &Overrides::default());
        let mut world = World::new(&sc);
        world.set_search(CandidateSearch::Indexed);
        let rec = world.run_path(0).unwrap();
        liquidations.push((
            rec.liquidations.step.clone(),
            rec.liquidations.repaid.clone(),
        ));
        examined.push(world.examined().0);
    }
    assert!(!liquidations[0].0.is_empty());
    assert_eq!(liquidations[0], liquidations[1]);
    assert_eq!(examined[0], examined[1]);
}

/// An agent moving back to level 0 puts the scenario's own values in force
/// again, a close factor included. Steps of a day, so the daily cap holds
/// one step's move: ETH −1% at step 1 (λ = 0 volatility 0.01·√365 = 0.19
/// ≥ `to`) halves the close factor at step 2; no move at step 2 brings it
/// back at step 3, whose −10% liquidation repays 0.5 × 15,000.
#[test]
fn an_agent_back_at_level_zero_restores_the_scenarios_values() {
    let agent = "[[risk_agents]]\nsignal = { kind = \"volatility\", asset = \"ETH\", lambda = 0.0 }\nfrom = 0.1\nto = 0.15\nlevels = 1\nset = { \"protocols.lend.close_factor\" = 0.25 }\n";
    let (rec, _) = run_path(&with(5, 24.0, &[(1, -0.01), (3, -0.10)], agent), 0);
    let p = &rec.parameters;
    assert_eq!(p.step[..2], [2, 3]);
    assert_eq!(
        (p.old[0], p.new[0], p.old[1], p.new[1]),
        (0.5, 0.25, 0.25, 0.5)
    );
    assert_eq!(rec.liquidations.step[0], 3);
    assert!((rec.liquidations.repaid[0] - 7500.0).abs() < 1e-9);
}
