//! The surplus buffer and the system's debt (makerdao/dss `src/vow.sol`):
//! fees and auction proceeds add to the surplus (`Joy`), confiscated debt
//! (`sin`) waits `wait` hours in a queue, surplus then cancels it (`heal`),
//! and what surplus cannot cover is sold in debt auctions that mint the
//! governance token (`flop`). Amounts in stablecoin.

use crate::mechanism::oracle::feed::at_or_after;

/// One path's vow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vow {
    /// Surplus: stablecoin the system owns (`vat.dai(vow)`).
    pub joy: f64,
    /// Confiscated debt not yet cancelled (`vat.sin(vow)`): in the queue,
    /// in debt auctions, or waiting for surplus.
    pub sin: f64,
    /// Queued debt by the hour it was confiscated (`sin[era]`).
    queue: Vec<(f64, f64)>,
    /// Queued in total (`Sin`).
    pub queued: f64,
    /// Governance tokens minted by debt auctions.
    pub minted: f64,
    /// Debt auctions held.
    pub debt_auctions: u32,
}

impl Vow {
    /// A vow holding `surplus` and no debt.
    pub fn new(surplus: f64) -> Self {
        Vow {
            joy: surplus,
            ..Vow::default()
        }
    }

    /// `fess`: debt `due` confiscated at `now` joins the queue.
    pub fn fess(&mut self, now: f64, due: f64) {
        self.sin += due;
        self.queued += due;
        match self.queue.last_mut() {
            Some((era, amount)) if *era == now => *amount += due,
            _ => self.queue.push((now, due)),
        }
    }

    /// `flog` every era whose wait is over at `now` (`era + wait ≤ now`).
    pub fn flog(&mut self, now: f64, wait: f64) {
        let due = self
            .queue
            .iter()
            .take_while(|(era, _)| at_or_after(now, era + wait))
            .count();
        for (_, amount) in self.queue.drain(..due) {
            self.queued -= amount;
        }
        if self.queue.is_empty() {
            self.queued = 0.0;
        }
    }

    /// Debt out of the queue (`Woe`: `sin − Sin`; debt auctions settle at
    /// once here, so none is on auction).
    pub fn woe(&self) -> f64 {
        (self.sin - self.queued).max(0.0)
    }

    /// `heal` as much as surplus and debt out of the queue allow; returns
    /// the stablecoin cancelled (it leaves the supply).
    pub fn heal(&mut self) -> f64 {
        let rad = self.joy.min(self.woe());
        self.joy -= rad;
        self.sin -= rad;
        rad
    }

    /// `flop` while at least `sump` of debt is out of the queue and no
    /// surplus is left: each debt auction raises `sump` stablecoin, which
    /// cancels as much debt, and mints `sump × mkr_per_stable` governance
    /// tokens. Returns the stablecoin cancelled.
    pub fn flop(&mut self, sump: f64, mkr_per_stable: f64) -> f64 {
        let mut cancelled = 0.0;
        while self.joy == 0.0 && self.woe() >= sump && sump > 0.0 {
            self.sin -= sump;
            self.minted += sump * mkr_per_stable;
            self.debt_auctions += 1;
            cancelled += sump;
        }
        cancelled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surplus_cancels_debt_only_after_its_wait() {
        let mut v = Vow::new(500.0);
        v.fess(1.0, 300.0);
        v.fess(1.0, 100.0);
        v.fess(2.0, 200.0);
        assert_eq!((v.sin, v.queued, v.woe()), (600.0, 600.0, 0.0));
        assert_eq!(v.heal(), 0.0, "queued debt is not healed");
        v.flog(3.0, 2.0);
        assert_eq!(v.woe(), 400.0, "era 1 is out at 3, era 2 not yet");
        assert_eq!(v.heal(), 400.0);
        assert_eq!((v.joy, v.sin), (100.0, 200.0));
        v.flog(4.0, 2.0);
        assert_eq!(v.heal(), 100.0);
        assert_eq!((v.joy, v.sin, v.woe()), (0.0, 100.0, 100.0));
    }

    #[test]
    fn debt_auctions_mint_in_whole_lots_once_surplus_is_gone() {
        let mut v = Vow::new(10_000.0);
        v.fess(0.0, 130_000.0);
        v.flog(0.0, 0.0);
        assert_eq!(
            v.flop(50_000.0, 0.002),
            0.0,
            "no flop while surplus is left"
        );
        v.heal();
        assert_eq!(v.woe(), 120_000.0);
        assert_eq!(v.flop(50_000.0, 0.002), 100_000.0);
        assert_eq!((v.debt_auctions, v.sin), (2, 20_000.0));
        assert!((v.minted - 200.0).abs() < 1e-9);
    }
}
