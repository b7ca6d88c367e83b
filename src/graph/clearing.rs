//! The Eisenberg–Noe clearing vector (Eisenberg & Noe, "Systemic Risk in
//! Financial Systems", Management Science 47(2), 2001), computed with their
//! fictitious-default algorithm.
//!
//! Node i owes `L[i][j]` to node j and holds external assets `e[i] ≥ 0`.
//! With total obligations `p̄_i = Σ_j L_ij` and relative liabilities
//! `Π_ij = L_ij / p̄_i`, a clearing vector p satisfies
//! `p_i = min(p̄_i, e_i + Σ_j Π_ji p_j)`: every node pays in full or pays
//! everything it has, pro rata to its creditors. The algorithm returns the
//! greatest clearing vector (with e ≥ 0 it is also the unique one when the
//! network is regular, e.g. every node has positive external assets).
//!
//! Fictitious default: start from full payment, find the nodes that cannot
//! pay even if everyone else pays in full, solve the linear system in which
//! exactly those nodes default, and repeat with the newly defaulting nodes
//! until the default set stops growing (at most n rounds).
//!
//! "Cannot pay" allows for rounding: node i defaults when what it has is
//! below `p̄_i − max(t_i, 1e-12·(p̄_i + 1))`, with `t_i` an absolute
//! tolerance of the caller's (0 for [`clear`]). A node short by no more
//! pays in full.

/// Why clearing inputs were rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClearingError {
    /// The liability matrix is not square or does not match `e`.
    #[error("liabilities are {rows}×{cols} but there are {n} external asset values")]
    Shape {
        /// Rows of L.
        rows: usize,
        /// Columns of the offending row.
        cols: usize,
        /// Length of e.
        n: usize,
    },
    /// A liability or asset is negative or not finite, or a node owes itself.
    #[error(
        "{what} is {value}: liabilities and external assets must be finite and ≥ 0, with no self-liability"
    )]
    Value {
        /// Which entry.
        what: String,
        /// Its value.
        value: f64,
    },
}

/// The result of clearing.
#[derive(Debug, Clone, PartialEq)]
pub struct Clearing {
    /// Payment of each node, `0 ≤ p_i ≤ p̄_i`.
    pub payments: Vec<f64>,
    /// Total obligation p̄ of each node.
    pub obligations: Vec<f64>,
    /// Whether each node defaults (pays less than p̄).
    pub defaulted: Vec<bool>,
    /// Equity after clearing, `e_i + Σ_j Π_ji p_j − p_i` (0 for defaulters).
    pub equity: Vec<f64>,
    /// Rounds of the fictitious-default algorithm.
    pub rounds: usize,
}

impl Clearing {
    /// Shortfall `Σ (p̄_i − p_i)`: what creditors do not receive.
    pub fn shortfall(&self) -> f64 {
        self.obligations
            .iter()
            .zip(&self.payments)
            .map(|(o, p)| o - p)
            .sum()
    }
}

/// Clear a network: `liabilities[i][j]` is what i owes j, `external[i]` what i
/// holds outside the network.
pub fn clear(liabilities: &[Vec<f64>], external: &[f64]) -> Result<Clearing, ClearingError> {
    clear_with_tolerance(liabilities, external, &vec![0.0; external.len()])
}

