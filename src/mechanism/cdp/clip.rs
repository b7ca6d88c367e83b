//! A Dutch auction (makerdao/dss `src/clip.sol`): its state and the
//! `take` rule. Amounts in stablecoin unless named units; times in hours.

/// One live Dutch auction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clip {
    /// Stablecoin still to raise.
    pub tab: f64,
    /// Collateral units left.
    pub lot: f64,
    /// Starting price, stablecoin per unit (`top`).
    pub top: f64,
    /// Hours of the kick or the last reset (`tic`): the price decays from
    /// here, never from a take.
    pub tic: f64,
}

/// What one `take` buys: `slice` units for `owe` stablecoin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Take {
    /// Units bought.
    pub slice: f64,
    /// Stablecoin paid.
    pub owe: f64,
}

/// clip.sol's `take` of up to `amt` units at `price`, with `chost` =
/// dust × chop:
/// - `slice = min(lot, amt)`, `owe = slice·price`;
/// - if `owe > tab`: `owe = tab`, `slice = owe/price` (the buyer pays the
///   tab and no more);
/// - else if it leaves both a tab and a lot and the tab left would be
///   below `chost`: `owe = tab − chost`, `slice = owe/price`, which needs
///   `tab > chost` (otherwise the take is refused: None).
pub fn take(tab: f64, lot: f64, price: f64, amt: f64, chost: f64) -> Option<Take> {
    let mut slice = lot.min(amt);
    let mut owe = slice * price;
    if owe > tab {
        owe = tab;
        slice = owe / price;
    } else if owe < tab && slice < lot && tab - owe < chost {
        if tab <= chost {
            return None;
        }
        owe = tab - chost;
        slice = owe / price;
    }
    (slice > 0.0).then_some(Take { slice, owe })
}

impl Clip {
    /// Apply a take; returns whether the auction is over: its lot is gone
    /// (what tab is left is not raised) or its tab is paid (what lot is
    /// left goes back to the vault).
    pub fn apply(&mut self, t: Take) -> bool {
        self.tab -= t.owe;
        self.lot -= t.slice;
        if self.lot <= 0.0 {
            self.lot = 0.0;
        }
        self.lot == 0.0 || self.tab <= 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_take_pays_slice_times_price_and_never_more_than_the_tab() {
        // Tab 1,000, lot 10 at 80: 5 units cost 400.
        let t = take(1000.0, 10.0, 80.0, 5.0, 0.0).unwrap();
        assert_eq!((t.slice, t.owe), (5.0, 400.0));
        // Asking for nothing gets nothing.
        assert_eq!(take(1000.0, 10.0, 80.0, 0.0, 0.0), None);
        // Asking for 20 gets the whole lot of 10 for 800.
        let t = take(1000.0, 10.0, 80.0, 20.0, 0.0).unwrap();
        assert_eq!((t.slice, t.owe), (10.0, 800.0));
        // At 125 the whole lot would cost 1,250 > tab: pay 1,000 for 8.
        let t = take(1000.0, 10.0, 125.0, 20.0, 0.0).unwrap();
        assert_eq!((t.slice, t.owe), (8.0, 1000.0));
    }

    #[test]
    fn a_take_may_not_leave_a_tab_below_chost() {
        // Tab 1,000, chost 300: buying 8 at 100 would leave 200 < 300, so
        // the take is cut to 700 (7 units) and leaves exactly chost.
        let t = take(1000.0, 10.0, 100.0, 8.0, 300.0).unwrap();
        assert!((t.owe - 700.0).abs() < 1e-12 && (t.slice - 7.0).abs() < 1e-12);
        // A take leaving 600 ≥ chost stands as asked.
        let t = take(1000.0, 10.0, 100.0, 4.0, 300.0).unwrap();
        assert_eq!((t.slice, t.owe), (4.0, 400.0));
        // Taking the whole lot is allowed whatever it leaves.
        let t = take(1000.0, 10.0, 90.0, 10.0, 300.0).unwrap();
        assert_eq!((t.slice, t.owe), (10.0, 900.0));
        // Paying the whole tab is allowed.
        let t = take(1000.0, 20.0, 100.0, 10.0, 300.0).unwrap();
        assert_eq!((t.slice, t.owe), (10.0, 1000.0));
        // A tab at or below chost can only be taken whole.
        assert_eq!(take(300.0, 10.0, 10.0, 5.0, 300.0), None);
        assert!(take(300.0, 10.0, 10.0, 30.0, 300.0).is_some());
    }

    #[test]
    fn an_auction_ends_when_its_lot_is_gone_or_its_tab_is_paid() {
        let mut c = Clip {
            tab: 1000.0,
            lot: 10.0,
            top: 120.0,
            tic: 0.0,
        };
        assert!(!c.apply(Take {
            slice: 5.0,
            owe: 400.0
        }));
        assert_eq!((c.tab, c.lot), (600.0, 5.0));
        assert!(c.apply(Take {
            slice: 5.0,
            owe: 400.0
        }));
        assert_eq!((c.tab, c.lot), (200.0, 0.0));
        let mut c = Clip {
            tab: 1000.0,
            lot: 10.0,
            top: 120.0,
            tic: 0.0,
        };
        assert!(c.apply(Take {
            slice: 8.0,
            owe: 1000.0
        }));
        assert_eq!((c.tab, c.lot), (0.0, 2.0));
    }
}
