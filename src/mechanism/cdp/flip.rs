//! An English auction (makerdao/dss `src/flip.sol`): rising bids for the
//! lot up to the tab (`tend`), then a falling lot for the tab (`dent`),
//! settled (`deal`) once a bid has stood `ttl` hours or the auction has
//! run `tau`; restarted (`tick`) when it ran out with no bid. Amounts in
//! stablecoin unless named units; times in hours.

use crate::mechanism::oracle::feed::at_or_after;

/// One live English auction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flip {
    /// The high bid (0 before any).
    pub bid: f64,
    /// Collateral units on offer.
    pub lot: f64,
    /// The high bidder (a keeper index), if any.
    pub guy: Option<usize>,
    /// Hours at which the high bid wins (`tic`; None before any bid).
    pub tic: Option<f64>,
    /// Hours at which the auction ends (`end`).
    pub end: f64,
    /// What it must raise (`tab`).
    pub tab: f64,
}

/// Whether time `a` is strictly before `b` (with the tolerance of
/// `oracle::feed`: t·dt hours are not exact).
fn before(a: f64, b: f64) -> bool {
    !at_or_after(a, b)
}

impl Flip {
    /// A new auction at `now` (flip.sol `kick`, with bid 0).
    pub fn kick(tab: f64, lot: f64, now: f64, tau: f64) -> Self {
        Flip {
            bid: 0.0,
            lot,
            guy: None,
            tic: None,
            end: now + tau,
            tab,
        }
    }

    /// Whether bids are still taken at `now`: the high bid has not stood
    /// its time (`tic > now` or no bid) and the auction has not ended
    /// (`end > now`).
    pub fn open(&self, now: f64) -> bool {
        self.tic.is_none_or(|tic| before(now, tic)) && before(now, self.end)
    }

    /// Whether the auction is in its `dent` phase (the bid is the tab).
    pub fn denting(&self) -> bool {
        self.bid == self.tab
    }

    /// Whether `tend` accepts `bid`: open, at most the tab, above the last
    /// bid, and at least (1 + beg) × the last unless it is the whole tab.
    pub fn tend_ok(&self, now: f64, bid: f64, beg: f64) -> bool {
        self.open(now)
            && bid <= self.tab
            && bid > self.bid
            && (bid >= (1.0 + beg) * self.bid || bid == self.tab)
    }

    /// Whether `dent` accepts `lot`: open, the bid is the tab, the lot
    /// falls, and (1 + beg) × the new lot is at most the last.
    pub fn dent_ok(&self, now: f64, lot: f64, beg: f64) -> bool {
        self.open(now)
            && self.denting()
            && lot < self.lot
            && (1.0 + beg) * lot <= self.lot
            && lot > 0.0
    }

    /// `tend`: keeper `k` bids `bid`; returns the refund the last bidder
    /// gets back and what the surplus buffer receives.
    pub fn tend(&mut self, k: usize, bid: f64, now: f64, ttl: f64) -> (f64, f64) {
        let refund = if self.guy == Some(k) { 0.0 } else { self.bid };
        let to_buffer = bid - self.bid;
        self.guy = Some(k);
        self.bid = bid;
        self.tic = Some(now + ttl);
        (refund, to_buffer)
    }

    /// `dent`: keeper `k` takes the tab's worth for `lot` units; returns the
    /// refund the last bidder gets back (the tab: the new bidder pays it)
    /// and the units that go back to the vault.
    pub fn dent(&mut self, k: usize, lot: f64, now: f64, ttl: f64) -> (f64, f64) {
        let refund = if self.guy == Some(k) { 0.0 } else { self.bid };
        let back = self.lot - lot;
        self.guy = Some(k);
        self.lot = lot;
        self.tic = Some(now + ttl);
        (refund, back)
    }

    /// `deal` is allowed at `now`: there is a bid, and it has stood its
    /// time (`tic < now`) or the auction has ended (`end < now`).
    pub fn can_deal(&self, now: f64) -> bool {
        self.tic
            .is_some_and(|tic| before(tic, now) || before(self.end, now))
    }

