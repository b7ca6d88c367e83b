//! Properties of the contagion metrics on random networks, and the clearing
//! vector against a second, independent implementation.

use contagion::graph::clearing::clear;
use contagion::graph::debtrank::{debtrank, impact_matrix};
use proptest::prelude::*;

/// Picard iteration `p ← min(p̄, e + Πᵀp)` from p = p̄: a decreasing sequence
/// that converges to the greatest clearing vector (Eisenberg & Noe 2001,
/// Theorem 2). Written independently of the fictitious-default solver.
fn picard(l: &[Vec<f64>], e: &[f64]) -> Vec<f64> {
    let n = e.len();
    let pbar: Vec<f64> = l.iter().map(|r| r.iter().sum()).collect();
    let mut p = pbar.clone();
    for _ in 0..200_000 {
        let next: Vec<f64> = (0..n)
            .map(|i| {
                let inflow: f64 = (0..n)
                    .filter(|&j| pbar[j] > 0.0)
                    .map(|j| l[j][i] / pbar[j] * p[j])
                    .sum();
                pbar[i].min(e[i] + inflow)
            })
            .collect();
        let change = next
            .iter()
            .zip(&p)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        p = next;
        if change < 1e-13 {
            break;
        }
    }
    p
}

fn network() -> impl Strategy<Value = (Vec<Vec<f64>>, Vec<f64>)> {
    (2usize..7).prop_flat_map(|n| {
        (
            proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(0.0), 0.0..100.0f64], n),
                n,
            ),
            proptest::collection::vec(0.5..60.0f64, n),
        )
            .prop_map(|(mut l, e)| {
                for (i, row) in l.iter_mut().enumerate() {
                    row[i] = 0.0;
                }
                (l, e)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_clearing_vector_is_a_fixed_point_within_bounds((l, e) in network()) {
        let c = clear(&l, &e).unwrap();
        let n = e.len();
        let mut paid_in = 0.0;
        for i in 0..n {
            let inflow: f64 = (0..n)
                .filter(|&j| c.obligations[j] > 0.0)
                .map(|j| l[j][i] / c.obligations[j] * c.payments[j])
                .sum();
            paid_in += inflow;
            let p = c.payments[i];
            // Fixed point: pays in full or everything it has.
            prop_assert!((p - c.obligations[i].min(e[i] + inflow)).abs() < 1e-7 * (1.0 + c.obligations[i]));
            // Never more than owed, never more than it has.
            prop_assert!(p >= 0.0 && p <= c.obligations[i] + 1e-9);
            prop_assert!(p <= e[i] + inflow + 1e-7);
            prop_assert_eq!(c.defaulted[i], p < c.obligations[i] - 1e-7 * (1.0 + c.obligations[i]));
        }
        // Money is conserved: what is paid is received.
        let paid_out: f64 = c.payments.iter().sum();
        prop_assert!((paid_in - paid_out).abs() < 1e-7 * (1.0 + paid_out));
        // And it is the greatest clearing vector: Picard iteration agrees.
        let q = picard(&l, &e);
        for (a, b) in c.payments.iter().zip(&q) {
            prop_assert!((a - b).abs() < 1e-6 * (1.0 + b), "{:?} vs {:?}", c.payments, q);
        }
    }

    #[test]
    fn debtrank_is_bounded_and_monotone_in_the_shock(
        (l, capital) in network(),
        shocked in proptest::collection::vec(any::<bool>(), 7),
        psi in 0.01..1.0f64,
        more in 0.0..1.0f64,
    ) {
        let n = capital.len();
        let w = impact_matrix(&l, &capital);
        let value: Vec<f64> = (0..n).map(|j| l[j].iter().sum::<f64>() + capital[j]).collect();
        let shock = |s: f64| -> Vec<f64> { (0..n).map(|i| if shocked[i] { s } else { 0.0 }).collect() };
        let small = debtrank(&w, &shock(psi), &value).unwrap();
        let big = debtrank(&w, &shock(psi + (1.0 - psi) * more), &value).unwrap();
        for r in [&small, &big] {
            prop_assert!((0.0..=1.0).contains(&r.debtrank));
            prop_assert!((0.0..=1.0 + 1e-12).contains(&r.total_loss));
            prop_assert!(r.distress.iter().all(|h| (0.0..=1.0).contains(h)));
        }
        // A larger shock on the same nodes never loses less value, node by node.
        for (a, b) in small.distress.iter().zip(&big.distress) {
            prop_assert!(b + 1e-12 >= *a);
        }
        prop_assert!(big.total_loss + 1e-12 >= small.total_loss);
    }
}
