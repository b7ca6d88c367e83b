//! Exact running sums of f64: a superaccumulator (the `xsum` crate, Neal's
//! small accumulator) rounded once when read. Adding a new value and
//! removing the old one leaves exactly the sum of what is held, whatever the
//! order of the changes, so a total kept up to date along a path and the same
//! total recomputed from scratch are the same bits.

use xsum::{Xsum, XsumSmall};

/// An exact sum of f64 values.
#[derive(Default)]
pub struct ExactSum(XsumSmall);

impl ExactSum {
    /// Add `x`.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.0.add(x);
    }

    /// One of the summed values goes from `old` to `new`.
    #[inline]
    pub fn change(&mut self, old: f64, new: f64) {
        if old != new {
            self.0.add(-old);
            self.0.add(new);
        }
    }

    /// The sum, rounded once (an empty or cancelled sum is +0).
    pub fn value(&mut self) -> f64 {
        self.0.sum() + 0.0
    }
}

impl std::fmt::Debug for ExactSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExactSum")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large value added and removed leaves the small ones' sum to the
    /// last bit (a running f64 sum would lose 0.1 + 0.2 below 1e17's
    /// spacing of 16); what cancels, or was never added, reads +0, not −0.
    #[test]
    fn changes_leave_the_exact_sum_of_what_is_held() {
        let mut s = ExactSum::default();
        assert_eq!(s.value().to_bits(), 0.0_f64.to_bits());
        s.change(0.0, 1e17);
        s.add(0.1);
        s.add(0.2);
        s.change(1e17, 0.0);
        assert_eq!(s.value().to_bits(), (0.1_f64 + 0.2).to_bits());
        s.change(0.1, 0.1);
        assert_eq!(s.value().to_bits(), (0.1_f64 + 0.2).to_bits());
        let mut z = ExactSum::default();
        z.add(-5.0);
        z.add(5.0);
        assert_eq!(z.value().to_bits(), 0.0_f64.to_bits());
        assert_eq!(format!("{z:?}"), "ExactSum");
    }
}