/// [`clear`], where node i pays in full unless it is short by more than
/// `tolerance[i]` (absolute, in the liabilities' unit).
pub fn clear_with_tolerance(
    liabilities: &[Vec<f64>],
    external: &[f64],
    tolerance: &[f64],
) -> Result<Clearing, ClearingError> {
    // Long: input checks, then the fictitious-default algorithm as one
    // loop, step for step as Eisenberg and Noe (2001) give it.
    let n = external.len();
    for (i, row) in liabilities.iter().enumerate() {
        if liabilities.len() != n || row.len() != n {
            return Err(ClearingError::Shape {
                rows: liabilities.len(),
                cols: row.len(),
                n,
            });
        }
        for (j, &v) in row.iter().enumerate() {
            if !v.is_finite() || v < 0.0 || (i == j && v != 0.0) {
                return Err(ClearingError::Value {
                    what: format!("L[{i}][{j}]"),
                    value: v,
                });
            }
        }
    }
    if liabilities.len() != n {
        return Err(ClearingError::Shape {
            rows: liabilities.len(),
            cols: n,
            n,
        });
    }
    for (i, &v) in external.iter().enumerate() {
        if !v.is_finite() || v < 0.0 {
            return Err(ClearingError::Value {
                what: format!("e[{i}]"),
                value: v,
            });
        }
    }
    if tolerance.len() != n {
        return Err(ClearingError::Shape {
            rows: n,
            cols: tolerance.len(),
            n,
        });
    }
    for (i, &v) in tolerance.iter().enumerate() {
        if !v.is_finite() || v < 0.0 {
            return Err(ClearingError::Value {
                what: format!("tolerance[{i}]"),
                value: v,
            });
        }
    }

    let obligations: Vec<f64> = liabilities.iter().map(|r| r.iter().sum()).collect();
    // Π_ij = L_ij / p̄_i.
    let pi: Vec<Vec<f64>> = liabilities
        .iter()
        .zip(&obligations)
        .map(|(row, &o)| {
            row.iter()
                .map(|&l| if o > 0.0 { l / o } else { 0.0 })
                .collect()
        })
        .collect();
    let inflow = |p: &[f64], i: usize| -> f64 { (0..n).map(|j| pi[j][i] * p[j]).sum::<f64>() };
    // "Cannot pay", up to rounding (module doc).
    let short = |i: usize, available: f64| {
        let owed = obligations[i];
        available < owed - tolerance[i].max(1e-12 * (owed + 1.0))
    };

    let mut payments = obligations.clone();
    let mut defaulted = vec![false; n];
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut grew = false;
        for i in 0..n {
            if !defaulted[i] && short(i, external[i] + inflow(&payments, i)) {
                defaulted[i] = true;
                grew = true;
            }
        }
        if !grew || rounds > n + 1 {
            break;
        }
        // Solve for the defaulters' payments with everyone else paying in full:
        // for i ∈ D: p_i − Σ_{j∈D} Π_ji p_j = e_i + Σ_{j∉D} Π_ji p̄_j.
        let d: Vec<usize> = (0..n).filter(|&i| defaulted[i]).collect();
        let m = d.len();
        let mut a = vec![vec![0.0; m]; m];
        let mut b = vec![0.0; m];
        for (r, &i) in d.iter().enumerate() {
            a[r][r] = 1.0;
            for (c, &j) in d.iter().enumerate() {
                a[r][c] -= pi[j][i];
            }
            b[r] = external[i]
                + (0..n)
                    .filter(|&j| !defaulted[j])
                    .map(|j| pi[j][i] * obligations[j])
                    .sum::<f64>();
        }
        let x = solve(a, b);
        for (r, &i) in d.iter().enumerate() {
            // The system's solution is within [0, p̄_i] up to rounding.
            payments[i] = x[r].clamp(0.0, obligations[i]);
        }
    }
    let equity = (0..n)
        .map(|i| (external[i] + inflow(&payments, i) - payments[i]).max(0.0))
        .collect();
    Ok(Clearing {
        payments,
        obligations,
        defaulted,
        equity,
        rounds,
    })
}

