//! Governance (docs/model.md §18): scheduled parameter changes take effect
//! exactly at their step, on open positions, in every lending rule that
//! reads them; the liquidation index stays exact under them (against the
//! full scan); each path starts from the scenario's own parameters; and a
//! bad change is refused with its entry and field named.

use contagion::Overrides;
use contagion::engine::World;
use proptest::prelude::*;

use crate::common::*;
use crate::index::{scenario_text, setup};

/// One position of 10 ETH at 2,000 (constant) owing 15,000 USDC, under a
/// threshold of 0.8: health factor 16,000 / 15,000 = 1.0667. `{gov}` adds
/// the changes.
pub(crate) fn one_position(gov: &str) -> String {
    format!(
        r#"
[simulation]
name = "gov"
steps = 6
paths = 3

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 1000000000.0
fee = 0.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"
close_factor = 0.5
full_liquidation_hf = 0.5
oracle = {{ source = "fundamental" }}

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "lend"
debt = 15000.0
collateral = {{ ETH = 10.0 }}

[[liquidators]]
name = "bot"
capital = "unlimited"

{gov}
"#
    )
}

pub(crate) fn change(step: u32, sets: &[(&str, f64)]) -> String {
    let set: Vec<String> = sets
        .iter()
        .map(|(k, v)| format!("\"{k}\" = {v:?}"))
        .collect();
    format!(
        "[[governance]]\nstep = {step}\nset = {{ {} }}\n",
        set.join(", ")
    )
}

const LT: &str = "protocols.lend.collateral.ETH.liquidation_threshold";
const LB: &str = "protocols.lend.collateral.ETH.liquidation_bonus";
const LTV: &str = "protocols.lend.collateral.ETH.max_ltv";

/// Lowering the threshold to 0.7 at step `s` puts the position at HF
/// 14,000 / 15,000 = 0.933: it is liquidated at step `s` and not before,
/// with the close factor and bonus in force then: with 0.25 and 0.10 set
/// in the same change, the first liquidation repays 3,750 and seizes
/// 3,750 × 1.10 / 2,000 = 2.0625 ETH.
#[test]
fn a_lowered_threshold_liquidates_open_positions_at_its_step() {
    for s in [1, 3, 6] {
        let text = one_position(
            &(change(s, &[(LTV, 0.65), (LT, 0.7)])
                + &change(s, &[(LB, 0.10), ("protocols.lend.close_factor", 0.25)])),
        );
        let (rec, _) = run_path(&text, 0);
        let l = &rec.liquidations;
        assert!(!l.step.is_empty(), "step {s}: liquidated");
        assert!(l.step.iter().all(|&t| t == s), "step {s}: {:?}", l.step);
        assert!((l.repaid[0] - 3750.0).abs() < 1e-9, "{}", l.repaid[0]);
        assert!((l.seized[0] - 2.0625).abs() < 1e-12, "{}", l.seized[0]);
        assert!((l.health_factor[0] - 14000.0 / 15000.0).abs() < 1e-12);
    }
    // Without the change, nothing happens.
    let (rec, _) = run_path(&one_position(""), 0);
    assert!(rec.liquidations.step.is_empty());
}

pub(crate) fn run_path(
    text: &str,
    path: u32,
) -> (contagion::output::recorder::PathRecord, contagion::Scenario) {
    let sc = scenario(text, &Overrides::default());
    let rec = World::new(&sc).run_path(path).unwrap();
    (rec, sc)
}

/// Each path starts from the scenario's parameters: a threshold raised to
/// 0.9 at step 3 spares nothing on path 1 if path 0 left it raised. ETH
/// falls 10% at step 2 (HF 0.96 under 0.8, liquidated); a world that ran
/// path 0 gives path 1 exactly as a fresh one does.
#[test]
fn every_path_starts_from_the_scenarios_parameters() {
    let text = one_position(&change(3, &[(LT, 0.9)])).replace(
        "[[positions]]",
        "[[shocks]]\nstep = 2\nasset = \"ETH\"\nreturn = -0.1\n\n[[positions]]",
    );
    let sc = scenario(&text, &Overrides::default());
    let mut used = World::new(&sc);
    let first = used.run_path(0).unwrap();
    let again = used.run_path(1).unwrap();
    let fresh = World::new(&sc).run_path(1).unwrap();
    assert_eq!(first.liquidations.step[0], 2);
    assert_eq!(again.liquidations.step, fresh.liquidations.step);
    assert_eq!(again.liquidations.repaid, fresh.liquidations.repaid);
}

