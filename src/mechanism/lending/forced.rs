//! Forced sale (docs/model.md §5, "Forced sale"): a protocol with
//! `liquidation = "forced_sale"` sells a position below health factor 1 out
//! itself, all of its collateral at once into each asset's venue, and
//! repays what the sales fetch; what they do not cover is bad debt. No
//! liquidator, bonus, close factor, gas or profit condition: the leveraged
//! holders of Caccioli et al. (2014), sold out when insolvent.

use super::cascade::Executed;
use super::{Lending, Seizure};
use crate::market::state::Market;
use crate::output::recorder::PathRecord;

impl Lending<'_> {
    /// Sell position `i` out at the round's oracle prices: each collateral
    /// entry in asset order is sold into its venue (§5 step 6's disposal)
    /// and its proceeds, valued in the debt asset at the oracle, repay
    /// what is still owed; one `liquidations.parquet` row per entry, the
    /// bad debt of the shortfall on the last. A surplus (proceeds beyond
    /// the debt) is the holder's and leaves the book. Returns whether
    /// anything was sold.
    pub(super) fn force_sell(
        &mut self,
        t: u32,
        round: u32,
        i: usize,
        hf: f64,
        market: &mut Market,
        rec: &mut PathRecord,
    ) -> bool {
        let sc = self.sc;
        let book = &sc.book;
        let p = book.protocol[i] as usize;
        let n = self.n_assets;
        let p_debt = self.oracle[p * n + sc.protocols[p].debt_asset];
        if book.coll_range(i).all(|k| self.coll_units[k] <= 0.0) {
            return false;
        }
        let contagion_share = self.contagion_share(i);
        let caused = self.caused_by_change(i);
        let old_key = self.dirty_key(i);
        self.mark_dirty(i);
        let mut owed = self.owed(i);
        // Each row is counted once the next is made; the last waits for the
        // bad debt.
        let mut last: Option<Executed> = None;
        for k in book.coll_range(i) {
            if self.coll_units[k] <= 0.0 {
                continue;
            }
            let asset = book.coll_asset[k] as usize;
            let units = self.coll_units[k];
            let p_coll = self.oracle[p * n + asset];
            self.set_units(i, k, 0.0);
            let proceeds = self.dispose(asset, units, market);
            let repay = (proceeds / p_debt).min(owed);
            owed -= repay;
            if sc.protocols[p].supply.is_some() {
                self.supply[p].cash += repay;
                self.supply[p].borrowed -= repay;
            }
            self.executed_this_step += 1;
            let row = Executed {
                t,
                round,
                protocol: p,
                position: i,
                liquidator: sc.liquidators.len(),
                asset,
                seizure: Seizure {
                    repay,
                    seize: units,
                    capped: true,
                },
                repaid_value: repay * p_debt,
                seized_value: units * p_coll,
                oracle_price: p_coll,
                hf,
                gas: 0.0,
                bad: 0.0,
                proceeds,
                bad_contagion: 0.0,
                caused,
            };
            if let Some(done) = last.replace(row) {
                self.tally(&done, rec);
            }
        }
        self.set_debt(i, owed / self.debt_index[p]);
        let bad = self.write_off(i, p_debt);
        self.rekey(i, old_key);
        let mut row = last.expect("an entry with units was sold");
        row.bad = bad;
        row.bad_contagion = bad * contagion_share;
        self.tally(&row, rec);
        true
    }
}
