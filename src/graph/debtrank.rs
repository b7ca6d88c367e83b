//! DebtRank (Battiston, Puliga, Kaushik, Tasca & Caldarelli, "DebtRank: Too
//! Central to Fail?", Scientific Reports 2:541, 2012).
//!
//! Node j has capital (equity) `E_j` and lends `A_ji` to node i. The impact
//! of i's distress on j is `W_ij = min(1, A_ji / E_j)`: the share of j's
//! capital lost if i's liabilities to j are written off. Each node has a
//! distress `h ∈ [0, 1]` and a state: undistressed, distressed, or inactive.
//! A distressed node passes its distress on once and then becomes inactive:
//!
//! `h_j(t) = min(1, h_j(t−1) + Σ_{i distressed at t−1} W_ij · h_i(t−1))`,
//!
//! for every node j (inactive ones too: they can still lose value, they just
//! never pass distress on a second time); a node with `h > 0` that was
//! undistressed becomes distressed, and every distressed node becomes
//! inactive, so no impact is counted twice along a cycle. The DebtRank of an initial shock is the
//! economic value lost beyond the shock itself,
//! `R = Σ_j v_j h_j(T) − Σ_j v_j h_j(1)`, with `v_j` the nodes' shares of the
//! total economic value (summing to 1), so R ∈ [0, 1].

/// Why DebtRank inputs were rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DebtRankError {
    /// Sizes disagree.
    #[error("{what} has {got} entries, expected {n}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// Its size.
        got: usize,
        /// Nodes.
        n: usize,
    },
    /// A value is out of range.
    #[error("{what} is {value}: {rule}")]
    Value {
        /// Which entry.
        what: String,
        /// Its value.
        value: f64,
        /// The rule it breaks.
        rule: &'static str,
    },
}

/// The outcome of a DebtRank propagation.
#[derive(Debug, Clone, PartialEq)]
pub struct DebtRank {
    /// Final distress of each node, in [0, 1].
    pub distress: Vec<f64>,
    /// R: value lost beyond the initial shock, in [0, 1].
    pub debtrank: f64,
    /// Value lost including the initial shock, `Σ v_j h_j(T)`.
    pub total_loss: f64,
    /// Propagation rounds until no node was distressed.
    pub rounds: usize,
}

/// The impact matrix `W_ij = min(1, A_ji / E_j)` from `exposure[j][i] = A_ji`
/// (what j lent to i) and capital `E_j`. A node with no capital is wiped out
/// by any exposure: its row entries are 1 where it has exposure.
pub fn impact_matrix(exposure: &[Vec<f64>], capital: &[f64]) -> Vec<Vec<f64>> {
    let n = capital.len();
    let mut w = vec![vec![0.0; n]; n];
    for (j, row) in exposure.iter().enumerate() {
        for (i, &a) in row.iter().enumerate() {
            if a > 0.0 && i != j {
                w[i][j] = if capital[j] > 0.0 {
                    (a / capital[j]).min(1.0)
                } else {
                    1.0
                };
            }
        }
    }
    w
}

