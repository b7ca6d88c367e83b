//! The formulas of the reference liquidation rule (docs/model.md §5), as pure
//! functions so each can be tested on its own. The cascade
//! (`cascade.rs`) applies them in the order the model gives.

/// `HF = Σ_j c_j·p_j·LT_j / (d·p_d)`; ∞ when there is no debt.
#[inline]
pub fn health_factor(weighted_collateral_usd: f64, debt_usd: f64) -> f64 {
    if debt_usd > 0.0 {
        weighted_collateral_usd / debt_usd
    } else {
        f64::INFINITY
    }
}

/// Step 1: the close factor is 1 below `full_liquidation_hf`, else `close_factor`.
#[inline]
pub fn close_factor(hf: f64, close_factor: f64, full_liquidation_hf: f64) -> f64 {
    if hf < full_liquidation_hf {
        1.0
    } else {
        close_factor
    }
}

/// The outcome of step 3: how much debt is repaid and collateral seized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seizure {
    /// Debt repaid R (units of the debt asset).
    pub repay: f64,
    /// Collateral seized s (units of the collateral asset).
    pub seize: f64,
    /// Whether the seizure was capped at the available collateral.
    pub capped: bool,
}

/// Step 3: `s = R·p_d·(1 + LB)/p_j`; if s exceeds the collateral c_j, seize
/// all of it and repay only `R = c_j·p_j / ((1 + LB)·p_d)`.
#[inline]
pub fn seizure(repay: f64, p_debt: f64, p_coll: f64, bonus: f64, available: f64) -> Seizure {
    let seize = repay * p_debt * (1.0 + bonus) / p_coll;
    if seize > available {
        Seizure {
            repay: available * p_coll / ((1.0 + bonus) * p_debt),
            seize: available,
            capped: true,
        }
    } else {
        Seizure {
            repay,
            seize,
            capped: false,
        }
    }
}

/// Step 2: the entry with the largest value `c_j·p_j`; ties go to the first
/// (entries are in scenario asset order). None if every value is zero.
#[inline]
pub fn largest_collateral(values: impl Iterator<Item = f64>) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (k, v) in values.enumerate() {
        if v > 0.0 && best.is_none_or(|(_, b)| v > b) {
            best = Some((k, v));
        }
    }
    best.map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_factor_matches_the_definition() {
        // 10 ETH at 2,000 with LT 0.8 against 12,000 USDC: 16,000 / 12,000.
        let hf = health_factor(10.0 * 2000.0 * 0.8, 12_000.0);
        assert!((hf - 4.0 / 3.0).abs() < 1e-15);
        assert_eq!(health_factor(5.0, 0.0), f64::INFINITY);
    }

    #[test]
    fn close_factor_switches_below_the_full_liquidation_threshold() {
        assert_eq!(close_factor(0.97, 0.5, 0.95), 0.5);
        assert_eq!(close_factor(0.95, 0.5, 0.95), 0.5);
        assert_eq!(close_factor(0.94, 0.5, 0.95), 1.0);
        // Default 0: never.
        assert_eq!(close_factor(0.01, 0.5, 0.0), 0.5);
    }

    #[test]
    fn seizure_pays_the_bonus() {
        // Repay 1,000 USDC (p_d = 1) against ETH at 2,000 with a 5% bonus:
        // 1,050 USD of ETH = 0.525 ETH.
        let s = seizure(1000.0, 1.0, 2000.0, 0.05, 10.0);
        assert!((s.seize - 0.525).abs() < 1e-15);
        assert_eq!(s.repay, 1000.0);
        assert!(!s.capped);
    }

    #[test]
    fn seizure_is_capped_at_the_collateral_and_repay_shrinks() {
        // Only 0.4 ETH left: seize 0.4, repay 0.4·2000/1.05 = 761.904…
        let s = seizure(1000.0, 1.0, 2000.0, 0.05, 0.4);
        assert_eq!(s.seize, 0.4);
        assert!((s.repay - 800.0 / 1.05).abs() < 1e-9);
        assert!(s.capped);
        // Value seized equals value repaid times (1 + LB).
        assert!((s.seize * 2000.0 - s.repay * 1.05).abs() < 1e-9);
    }

    /// The cap applies when s *exceeds* the collateral (docs/model.md §5
    /// step 3): a seizure of exactly all of it is not capped, so a full
    /// close repays the debt as asked.
    #[test]
    fn a_seizure_of_exactly_the_collateral_is_not_capped() {
        // 1,000 USDC at 1 for ETH at 2,000 with a 5% bonus: 0.525 ETH.
        let s = seizure(1000.0, 1.0, 2000.0, 0.05, 0.525);
        assert_eq!(s.seize, 0.525);
        assert!(!s.capped);
        assert_eq!(s.repay, 1000.0);
        assert!(seizure(1000.0, 1.0, 2000.0, 0.05, 0.524).capped);
    }

    #[test]
    fn largest_collateral_breaks_ties_by_order() {
        assert_eq!(largest_collateral([3.0, 5.0, 5.0].into_iter()), Some(1));
        assert_eq!(largest_collateral([0.0, 0.0].into_iter()), None);
        assert_eq!(largest_collateral([2.0].into_iter()), Some(0));
    }
}