/// `max_ltv` in force is what `borrowable` reads: 10 ETH at 2,000 under
/// 0.75 may owe 15,000 (nothing left to borrow); under 0.78 from step 4,
/// 600 more.
#[test]
fn a_raised_ltv_is_what_a_borrower_may_draw_from_its_step() {
    let text = one_position(&change(4, &[(LTV, 0.78)]));
    let sc = scenario(&text, &Overrides::default());
    let mut w = World::new(&sc);
    let mut seen = Vec::new();
    w.run_path_with(0, |w, t| {
        seen.push((t, w.lending.borrowable(0, &[2000.0, 1.0])));
    })
    .unwrap();
    for (t, b) in seen {
        let want = if t >= 4 { 600.0 } else { 0.0 };
        assert!((b - want).abs() < 1e-6, "step {t}: {b}");
    }
}

/// A rate model changed at step 3 sets the borrow rate from step 3 on:
/// at utilisation 0.5, below the kink 0.8, rate = base + slope1 · 0.5/0.8:
/// 0.02 + 0.1 · 0.625 = 0.0825 before and 0.02 + 0.4 · 0.625 = 0.27 after.
#[test]
fn a_changed_rate_curve_prices_borrowing_from_its_step() {
    let text = one_position(&change(3, &[("protocols.lend.supply.rate.slope1", 0.4)]))
        .replace(
            "oracle = { source = \"fundamental\" }",
            "oracle = { source = \"fundamental\" }\nsupply = { utilisation = 0.5, rate = { base = 0.02, slope1 = 0.1, kink = 0.8, slope2 = 2.0 } }",
        );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&text, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let df = read(&dir.path().join("run/protocols.parquet"));
    let paths = u32s(&df, "path");
    let steps = u32s(&df, "step");
    let rates = f64_opts(&df, "borrow_rate");
    for ((p, t), r) in paths.iter().zip(&steps).zip(&rates) {
        if *p != 0 || *t == 0 {
            continue;
        }
        let r = r.unwrap();
        // Utilisation drifts as interest accrues: within 1e-3 of 0.5.
        let want = if *t >= 3 { 0.27 } else { 0.0825 };
        assert!((r - want).abs() < 2e-3, "step {t}: {r}");
    }
}

/// `parameters.parquet`: a row per field and recorded path, at the step
/// of its change, with its target, field, old and new values; the run's
/// tables are the same on one thread and on two.
#[test]
fn parameters_parquet_records_every_field_changed() {
    let text = one_position(&(change(4, &[(LT, 0.85)]) + &change(2, &[(LTV, 0.7), (LB, 0.07)])));
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "one", Some(1));
    run_into(&sc, dir.path(), "two", Some(2));
    let df = read(&dir.path().join("one/parameters.parquet"));
    assert_eq!(df.height(), 3 * 3, "three fields on each of three paths");
    let on_path0: polars::prelude::BooleanChunked =
        u32s(&df, "path").iter().map(|&p| p == 0).collect();
    let p0 = df.filter(&on_path0).unwrap();
    assert_eq!(u32s(&p0, "step"), [2, 2, 4]);
    assert_eq!(i64s(&p0, "change"), [1, 1, 0]);
    assert_eq!(strs(&p0, "target"), ["lend", "lend", "lend"]);
    assert_eq!(
        strs(&p0, "field"),
        [
            "collateral.ETH.liquidation_bonus",
            "collateral.ETH.max_ltv",
            "collateral.ETH.liquidation_threshold"
        ]
    );
    assert_eq!(f64s(&p0, "old"), [0.05, 0.75, 0.8]);
    assert_eq!(f64s(&p0, "new"), [0.07, 0.7, 0.85]);
    assert_eq!(strs(&p0, "actor"), ["schedule", "schedule", "schedule"]);
    for t in ["parameters", "liquidations", "protocols"] {
        let a = read(&dir.path().join(format!("one/{t}.parquet")));
        let b = read(&dir.path().join(format!("two/{t}.parquet")));
        assert!(same_frame(&a, &b), "{t} differs across thread counts");
    }
}