/// Propagate an initial distress `shock` (h(1), in [0, 1]) through impact
/// matrix `w` with economic values `value` (any non-negative weights; they
/// are normalised to sum to 1).
pub fn debtrank(w: &[Vec<f64>], shock: &[f64], value: &[f64]) -> Result<DebtRank, DebtRankError> {
    let n = shock.len();
    if w.len() != n || w.iter().any(|r| r.len() != n) {
        return Err(DebtRankError::Shape {
            what: "impact matrix",
            got: w.len(),
            n,
        });
    }
    if value.len() != n {
        return Err(DebtRankError::Shape {
            what: "value",
            got: value.len(),
            n,
        });
    }
    for (i, &h) in shock.iter().enumerate() {
        if !(0.0..=1.0).contains(&h) {
            return Err(DebtRankError::Value {
                what: format!("shock[{i}]"),
                value: h,
                rule: "initial distress must be in [0, 1]",
            });
        }
    }
    for (i, row) in w.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            if !(0.0..=1.0).contains(&x) {
                return Err(DebtRankError::Value {
                    what: format!("W[{i}][{j}]"),
                    value: x,
                    rule: "impacts must be in [0, 1]",
                });
            }
        }
    }
    let total: f64 = value.iter().sum();
    for (i, &v) in value.iter().enumerate() {
        if !(v.is_finite() && v >= 0.0) {
            return Err(DebtRankError::Value {
                what: format!("value[{i}]"),
                value: v,
                rule: "economic values must be finite and ≥ 0",
            });
        }
    }
    if total <= 0.0 {
        return Err(DebtRankError::Value {
            what: "value".into(),
            value: total,
            rule: "economic values must not all be zero",
        });
    }
    let v: Vec<f64> = value.iter().map(|x| x / total).collect();

    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Undistressed,
        Distressed,
        Inactive,
    }
    let mut h = shock.to_vec();
    let mut state: Vec<State> = h
        .iter()
        .map(|&x| {
            if x > 0.0 {
                State::Distressed
            } else {
                State::Undistressed
            }
        })
        .collect();
    let mut rounds = 0;
    while state.contains(&State::Distressed) {
        rounds += 1;
        let mut next = h.clone();
        for j in 0..n {
            // Every node receives; only distressed nodes pass distress on.
            let add: f64 = (0..n)
                .filter(|&i| state[i] == State::Distressed)
                .map(|i| w[i][j] * h[i])
                .sum();
            next[j] = (h[j] + add).min(1.0);
        }
        for j in 0..n {
            state[j] = match state[j] {
                State::Distressed => State::Inactive,
                State::Undistressed if next[j] > 0.0 => State::Distressed,
                s => s,
            };
        }
        h = next;
    }
    let total_loss: f64 = h.iter().zip(&v).map(|(a, b)| a * b).sum();
    let initial: f64 = shock.iter().zip(&v).map(|(a, b)| a * b).sum();
    Ok(DebtRank {
        debtrank: (total_loss - initial).clamp(0.0, 1.0),
        distress: h,
        total_loss,
        rounds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_is_exposure_over_capital_capped_at_one() {
        // B (1) lent 50 to A (0) and has capital 100: W_AB = 0.5.
        // C (2) lent 300 to A and has capital 100: W_AC = 1 (capped).
        let exposure = vec![
            vec![0.0, 0.0, 0.0],
            vec![50.0, 0.0, 0.0],
            vec![300.0, 0.0, 0.0],
        ];
        let w = impact_matrix(&exposure, &[10.0, 100.0, 100.0]);
        assert_eq!(w[0][1], 0.5);
        assert_eq!(w[0][2], 1.0);
        assert_eq!(w[1][0], 0.0);
    }

    #[test]
    fn two_nodes_worked_by_hand() {
        // W_AB = 0.5; A is wiped out (h_A = 1), equal values.
        // t=1: A distressed. t=2: h_B = 0.5·1 = 0.5, A inactive, B distressed.
        // t=3: B can only hit A, which is inactive. Final h = (1, 0.5).
        // R = (0.5·1 + 0.5·0.5) − 0.5·1 = 0.25.
        let w = vec![vec![0.0, 0.5], vec![0.0, 0.0]];
        let r = debtrank(&w, &[1.0, 0.0], &[1.0, 1.0]).unwrap();
        assert_eq!(r.distress, vec![1.0, 0.5]);
        assert!((r.debtrank - 0.25).abs() < 1e-15);
        assert!((r.total_loss - 0.75).abs() < 1e-15);
    }

    #[test]
    fn distress_travels_along_a_chain_and_each_node_passes_it_on_once() {
        // A → B (0.5) → C (0.5), and a cycle back C → A (1.0). A starts at 0.4.
        // t=2: h_B = 0.2 (A passes 0.4·0.5, then A is inactive). t=3: h_C =
        // 0.1. t=4: C passes 0.1 to A, which loses it (h_A = 0.5) but, being
        // inactive, does not pass it round the cycle again. Final
        // (0.5, 0.2, 0.1); R = (0.5 + 0.2 + 0.1)/3 − 0.4/3 = 0.4/3.
        let w = vec![
            vec![0.0, 0.5, 0.0],
            vec![0.0, 0.0, 0.5],
            vec![1.0, 0.0, 0.0],
        ];
        let r = debtrank(&w, &[0.4, 0.0, 0.0], &[1.0, 1.0, 1.0]).unwrap();
        let want = [0.5, 0.2, 0.1];
        for (g, w) in r.distress.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{:?}", r.distress);
        }
        assert!((r.debtrank - 0.4 / 3.0).abs() < 1e-12);
        assert_eq!(r.rounds, 3);
    }

    #[test]
    fn rejects_bad_inputs() {
        let w = vec![vec![0.0, 0.5], vec![0.0, 0.0]];
        assert!(debtrank(&w, &[1.5, 0.0], &[1.0, 1.0]).is_err());
        assert!(debtrank(&w, &[1.0], &[1.0, 1.0]).is_err());
        assert!(debtrank(&w, &[1.0, 0.0], &[0.0, 0.0]).is_err());
        assert!(debtrank(&[vec![0.0, 2.0], vec![0.0, 0.0]], &[1.0, 0.0], &[1.0, 1.0]).is_err());
        // Two rows, one of them short: not an n × n matrix.
        assert!(debtrank(&[vec![0.0, 0.5], vec![0.0]], &[1.0, 0.0], &[1.0, 1.0]).is_err());
        // Values must be finite and non-negative, not just one of the two.
        for bad in [-1.0, f64::INFINITY] {
            let e = debtrank(&w, &[1.0, 0.0], &[1.0, bad]).unwrap_err();
            assert!(e.to_string().contains("value[1]"), "{e}");
        }
    }

    /// Only lending to another node is an impact: a node's claim on itself
    /// is none, and a node without capital is wiped out only by what it
    /// lent, not by every node it did not lend to.
    #[test]
    fn no_exposure_and_self_exposure_have_no_impact() {
        // B (1) has no capital and lent 10 to A (0) and 5 to itself; C (2)
        // lent nothing.
        let exposure = vec![
            vec![0.0, 0.0, 0.0],
            vec![10.0, 5.0, 0.0],
            vec![0.0, 0.0, 0.0],
        ];
        let w = impact_matrix(&exposure, &[10.0, 0.0, 0.0]);
        assert_eq!(w[0][1], 1.0, "B is wiped out by A's default");
        assert_eq!(w[1][1], 0.0, "no impact on itself");
        assert_eq!(w[2][1], 0.0, "B lent nothing to C");
        assert_eq!(w[0][2], 0.0, "C lent nothing to A");
    }
}
