//! The oracles of docs/model.md §4 against a second implementation written
//! from that section's text alone (`oracle_reference.rs`, by a developer
//! who did not read the engine), on random price paths and settings.

use contagion::Overrides;
use contagion::engine::World;
use proptest::prelude::*;

use crate::common::*;
use crate::oracle_reference::{RefGuard, RefKind, reference};

/// One protocol lending USDC against ETH (no pool: the source is the
/// fundamental, the same at every read of a step), one position too small
/// to be liquidated, and ETH moved by `returns[t − 1]` at each step t.
fn text(oracle: &str, returns: &[f64], dt: f64) -> String {
    let mut s = format!(
        r#"
[simulation]
name = "crosscheck"
steps = {}
dt_hours = {dt}
paths = 1

[[assets]]
symbol = "ETH"
price = 1000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[protocols]]
name = "p"
kind = "lending"
debt_asset = "USDC"
oracle = {oracle}

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[positions]]
protocol = "p"
debt = 1.0
collateral = {{ ETH = 1000.0 }}

[[liquidators]]
name = "bot"
capital = "unlimited"
"#,
        returns.len()
    );
    for (k, r) in returns.iter().enumerate() {
        s += &format!(
            "\n[[shocks]]\nstep = {}\nasset = \"ETH\"\nreturn = {r}\n",
            k + 1
        );
    }
    s
}

/// An oracle's TOML and the reference's settings, times in whole steps of
/// `dt` hours (the same floats in both).
fn kind_strategy(dt: f64) -> impl Strategy<Value = (String, RefKind)> {
    prop_oneof![
        (prop_oneof![Just(0.0), 0.0..0.05f64], 1u32..12, 0u32..3, prop::option::of(500.0..1000.0f64)).prop_map(
            move |(d, h, l, floor)| {
                let min = floor.unwrap_or(0.0);
                let h = h as f64 * dt;
                (
                    format!(
                        r#"{{ kind = "push", deviation = {d}, heartbeat_hours = {h:?}, latency_steps = {l}, assets = {{ ETH = {{ min_answer = {min} }} }}"#
                    ),
                    RefKind::Push {
                        deviation: d,
                        heartbeat_hours: h,
                        latency_steps: l,
                        min_answer: min,
                        max_answer: f64::INFINITY,
                    },
                )
            }
        ),
        (1u32..6, any::<bool>()).prop_map(move |(w, g)| {
            let mean = if g { "geometric" } else { "arithmetic" };
            (
                format!(r#"{{ kind = "twap", window_hours = {:?}, mean = "{mean}""#, w as f64 * dt),
                RefKind::Twap { window_steps: w, geometric: g },
            )
        }),
        (1u32..4).prop_map(move |h| (
            format!(r#"{{ kind = "delayed", hop_hours = {:?}"#, h as f64 * dt),
            RefKind::Delayed { hop_hours: h as f64 * dt },
        )),
        (1u32..5, 0.01..0.2f64).prop_map(move |(w, tol)| (
            format!(r#"{{ kind = "anchored", window_hours = {:?}, tolerance = {tol}"#, w as f64 * dt),
            RefKind::Anchored { window_steps: w, geometric: false, tolerance: tol },
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_engines_oracles_match_the_reference(
        // Steps of 0.1 h: 30 of them are 3.0000000000000004 h, and a span
        // of whole steps must still meet a limit of whole steps exactly.
        (dt, (oracle, kind)) in prop_oneof![Just(1.0), Just(0.25), Just(0.1)]
            .prop_flat_map(|dt| (Just(dt), kind_strategy(dt))),
        // Flat steps too, where strict and non-strict tests differ.
        returns in prop::collection::vec(prop_oneof![Just(0.0), -0.08..0.08f64], 5..30),
        guard in prop::option::of((0.01..0.1f64, 1u32..6, 0u32..4)),
    ) {
        let (guard_text, ref_guard) = match guard {
            None => (String::new(), None),
            Some((d, s, g)) => {
                let (s, g) = (s as f64 * dt, g as f64 * dt);
                (
                    format!(", guard = {{ max_deviation = {d}, max_staleness_hours = {s:?}, grace_hours = {g:?} }}"),
                    Some(RefGuard { max_deviation: d, max_staleness_hours: s, grace_hours: g }),
                )
            }
        };
        let oracle = format!("{oracle}{guard_text} }}");
        let sc = scenario(&text(&oracle, &returns, dt), &Overrides::default());
        let rec = World::new(&sc).run_path(0).unwrap();
        let o = &rec.oracles;
        let eth: Vec<usize> = (0..o.step.len()).filter(|&k| o.asset[k] == 0).collect();
        let source: Vec<f64> = eth.iter().map(|&k| o.source_price[k]).collect();
        // A read at the start of each step's cascade (no liquidation, so one
        // round) and one at its end; step 0 has only the end-of-step read.
        let mut reads = vec![2u32; source.len()];
        reads[0] = 1;
        let want = reference(&kind, ref_guard.as_ref(), &source, &reads, dt);
        prop_assert_eq!(want.len(), eth.len());
        // The guard watches every asset the protocol uses: USDC's feed too.
        // Liquidations pause while either asset's own alarm or grace runs
        // (the last alarm of any asset is the latest of theirs).
        let usdc: Vec<f64> = (0..o.step.len()).filter(|&k| o.asset[k] == 1).map(|k| o.source_price[k]).collect();
        // (The floor is ETH's alone.)
        let usdc_kind = match &kind {
            RefKind::Push { deviation, heartbeat_hours, latency_steps, max_answer, .. } => RefKind::Push {
                deviation: *deviation,
                heartbeat_hours: *heartbeat_hours,
                latency_steps: *latency_steps,
                min_answer: 0.0,
                max_answer: *max_answer,
            },
            other => other.clone(),
        };
        let usdc = reference(&usdc_kind, ref_guard.as_ref(), &usdc, &reads, dt);
        for (t, (&k, w)) in eth.iter().zip(&want).enumerate() {
            let close = (o.oracle_price[k] - w.price).abs() <= 1e-9 * w.price.abs().max(1.0);
            prop_assert!(close, "{}: step {}: price {} vs {}", oracle, t, o.oracle_price[k], w.price);
            prop_assert!((o.staleness_hours[k] - w.staleness_hours).abs() < 1e-9, "{}: step {}: staleness {} vs {}", oracle, t, o.staleness_hours[k], w.staleness_hours);
            prop_assert_eq!(o.updated[k], w.updated, "{}: step {}", oracle, t);
            prop_assert_eq!(o.liquidations_paused[k], w.paused || usdc[t].paused, "{}: step {}", oracle, t);
        }
    }
}
