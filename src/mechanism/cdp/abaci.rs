//! A Dutch auction's price at a time after its start (makerdao/dss
//! `src/abaci.sol`), and whether the auction must be reset
//! (`src/clip.sol`, `status`). Times are hours, compared as
//! `oracle::feed` compares them (t·dt hours are not exact in floating
//! point).

use crate::mechanism::oracle::feed::{at_or_after, more_than, whole_steps};

/// A price curve, as validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Curve {
    /// `LinearDecrease`: `top·(tau − dur)/tau`, 0 from `tau` on.
    Linear {
        /// Hours to reach 0.
        tau: f64,
    },
    /// `StairstepExponentialDecrease`: `top·cut^⌊dur/step⌋`.
    Stairstep {
        /// Hours per step.
        step: f64,
        /// Factor per step.
        cut: f64,
    },
    /// `ExponentialDecrease`: `top·cut^(dur/step)` (abaci's is per second;
    /// here per `step` hours).
    Exponential {
        /// Hours the factor `cut` applies to.
        step: f64,
        /// Factor per `step`.
        cut: f64,
    },
}

impl Curve {
    /// The price `dur` hours after the start (the kick or the last reset)
    /// from the starting price `top`.
    pub fn price(&self, top: f64, dur: f64) -> f64 {
        match *self {
            Curve::Linear { tau } => {
                if at_or_after(dur, tau) {
                    0.0
                } else {
                    top * (tau - dur) / tau
                }
            }
            Curve::Stairstep { step, cut } => top * cut.powf(whole_steps(dur, step)),
            Curve::Exponential { step, cut } => top * cut.powf(dur / step),
        }
    }
}

/// clip.sol's `status`: an auction must be reset when more than `tail`
/// hours have passed since its start, or its price has fallen below
/// `cusp` × its starting price.
pub fn needs_reset(dur: f64, price: f64, top: f64, tail: f64, cusp: f64) -> bool {
    more_than(dur, tail) || price < cusp * top
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_falls_in_proportion_and_stops_at_zero() {
        let c = Curve::Linear { tau: 4.0 };
        assert_eq!(c.price(100.0, 0.0), 100.0);
        assert_eq!(c.price(100.0, 1.0), 75.0);
        assert_eq!(c.price(100.0, 3.0), 25.0);
        assert_eq!(c.price(100.0, 4.0), 0.0);
        assert_eq!(c.price(100.0, 9.0), 0.0);
        // 40 steps of 0.1 h reach tau although their sum is not 4.0 exactly.
        let dur: f64 = (0..40).map(|_| 0.1).sum();
        assert_eq!(c.price(100.0, dur), 0.0);
    }

    #[test]
    fn stairstep_cuts_once_per_whole_step_and_exponential_continuously() {
        let s = Curve::Stairstep {
            step: 0.5,
            cut: 0.9,
        };
        assert_eq!(s.price(100.0, 0.0), 100.0);
        assert_eq!(s.price(100.0, 0.49), 100.0);
        assert!((s.price(100.0, 0.5) - 90.0).abs() < 1e-12);
        assert!((s.price(100.0, 1.2) - 81.0).abs() < 1e-12);
        // Three steps of 0.1 h make 0.30000000000000004 h: still 0.3 steps
        // of a 0.1 h stair are three whole ones.
        let st = Curve::Stairstep {
            step: 0.1,
            cut: 0.5,
        };
        assert!((st.price(8.0, 0.1 + 0.1 + 0.1) - 1.0).abs() < 1e-12);
        assert!((st.price(8.0, 0.3 - 1e-12) - 1.0).abs() < 1e-12);
        let e = Curve::Exponential {
            step: 0.5,
            cut: 0.9,
        };
        assert!((e.price(100.0, 0.25) - 100.0 * 0.9f64.sqrt()).abs() < 1e-12);
        assert!((e.price(100.0, 1.0) - 81.0).abs() < 1e-12);
    }

    #[test]
    fn an_auction_needs_a_reset_after_its_tail_or_below_its_cusp() {
        assert!(!needs_reset(2.0, 50.0, 100.0, 2.0, 0.4));
        assert!(needs_reset(2.01, 50.0, 100.0, 2.0, 0.4));
        assert!(!needs_reset(1.0, 40.0, 100.0, 2.0, 0.4));
        assert!(needs_reset(1.0, 39.99, 100.0, 2.0, 0.4));
    }
}