    /// `tick` is allowed at `now`: the auction ended (`end < now`) with no
    /// bid. It restarts it: `end = now + tau`. An unbid auction is never
    /// settled, only restarted.
    pub fn can_tick(&self, now: f64) -> bool {
        self.tic.is_none() && before(self.end, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auction() -> Flip {
        Flip::kick(1000.0, 10.0, 0.0, 6.0)
    }

    #[test]
    fn tend_needs_a_raise_of_beg_unless_it_bids_the_whole_tab() {
        let mut f = auction();
        assert!(!f.tend_ok(0.0, 0.0, 0.05), "a bid must beat 0");
        assert!(f.tend_ok(0.0, 1e-18, 0.05), "any positive bid opens");
        f.tend(0, 100.0, 0.0, 1.0);
        assert!(!f.tend_ok(0.5, 104.9, 0.05));
        assert!(f.tend_ok(0.5, 105.0, 0.05));
        assert!(!f.tend_ok(0.5, 1000.1, 0.05), "never above the tab");
        f.tend(1, 990.0, 0.5, 1.0);
        // 1,000 is 1.0101× of 990, below 1.05×, but it is the whole tab.
        assert!(!f.tend_ok(0.6, 999.0, 0.05));
        assert!(f.tend_ok(0.6, 1000.0, 0.05));
    }

    #[test]
    fn tend_refunds_the_outbid_keeper_and_pays_the_buffer_the_raise() {
        let mut f = auction();
        assert_eq!(f.tend(0, 100.0, 0.0, 1.0), (0.0, 100.0));
        assert_eq!(f.tend(1, 200.0, 0.5, 1.0), (100.0, 100.0));
        assert_eq!((f.guy, f.tic), (Some(1), Some(1.5)));
        // Raising one's own bid pays only the raise and refunds nothing.
        assert_eq!(f.tend(1, 300.0, 0.6, 1.0), (0.0, 100.0));
    }

    #[test]
    fn dent_starts_at_the_tab_and_lowers_the_lot_by_beg() {
        let mut f = auction();
        f.tend(0, 500.0, 0.0, 1.0);
        assert!(!f.dent_ok(0.5, 9.0, 0.05), "not before the bid is the tab");
        f.tend(1, 1000.0, 0.5, 1.0);
        assert!(f.denting());
        assert!(!f.dent_ok(0.6, 9.6, 0.05), "10 is not 1.05 × 9.6");
        assert!(f.dent_ok(0.6, 10.0 / 1.05, 0.05));
        // With no raise required the lot must still fall, and not to 0.
        assert!(!f.dent_ok(0.6, 10.0, 0.0));
        assert!(f.dent_ok(0.6, 9.99, 0.0));
        assert!(!f.dent_ok(0.6, 0.0, 0.05));
        // The new bidder pays the tab back to the last; 2 units go back.
        assert_eq!(f.dent(0, 8.0, 0.6, 1.0), (1000.0, 2.0));
        assert_eq!((f.lot, f.guy, f.tic), (8.0, Some(0), Some(1.6)));
    }

    #[test]
    fn deal_after_ttl_or_end_and_tick_only_without_a_bid() {
        let mut f = auction();
        // No bid: never dealt, ticked only once the end has passed.
        assert!(!f.can_deal(7.0));
        assert!(!f.can_tick(6.0), "end < now is strict");
        assert!(f.can_tick(6.1));
        f.tend(0, 1.0, 1.0, 3.0);
        assert!(!f.can_tick(7.0));
        // Bids stand until tic = 4: open before, no one can act at 4 itself
        // (tend needs tic > now, deal needs tic < now), settled after.
        assert!(f.open(3.9) && !f.can_deal(3.9));
        assert!(!f.open(4.0) && !f.can_deal(4.0));
        assert!(f.can_deal(4.1));
        // The end also closes it, even while a bid stands.
        let mut g = auction();
        g.tend(0, 1.0, 5.5, 3.0);
        assert!(!g.open(6.0));
        assert!(g.can_deal(6.1) && !g.can_deal(6.0));
        // 60 steps of 0.1 h are the end itself, not after it.
        let now: f64 = (0..60).map(|_| 0.1).sum();
        assert!(!auction().can_tick(now));
    }
}
