//! Scripted defaults (docs/model.md §5): a named position or one drawn at
//! random per path is sold out at its step whatever its health factor.

use contagion::Overrides;
use contagion::engine::World;

use crate::common::*;
use crate::venues::THREE_HOLDERS;

/// THREE_HOLDERS without its shock and with one holder failing at random
/// at step 1.
fn random_trigger() -> String {
    edit(
        THREE_HOLDERS,
        &[
            Edit::Remove("shocks"),
            Edit::Add(
                "protocols.funds.defaults",
                val(r#"[{ step = 1, position = "random" }]"#),
            ),
        ],
    )
}

/// Whoever fails first, the other two follow (worked by hand: one unit of
/// either asset sold takes its price to e^{−α/1.5} = 0.496 and H1 below
/// 0.9; H1's half units take both to 0.704, below 0.9 for H0 and H2). The
/// first is sold in round 0 at health factor 1.111 (0.1 of equity on 0.9
/// of debt): the trigger does not need it below 1. Over 600 paths each
/// holder is first about a third of the time (each count within 4.5
/// standard deviations of 200), and path p's draw is the same whether it
/// runs alone or after others.
#[test]
fn a_random_default_is_uniform_and_starts_the_cascade() {
    let text = edit(
        &random_trigger(),
        &[Edit::Set("simulation.paths", val("600"))],
    );
    let sc = scenario(&text, &Overrides::default());
    let mut world = World::new(&sc);
    let mut first = [0u32; 3];
    let mut firsts = Vec::new();
    for path in 0..600 {
        let rec = world.run_path(path).unwrap();
        let l = &rec.liquidations;
        let mut sold: Vec<u64> = l.position.clone();
        sold.dedup();
        sold.sort_unstable();
        assert_eq!(sold, vec![0, 1, 2], "path {path}");
        assert_eq!(l.round[0], 0);
        assert!((l.health_factor[0] - 1.0 / 0.9).abs() < 1e-12);
        first[l.position[0] as usize] += 1;
        firsts.push(l.position[0]);
    }
    let sd = (600.0f64 * (1.0 / 3.0) * (2.0 / 3.0)).sqrt();
    for c in first {
        assert!((c as f64 - 200.0).abs() < 4.5 * sd, "{first:?}");
    }
    // Path 417 alone, in a fresh world, draws the same holder.
    let alone = World::new(&sc).run_path(417).unwrap();
    assert_eq!(alone.liquidations.position[0], firsts[417]);
}

/// A named position fails at its step, and only then: position 2 (H2, 1
/// B) at step 2 of a two-step run; nothing happens at step 1.
#[test]
fn a_named_default_fails_at_its_step() {
    let text = edit(
        THREE_HOLDERS,
        &[
            Edit::Remove("shocks"),
            Edit::Set("simulation.steps", val("2")),
            Edit::Add(
                "protocols.funds.defaults",
                val("[{ step = 2, position = 2 }]"),
            ),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    let rec = World::new(&sc).run_path(0).unwrap();
    let l = &rec.liquidations;
    assert!(l.step.iter().all(|&s| s == 2), "{:?}", l.step);
    assert_eq!(l.position[0], 2);
    assert_eq!(l.seized[0], 1.0);
}

#[test]
fn scripted_defaults_are_validated() {
    for (value, needles) in [
        (
            "[{ step = 0, position = 1 }]",
            &["protocols.funds.defaults[0].step", "1..=1"][..],
        ),
        (
            r#"[{ position = "someone" }]"#,
            &["protocols.funds.defaults[0].position", "someone"][..],
        ),
        (
            "[{ position = 7 }]",
            &["protocols.funds.defaults[0].position", "no position 7"][..],
        ),
    ] {
        let text = edit(
            THREE_HOLDERS,
            &[Edit::Add("protocols.funds.defaults", val(value))],
        );
        assert_rejected(&text, needles);
    }
}

/// The random default is drawn among the positions that owe something
/// (docs/model.md §5): with H2 owing nothing, over 90 paths H0 or H1 is
/// sold first, each about half the time, and H2 (health factor infinite)
/// never.
#[test]
fn a_random_default_passes_over_a_position_that_owes_nothing() {
    let text = edit(
        &random_trigger(),
        &[
            Edit::Set("simulation.paths", val("90")),
            Edit::Set("positions.2.debt", val("0.0")),
        ],
    );
    let sc = scenario(&text, &Overrides::default());
    let mut world = World::new(&sc);
    let mut first = [0u32; 3];
    for path in 0..90 {
        let rec = world.run_path(path).unwrap();
        let l = &rec.liquidations;
        assert!(!l.position.contains(&2), "path {path}: {:?}", l.position);
        first[l.position[0] as usize] += 1;
    }
    assert!(first[0] > 20 && first[1] > 20, "{first:?}");
}

/// A scripted default and an ordinary liquidation in the same round both
/// count as executed, so the cascade goes on: THREE_HOLDERS (A's venue
/// shocked 15% down at step 1, H0 below 1) with H2 defaulting at step 1.
/// Round 0 sells H2 out (the default, first), then H0 (below 1 at the
/// round's prices); H1 is still above 1 there (0.5·0.85 + 0.5 = 0.925 of
/// 0.9 owed) but not after both sales (A at 0.85·e^{−α/1.5}, B at
/// e^{−α/1.5}: 0.458), so round 1 sells its two entries.
#[test]
fn a_default_and_a_liquidation_in_one_round_let_the_cascade_go_on() {
    let text = edit(
        THREE_HOLDERS,
        &[Edit::Add(
            "protocols.funds.defaults",
            val("[{ step = 1, position = 2 }]"),
        )],
    );
    let rec = run_path0(&text);
    let l = &rec.liquidations;
    let rows: Vec<(u64, u32)> = l
        .position
        .iter()
        .copied()
        .zip(l.round.iter().copied())
        .collect();
    assert_eq!(rows, vec![(2, 0), (0, 0), (1, 1), (1, 1)]);
    assert!(
        (l.health_factor[2] - 0.5 * (0.85 + 1.0) * (-1.0536f64 / 1.5).exp() / 0.9).abs() < 1e-9
    );
}

/// A forced sale reads its own protocol's oracle: THREE_HOLDERS with USD
/// 10% up at step 1 gives the same rows whether `funds` is the only
/// protocol or comes after one that reads USD a step late (1.0, not 1.1)
/// and holds nothing.
#[test]
fn a_forced_sale_reads_its_own_protocols_oracle() {
    let base = edit(
        THREE_HOLDERS,
        &[Edit::Push(
            "shocks",
            table("step = 1\nasset = \"USD\"\nreturn = 0.1"),
        )],
    );
    let alone = run_path0(&base);
    let other = "[[protocols]]\nname = \"late\"\nkind = \"lending\"\ndebt_asset = \"USD\"\n\
                 oracle = { source = \"fundamental\", lag_steps = 1 }\n\
                 collateral = [{ asset = \"A\", liquidation_threshold = 0.8, \
                 liquidation_bonus = 0.05, max_ltv = 0.7 }]\n";
    let second = base.replacen("[[protocols]]", &format!("{other}\n[[protocols]]"), 1);
    let sc = scenario(&second, &Overrides::default());
    assert_eq!(sc.protocols[1].name, "funds");
    let after = World::new(&sc).run_path(0).unwrap();
    let (a, b) = (&alone.liquidations, &after.liquidations);
    assert!(!a.position.is_empty());
    assert_eq!(a.position, b.position);
    assert_eq!(a.repaid, b.repaid);
    assert_eq!(a.bad_debt, b.bad_debt);
    assert_eq!(a.oracle_price, b.oracle_price);
    assert_eq!(a.seized_value, b.seized_value);
    // Each sale repays what it fetched at USD's 1.1, at most what is owed;
    // the last row of a holder writes off the rest, at 1.1 too.
    let first = a.proceeds_value[0] / 1.1;
    assert!(first < 0.9);
    assert!(
        (a.repaid[0] - first).abs() < 1e-12,
        "{} vs {first}",
        a.repaid[0]
    );
    assert!((a.bad_debt[0] - (0.9 - first) * 1.1).abs() < 1e-12);
    // H0's one A at the oracle's 0.85 (its venue shocked 15% down), and
    // none of the bad debt came through receipt tokens (there are none).
    assert!(
        (a.seized_value[0] - 0.85).abs() < 1e-9,
        "{}",
        a.seized_value[0]
    );
    assert!(alone.summary.bad_debt > 0.0);
    assert_eq!(alone.summary.bad_debt_contagion, 0.0);
    assert_eq!(b.protocol.iter().max(), Some(&1));
}

/// A forced sale in a protocol with a supply side (docs/model.md §5 and
/// the balance sheet's rules): each repayment r moves r from borrowed to
/// cash, and what the sales do not cover is written off. THREE_HOLDERS
/// with deposits 5.4 (2.7 borrowed, 2.7 in cash at step 0): once all
/// three are sold out at step 1 nothing is borrowed (utilisation 0) and
/// the cash is 2.7 plus what the rows repaid.
#[test]
fn a_forced_sale_repays_into_the_supply_side() {
    let text = edit(
        THREE_HOLDERS,
        &[Edit::Add(
            "protocols.funds.supply",
            val("{ deposits = 5.4 }"),
        )],
    );
    let rec = run_path0(&text);
    let l = &rec.liquidations;
    let mut sold: Vec<u64> = l.position.clone();
    sold.sort_unstable();
    sold.dedup();
    assert_eq!(sold, vec![0, 1, 2]);
    let repaid: f64 = l.repaid.iter().sum();
    assert!(repaid > 1.0 && repaid < 2.7, "{repaid}");
    let p = &rec.protocols;
    assert!((p.utilisation[0].unwrap() - 0.5).abs() < 1e-12);
    assert!(p.utilisation[1].unwrap().abs() < 1e-12);
    let cash = p.cash_value[1].unwrap();
    assert!(
        (cash - (2.7 + repaid)).abs() < 1e-12,
        "{cash} vs {}",
        2.7 + repaid
    );
}

/// Each row of a forced sale counts as a liquidation executed in the step
/// for the congestion of later liquidations' gas (docs/model.md §5 step
/// 4): THREE_HOLDERS beside an ordinary protocol whose one position (1,000
/// C owing 740 at LT 0.8) falls to HF 0.973 when C drops 10% at step 1. H0
/// (HF 0.944) comes first in round 0, so the ordinary liquidation pays
/// gas_usd · (1 + congestion · 1).
#[test]
fn a_forced_sale_counts_toward_the_steps_congestion() {
    let ordinary = "[[protocols]]\nname = \"lend\"\nkind = \"lending\"\ndebt_asset = \"USD\"\n\
                    collateral = [{ asset = \"C\", liquidation_threshold = 0.8, \
                    liquidation_bonus = 0.05, max_ltv = 0.7 }]\n\n\
                    [[positions]]\nprotocol = \"lend\"\ndebt = 740.0\ncollateral = { C = 1000.0 }\n\n\
                    [[liquidators]]\nname = \"bot\"\ncapital = \"unlimited\"\n\n\
                    [[shocks]]\nstep = 1\nasset = \"C\"\nreturn = -0.1\n";
    let text = format!(
        "[network]\ngas_usd = 10.0\ncongestion = 0.5\n\n{}\n{ordinary}",
        THREE_HOLDERS.replacen(
            "[[assets]]",
            "[[assets]]\nsymbol = \"C\"\nprice = 1.0\n\n[[assets]]",
            1
        )
    );
    let sc = scenario(&text, &Overrides::default());
    let rec = World::new(&sc).run_path(0).unwrap();
    let l = &rec.liquidations;
    let lend = sc.protocol_index("lend").unwrap() as u32;
    let rows: Vec<(u32, u32)> = l
        .protocol
        .iter()
        .copied()
        .zip(l.round.iter().copied())
        .collect();
    assert_eq!(rows[0].1, 0);
    assert_ne!(rows[0].0, lend, "H0 first");
    let k = l.protocol.iter().position(|&p| p == lend).unwrap();
    assert_eq!(k, 1, "{rows:?}");
    assert!((l.health_factor[k] - 0.8 * 900.0 / 740.0).abs() < 1e-12);
    assert!((l.gas[k] - 10.0 * 1.5).abs() < 1e-12, "{}", l.gas[k]);
    assert_eq!(l.gas[0], 0.0);
}

/// The resolved scenario (what manifest.json and sweep edits write back)
/// keeps `liquidation = "forced_sale"` and leaves the default unwritten.
#[test]
fn a_forced_sale_survives_the_resolved_scenario() {
    let sc = scenario(THREE_HOLDERS, &Overrides::default());
    let text = toml::to_string(&sc.resolved).unwrap();
    assert!(text.contains("liquidation = \"forced_sale\""), "{text}");
    let again = scenario(&text, &Overrides::default());
    assert!(again.protocols[0].forced_sale);
    let plain = scenario(SMALL, &Overrides::default());
    let text = toml::to_string(&plain.resolved).unwrap();
    assert!(!text.contains("liquidation ="), "{text}");
}

/// With interest, a forced sale repays from what is owed now, d̃·I
/// (docs/model.md §5 and the debt index): THREE_HOLDERS with a supply side
/// at utilisation 0.5 and a flat 50% a year, so step 1's index is
/// I = e^{0.5/8760}. Each holder's rows repay and write off 0.9·I between
/// them, the write-off at USD's 1.
#[test]
fn a_forced_sale_repays_and_writes_off_what_is_owed_with_interest() {
    let text = edit(
        THREE_HOLDERS,
        &[Edit::Add(
            "protocols.funds.supply",
            val(
                "{ deposits = 5.4, rate = { base = 0.5, slope1 = 0.0, kink = 0.8, slope2 = 0.0 } }",
            ),
        )],
    );
    let rec = run_path0(&text);
    let l = &rec.liquidations;
    let owed = 0.9 * (0.5f64 / 8760.0).exp();
    for h in 0..3u64 {
        let rows: Vec<usize> = (0..l.position.len())
            .filter(|&r| l.position[r] == h)
            .collect();
        assert!(!rows.is_empty(), "H{h} sold");
        let repaid: f64 = rows.iter().map(|&r| l.repaid[r]).sum();
        let bad: f64 = rows.iter().map(|&r| l.bad_debt[r]).sum();
        assert!(bad > 0.0);
        assert!(
            (repaid + bad - owed).abs() < 1e-13,
            "H{h}: {repaid} + {bad} vs {owed}"
        );
    }
}

/// A scripted default's step is in 1..=steps (steps = 3 here: 0 and 4 are
/// refused, 1 and 3 accepted).
#[test]
fn a_scripted_default_falls_within_the_run() {
    let with = |d: &str| {
        edit(
            THREE_HOLDERS,
            &[
                Edit::Set("simulation.steps", val("3")),
                Edit::Add("protocols.funds.defaults", val(d)),
            ],
        )
    };
    for step in [0, 4] {
        assert_rejected(
            &with(&format!(
                "[{{ step = 1, position = 0 }}, {{ step = {step}, position = 1 }}]"
            )),
            &[
                "protocols.funds.defaults[1].step",
                &format!("{step} is outside 1..=3"),
            ],
        );
    }
    for ok in [
        r#"[{ step = 1, position = "random" }]"#,
        "[{ step = 3, position = 2 }]",
    ] {
        scenario(&with(ok), &Overrides::default());
    }
}