/// A bad change is refused, naming its entry and what is wrong.
#[test]
fn bad_changes_are_refused_with_the_entry_named() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            change(0, &[(LT, 0.7)]),
            vec!["governance[0].step", "steps 1 to 6"],
        ),
        (
            change(7, &[(LT, 0.7)]),
            vec!["governance[0].step", "outside the run"],
        ),
        (
            "[[governance]]\nstep = 2\nset = {}\n".into(),
            vec!["governance[0].set", "sets nothing"],
        ),
        (
            change(2, &[("pools.ETH.fee", 0.01)]),
            vec![
                "governance[0].set.\"pools.ETH.fee\"",
                "cannot change during a run",
            ],
        ),
        (
            change(2, &[("protocols.nope.close_factor", 0.3)]),
            vec!["governance[0].set", "no element `nope`"],
        ),
        (
            change(2, &[(LT, 0.7)]),
            vec!["governance[0]", "with its values set", "max_ltv"],
        ),
        (
            change(3, &[(LTV, 0.6)]) + &change(2, &[(LT, 0.7)]).replace("0.7", "nan"),
            vec!["governance[1]", "liquidation_threshold"],
        ),
    ];
    for (gov, needles) in cases {
        let err = scenario_error(&one_position(&gov));
        for n in &needles {
            assert!(err.contains(n), "`{n}` not in: {err}");
        }
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

fn governed_text(s: &crate::index::Setup, g: &Gov) -> String {
    let lt_eth = g.lt_eth;
    let mut t = scenario_text(s);
    t += &change(
        g.first,
        &[
            (
                "protocols.lend.collateral.ETH.max_ltv",
                lt_eth.min(0.75) - 0.01,
            ),
            (
                "protocols.lend.collateral.ETH.liquidation_threshold",
                lt_eth,
            ),
            (
                "protocols.lend.collateral.BTC.max_ltv",
                g.lt_btc.min(0.7) - 0.01,
            ),
            (
                "protocols.lend.collateral.BTC.liquidation_threshold",
                g.lt_btc,
            ),
            (
                "protocols.other.collateral.LP.max_ltv",
                g.lt_lp.min(0.55) - 0.01,
            ),
            (
                "protocols.other.collateral.LP.liquidation_threshold",
                g.lt_lp,
            ),
        ],
    );
    t += &change(
        g.first + g.gap,
        &[
            (
                "protocols.lend.collateral.ETH.liquidation_threshold",
                g.lt_eth2,
            ),
            ("protocols.lend.collateral.ETH.liquidation_bonus", 0.03),
        ],
    );
    t
}

#[derive(Debug, Clone)]
struct Gov {
    first: u32,
    gap: u32,
    lt_eth: f64,
    lt_btc: f64,
    lt_lp: f64,
    lt_eth2: f64,
}

fn gov() -> impl Strategy<Value = Gov> {
    (
        1..30u32,
        1..10u32,
        0.5..0.95f64,
        0.5..0.9f64,
        0.4..0.9f64,
        0.76..0.95f64,
    )
        .prop_map(|(first, gap, lt_eth, lt_btc, lt_lp, lt_eth2)| Gov {
            first,
            gap,
            lt_eth,
            lt_btc,
            lt_lp,
            lt_eth2,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Thresholds lowered and raised mid-path, on single- and
    /// multi-collateral positions of two protocols: the liquidation index
    /// (keys of step 0, search thresholds scaled) finds exactly what the
    /// full scan finds.
    #[test]
    fn the_index_stays_exact_under_changed_thresholds(s in setup(), g in gov()) {
        let sc = scenario(&governed_text(&s, &g), &Overrides::default());
        let dir = tempfile::tempdir().unwrap();
        run_both_searches(&sc, dir.path(), Some(1));
        for t in ["protocols", "liquidations", "paths"] {
            let a = read(&dir.path().join(format!("indexed/{t}.parquet")));
            let b = read(&dir.path().join(format!("scan/{t}.parquet")));
            prop_assert!(same_frame(&a, &b), "{} differs for {:?} {:?}", t, s, g);
        }
    }
}

/// Perp margins: ETH falls 1% at step 1, leaving the long (10 ETH on
/// 2,000 of margin) with about 1,800 of equity on 19,800 of notional:
/// safe under a maintenance margin of 5% (990), below it under 9.5%
/// (1,881) from step 3, when it is liquidated. `perps.parquet` shows the
/// margin in force.
#[test]
fn a_raised_maintenance_margin_liquidates_at_its_step() {
    let text = crate::perps::PERP
        .replace("return = -0.08", "return = -0.01")
        .replace("steps = 4", "steps = 5")
        + &change(3, &[("perps.eth-perp.maintenance_margin", 0.095)]);
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let p = read(&dir.path().join("run/perps.parquet"));
    assert_eq!(u32s(&p, "liquidations"), [0, 0, 0, 1, 0, 0]);
    assert_eq!(
        f64s(&p, "maintenance_margin"),
        [0.05, 0.05, 0.05, 0.095, 0.095, 0.095]
    );
}

/// CDP terms: one vault of 10 ETH at 150 owing 1,000 is exactly safe
/// under a liquidation ratio of 1.5 (1,500 / 1.5 = 1,000). Raised to 1.6
/// at step 3 with a penalty of 20%, it is barked at step 3 with a tab of
/// 1,200.
#[test]
fn a_raised_liquidation_ratio_barks_at_its_step_with_the_new_penalty() {
    let text = crate::cdp::one_vault(crate::cdp::DUTCH, "", 0.0)
        + &change(
            3,
            &[
                ("cdps.maker.collateral.ETH.liquidation_ratio", 1.6),
                ("cdps.maker.collateral.ETH.penalty", 0.2),
            ],
        );
    let (rec, _) = run_path(&text, 0);
    assert_eq!(rec.auctions.start_step, [3]);
    assert!(
        (rec.auctions.tab[0] - 1200.0).abs() < 1e-9,
        "{}",
        rec.auctions.tab[0]
    );
    let (rec, _) = run_path(&crate::cdp::one_vault(crate::cdp::DUTCH, "", 0.0), 0);
    assert!(
        rec.auctions.start_step.is_empty(),
        "safe without the change"
    );
}

/// Perp markets and CDPs start each path from the scenario's terms too:
/// a maintenance margin lowered to 1% at step 3 would spare the long the
/// 8% fall of step 1 (400 of equity against 184), and a liquidation ratio
/// lowered to 1.4 would spare the vault a 5% fall (1,425 / 1.4 > 1,000);
/// path 1 of a world that ran path 0 liquidates each, as a fresh world
/// does.
#[test]
fn perps_and_cdps_start_every_path_from_the_scenarios_terms() {
    let perp =
        crate::perps::PERP.to_string() + &change(3, &[("perps.eth-perp.maintenance_margin", 0.01)]);
    let cdp = crate::cdp::one_vault(crate::cdp::DUTCH, "", -0.05)
        + &change(3, &[("cdps.maker.collateral.ETH.liquidation_ratio", 1.4)]);
    for text in [perp, cdp] {
        let sc = scenario(&text, &Overrides::default());
        let mut used = World::new(&sc);
        used.run_path(0).unwrap();
        let again = used.run_path(1).unwrap();
        let fresh = World::new(&sc).run_path(1).unwrap();
        assert_eq!(
            again.summary.perp_liquidations,
            fresh.summary.perp_liquidations
        );
        // Path 1 is not recorded (one path): count, and compare the
        // debt confiscated and raised.
        assert_eq!(again.summary.cdps, fresh.summary.cdps);
        let barked: u32 = fresh.summary.cdps.iter().map(|c| c.auctions).sum();
        assert_eq!(fresh.summary.perp_liquidations + barked, 1);
    }
}

/// Common random numbers: a change at step 5 leaves every row before it
/// as the same paths give without it (prices, liquidations), and lowering
/// ETH's threshold from 0.8 to 0.7 there (before the crash of step 10)
/// liquidates at step 5 what those paths leave open: every position below
/// a health factor of 8/7 under 0.8 (the population starts from 1.07).
#[test]
fn a_change_leaves_the_steps_before_it_alone_and_acts_at_its_step() {
    let cut = SMALL.to_string()
        + &change(
            5,
            &[
                ("protocols.lend.collateral.ETH.max_ltv", 0.65),
                ("protocols.lend.collateral.ETH.liquidation_threshold", 0.7),
            ],
        );
    let dir = tempfile::tempdir().unwrap();
    run_into(
        &scenario(SMALL, &Overrides::default()),
        dir.path(),
        "base",
        Some(2),
    );
    run_into(
        &scenario(&cut, &Overrides::default()),
        dir.path(),
        "cut",
        Some(2),
    );
    let rows = |run: &str, table: &str| {
        let df = read(&dir.path().join(format!("{run}/{table}.parquet")));
        let steps = u32s(&df, "step");
        (df, steps)
    };
    for table in ["market", "liquidations", "protocols"] {
        let (a, sa) = rows("base", table);
        let (b, sb) = rows("cut", table);
        let before = |df: &polars::prelude::DataFrame, s: &[u32]| {
            let mask: polars::prelude::BooleanChunked = s.iter().map(|&t| t < 5).collect();
            df.filter(&mask).unwrap()
        };
        assert!(
            same_frame(&before(&a, &sa), &before(&b, &sb)),
            "{table} differs before the change"
        );
    }
    let at = |run: &str| {
        let (_, s) = rows(run, "liquidations");
        s.iter().filter(|&&t| t == 5).count()
    };
    assert!(
        at("cut") > at("base") + 10,
        "{} vs {}",
        at("cut"),
        at("base")
    );
}

/// `--cut` with changes: cutting `lend:BTC` (the one account holding BTC)
/// under changes to ETH's and BTC's thresholds gives, path by path, what
/// the scenario written without that account and without BTC as
/// collateral gives under the ETH change alone.
#[test]
fn a_cut_world_adopts_the_changes_on_its_own_book() {
    let eth = change(
        5,
        &[
            ("protocols.lend.collateral.ETH.max_ltv", 0.65),
            ("protocols.lend.collateral.ETH.liquidation_threshold", 0.7),
        ],
    );
    let btc = change(
        7,
        &[
            ("protocols.lend.collateral.BTC.max_ltv", 0.6),
            ("protocols.lend.collateral.BTC.liquidation_threshold", 0.65),
        ],
    );
    let with = SMALL.to_string() + &eth + &btc;
    let (cut, dir) = run_with_cuts(&with, &[("lend", "BTC")]);
    let whale = "[[positions]]\nprotocol = \"lend\"\ndebt = 30000.0\ncollateral = { ETH = 10.0, BTC = 0.5 }\n";
    let btc_terms = "[[protocols.collateral]]\nasset = \"BTC\"\nliquidation_threshold = 0.75\nliquidation_bonus = 0.08\nmax_ltv = 0.7\n";
    assert!(SMALL.contains(whale) && SMALL.contains(btc_terms));
    let by_hand = SMALL.replace(whale, "").replace(btc_terms, "") + &eth;
    run_into(
        &scenario(&by_hand, &Overrides::default()),
        dir.path(),
        "hand",
        Some(2),
    );
    let a = read(&cut.join("attribution.parquet"));
    let h = read(&dir.path().join("hand/paths.parquet"));
    let cut = f64s(&a, "liquidated_value_cut");
    let hand = f64s(&h, "liquidated_value");
    assert_eq!(cut.len(), hand.len());
    assert!(hand.iter().sum::<f64>() > 0.0);
    for (c, h) in cut.iter().zip(&hand) {
        assert!(close(*c, *h), "{c} vs {h}");
    }
}

/// One change may reach several mechanisms: a perp market's margin and a
/// lending market's close factor, one row each, named by their own
/// targets.
#[test]
fn one_change_names_each_fields_own_target() {
    let text = crate::perps::PERP.to_string()
        + &change(
            2,
            &[
                ("protocols.lend.close_factor", 0.4),
                ("perps.eth-perp.maintenance_margin", 0.06),
            ],
        );
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let df = read(&dir.path().join("run/parameters.parquet"));
    assert_eq!(strs(&df, "target"), ["eth-perp", "lend"]);
    assert_eq!(strs(&df, "field"), ["maintenance_margin", "close_factor"]);
    assert_eq!(f64s(&df, "old"), [0.05, 0.5]);
    assert_eq!(f64s(&df, "new"), [0.06, 0.4]);
}

/// The index stays an index under changed thresholds: on a calm book of
/// 300 single- and 300 multi-collateral positions, all at health factors
/// of 1.3 and above, a threshold cut from 0.8 to 0.78 at step 2 leaves
/// every position far from 1, and the index examines almost none of them
/// (the full scan examines all 600 every step), with the same outcome.
/// A search threshold or multi-collateral bound scaled to nothing would
/// examine every one every round.
#[test]
fn the_index_examines_few_positions_under_changed_thresholds() {
    use contagion::engine::CandidateSearch;
    let mut text = String::from(
        r#"
[simulation]
name = "calm"
steps = 10
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "BTC"
price = 40000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"
oracle = { source = "fundamental" }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[protocols.collateral]]
asset = "BTC"
liquidation_threshold = 0.75
liquidation_bonus = 0.05
max_ltv = 0.7

[[liquidators]]
name = "bot"
capital = "unlimited"
"#,
    );
    for k in 0..300 {
        let hf = 1.3 + k as f64 * 0.005;
        // Multi: 1 ETH and 0.05 BTC weigh 1,600 + 1,500 = 3,100.
        text += &format!(
            "\n[[positions]]\nprotocol = \"lend\"\ndebt = {}\ncollateral = {{ ETH = 1.0, BTC = 0.05 }}\n",
            3100.0 / hf
        );
        text += &format!(
            "\n[[positions]]\nprotocol = \"lend\"\ndebt = {}\ncollateral = {{ ETH = 1.0 }}\n",
            1600.0 / hf
        );
    }
    text += &change(2, &[(LTV, 0.7), (LT, 0.78)]);
    let sc = scenario(&text, &Overrides::default());
    let mut examined = Vec::new();
    let mut summaries = Vec::new();
    for search in [CandidateSearch::Indexed, CandidateSearch::FullScan] {
        let mut world = World::new(&sc);
        world.set_search(search);
        summaries.push(format!("{:?}", world.run_path(0).unwrap().summary));
        examined.push(world.examined().0);
    }
    assert_eq!(summaries[0], summaries[1]);
    assert!(examined[1] >= 600 * 10, "the full scan: {}", examined[1]);
    assert!(examined[0] < 60, "the index examined {}", examined[0]);
}

/// E-mode terms change only the positions inside the category: stStETH
/// falls 5% at step 1 (94.05 ETH of collateral for 80 ETH of debt); the
/// e-mode position (0) is safe under 0.93 and liquidated at step 2 once
/// e-mode's threshold is 0.84 (HF 0.84 · 94.05 / 80 = 0.9875), while the
/// mixed position (1, per-asset terms) is liquidated at step 1 either way
/// and its threshold of 0.81 stays.
#[test]
fn an_emode_threshold_change_reaches_only_the_category() {
    let base = crate::mechanisms::EMODE.replace("steps = 2", "steps = 3");
    let text = base.clone()
        + &change(
            2,
            &[
                ("protocols.lend.emode.max_ltv", 0.8),
                ("protocols.lend.emode.liquidation_threshold", 0.84),
            ],
        );
    for (text, want) in [(&base, vec![(1, 1)]), (&text, vec![(1, 1), (2, 0)])] {
        let (rec, _) = run_path(text, 0);
        let l = &rec.liquidations;
        let got: Vec<(u32, u64)> = l
            .step
            .iter()
            .copied()
            .zip(l.position.iter().copied())
            .collect();
        let firsts: Vec<(u32, u64)> = want
            .iter()
            .map(|&(_, p)| *got.iter().find(|g| g.1 == p).unwrap_or(&(0, p)))
            .collect();
        assert_eq!(firsts, want, "{got:?}");
        if let Some(j) = l.position.iter().position(|&p| p == 0) {
            assert!((l.health_factor[j] - 0.84 * 94.05 / 80.0).abs() < 1e-9);
        }
    }
}