/// Solve a·x = b by Gaussian elimination with partial pivoting. The systems
/// here are `I − Πᵀ` restricted to defaulters. They are singular only if a
/// closed group of defaulters owes nothing outside the group, and fictitious
/// default never marks such a group as defaulting in full: with outside
/// assets, all of it defaulting would need the group to pay out more than it
/// holds; without, the greatest clearing vector scales the group's payments
/// up until one member pays in full. Should one appear all the same, any
/// payment in [0, p̄] clears it and it is given 0: a column with no pivot
/// is skipped without swapping rows, so the other unknowns keep their
/// equations.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let m = b.len();
    for col in 0..m {
        let pivot = (col..m)
            .max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))
            .expect("non-empty");
        if a[pivot][col].abs() < 1e-300 {
            continue;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let p = a[col][col];
        for r in col + 1..m {
            let f = a[r][col] / p;
            if f != 0.0 {
                let (top, rest) = a.split_at_mut(r);
                for (x, y) in rest[0][col..].iter_mut().zip(&top[col][col..]) {
                    *x -= f * y;
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; m];
    for r in (0..m).rev() {
        let s: f64 = (r + 1..m).map(|c| a[r][c] * x[c]).sum();
        x[r] = if a[r][r].abs() < 1e-300 {
            0.0
        } else {
            (b[r] - s) / a[r][r]
        };
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A closed pair owing only each other with nothing outside (unknowns
    /// 0 and 1: any equal payments clear) beside a defaulter with 5 of
    /// assets (unknown 2). Swapping a row into a column without a pivot
    /// moved unknown 2's equation under a zero diagonal and returned 0 for
    /// it; the pair's free payments are given 0.
    #[test]
    fn a_singular_group_does_not_take_another_unknowns_equation() {
        let a = vec![
            vec![1.0, -1.0, 0.0],
            vec![-1.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
        ];
        assert_eq!(solve(a, vec![0.0, 0.0, 5.0]), [0.0, 0.0, 5.0]);
        // A regular system is solved exactly: x = (1, 2, 3).
        let a = vec![
            vec![0.0, 2.0, 1.0],
            vec![1.0, 0.0, 0.0],
            vec![-0.5, 0.0, 2.0],
        ];
        let x = solve(a, vec![7.0, 1.0, 5.5]);
        for (got, want) in x.iter().zip([1.0, 2.0, 3.0]) {
            assert!((got - want).abs() < 1e-12, "{x:?}");
        }
    }

    /// The three-bank ring of the `default_clearing` example in the R
    /// package systemicrisk (Gandy & Veraart; CRAN documentation): external
    /// assets (1/2, 5/8, 3/4), external liabilities (3/2, 1/2, 1/2), and
    /// each bank owing 1/2 to each other bank. The documentation gives the
    /// inputs only; the vector is derived here by hand, by fictitious default.
    /// External liabilities become a fourth node with nothing to pay.
    /// Round 1: bank 1 has 1/2 + 1/2 + 1/2 < 5/2 and defaults. Round 2: with
    /// bank 1 paying 3/2, bank 2 has 5/8 + 3/10 + 1/2 < 3/2 and defaults.
    /// Then p₁ = 1 + p₂/3 and p₂ = 9/8 + p₁/5, so p₁ = 165/112, p₂ = 159/112,
    /// and bank 3 (3/4 + p₁/5 + p₂/3 = 1.5179 ≥ 3/2) pays in full.
    #[test]
    fn the_systemicrisk_ring_example() {
        let l = vec![
            vec![0.0, 0.5, 0.5, 1.5],
            vec![0.5, 0.0, 0.5, 0.5],
            vec![0.5, 0.5, 0.0, 0.5],
            vec![0.0, 0.0, 0.0, 0.0],
        ];
        let c = clear(&l, &[0.5, 0.625, 0.75, 0.0]).unwrap();
        assert!(close(
            &c.payments,
            &[165.0 / 112.0, 159.0 / 112.0, 1.5, 0.0]
        ));
        assert_eq!(c.defaulted, [true, true, false, false]);
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn a_chain_passes_the_shortfall_on() {
        // A owes B 10, B owes C 10; A holds 4, B holds 3. A pays its 4; B
        // then has 3 + 4 = 7 and pays 7. C owes nothing.
        let l = vec![
            vec![0.0, 10.0, 0.0],
            vec![0.0, 0.0, 10.0],
            vec![0.0, 0.0, 0.0],
        ];
        let c = clear(&l, &[4.0, 3.0, 0.0]).unwrap();
        assert!(close(&c.payments, &[4.0, 7.0, 0.0]));
        assert_eq!(c.defaulted, [true, true, false]);
        assert!(close(&c.equity, &[0.0, 0.0, 7.0]));
        assert!((c.shortfall() - 9.0).abs() < 1e-12);
        // A defaults in the first round, B in the second; the third finds
        // no new default and stops.
        assert_eq!(c.rounds, 3);
    }

    /// A closed group of defaulters that owes only itself and has no
    /// outside assets: `I − Πᵀ` is singular and any payment clears; the
    /// guard gives 0 (module doc), not 0/0.
    #[test]
    fn a_closed_group_without_assets_pays_zero_not_nan() {
        let x = solve(vec![vec![1.0, -1.0], vec![-1.0, 1.0]], vec![0.0, 0.0]);
        assert_eq!(x, [0.0, 0.0]);
    }

    #[test]
    fn payments_are_pro_rata() {
        // A owes B 6 and C 4 and holds 5: pays 5, so B gets 3 and C gets 2.
        // B owes C 5 and holds 1: has 1 + 3 = 4, pays 4.
        let l = vec![
            vec![0.0, 6.0, 4.0],
            vec![0.0, 0.0, 5.0],
            vec![0.0, 0.0, 0.0],
        ];
        let c = clear(&l, &[5.0, 1.0, 0.0]).unwrap();
        assert!(close(&c.payments, &[5.0, 4.0, 0.0]));
        assert!(close(&c.equity, &[0.0, 0.0, 6.0]));
    }

    #[test]
    fn a_cycle_is_solved_jointly() {
        // A owes B 10, B owes A 10, C: A holds 2, B holds 1, and B also owes
        // C 10. Let p_A, p_B be the payments. B's creditors are A and C in
        // equal shares. A: p_A = min(10, 2 + p_B/2); B: p_B = min(20, 1 + p_A).
        // Both default: p_A = 2 + (1 + p_A)/2 ⇒ p_A = 5, p_B = 6.
        let l = vec![
            vec![0.0, 10.0, 0.0],
            vec![10.0, 0.0, 10.0],
            vec![0.0, 0.0, 0.0],
        ];
        let c = clear(&l, &[2.0, 1.0, 0.0]).unwrap();
        assert!(close(&c.payments, &[5.0, 6.0, 0.0]));
        assert!(c.rounds >= 2);
    }

    #[test]
    fn solvent_networks_pay_in_full() {
        let l = vec![vec![0.0, 3.0], vec![2.0, 0.0]];
        let c = clear(&l, &[1.0, 1.0]).unwrap();
        assert!(close(&c.payments, &[3.0, 2.0]));
        assert_eq!(c.defaulted, [false, false]);
        assert!(close(&c.equity, &[0.0, 2.0]));
    }

    #[test]
    fn bad_inputs_are_rejected() {
        assert!(matches!(
            clear(&[vec![0.0, 1.0]], &[1.0, 1.0]),
            Err(ClearingError::Shape { .. })
        ));
        assert!(matches!(
            clear(&[vec![1.0]], &[1.0]),
            Err(ClearingError::Value { .. })
        ));
        assert!(matches!(
            clear(&[vec![0.0, -1.0], vec![0.0, 0.0]], &[1.0, 1.0]),
            Err(ClearingError::Value { .. })
        ));
        assert!(clear(&[vec![0.0]], &[f64::NAN]).is_err());
    }

    /// A's 10 is owed by a node holding 10 − 1e-7: it defaults without a
    /// tolerance (short by more than 1e-12·11) and pays in full with a
    /// tolerance of 1e-6, but not with one of 1e-8.
    #[test]
    fn a_tolerance_lets_a_node_short_by_less_pay_in_full() {
        let l = vec![vec![0.0, 10.0], vec![0.0, 0.0]];
        let e = [10.0 - 1e-7, 0.0];
        let c = clear(&l, &e).unwrap();
        assert_eq!(c.defaulted, [true, false]);
        assert_eq!(c.payments[0], 10.0 - 1e-7);
        let c = clear_with_tolerance(&l, &e, &[1e-6, 0.0]).unwrap();
        assert_eq!(c.defaulted, [false, false]);
        assert_eq!((c.payments[0], c.shortfall()), (10.0, 0.0));
        let c = clear_with_tolerance(&l, &e, &[1e-8, 0.0]).unwrap();
        assert_eq!(c.defaulted, [true, false]);
        assert!(clear_with_tolerance(&l, &e, &[-1.0, 0.0]).is_err());
        assert!(clear_with_tolerance(&l, &e, &[0.0]).is_err());
    }

    /// The rounding floor (module doc): node i defaults only when short of
    /// p̄ by *more than* 1e-12·(p̄ + 1). Owing 1, that is 2e-12: short by
    /// 1.5e-12 it pays in full (a floor of 1e-12·p̄, 1e-12/(p̄ + 1) or
    /// 1e-12·(p̄ − 1) would make it default), and short by exactly 2e-12
    /// it still pays in full (the comparison is strict).
    #[test]
    fn rounding_within_the_floor_is_not_a_default() {
        let l = vec![vec![0.0, 1.0], vec![0.0, 0.0]];
        for e0 in [1.0 - 1.5e-12, 1.0 - 1e-12 * (1.0 + 1.0)] {
            let c = clear(&l, &[e0, 0.0]).unwrap();
            assert_eq!(c.defaulted, [false, false], "holding {e0}");
            assert_eq!(c.payments[0], 1.0);
        }
        let c = clear(&l, &[1.0 - 2.5e-12, 0.0]).unwrap();
        assert_eq!(c.defaulted, [true, false]);
    }
}
