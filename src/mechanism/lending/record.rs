//! What the lending mechanism records at the end of a step
//! (`protocols.parquet`, docs/model.md §8) and its end-of-path figures.

use super::totals::Totals;
use super::{CandidateSearch, Lending, index};
use crate::engine::CascadeOutcome;
use crate::output::recorder::PathRecord;

impl Lending<'_> {
    /// End of step t, at the end-of-step oracle prices (`read_oracles`):
    /// cumulative bad debt and share-value peaks, the path's insolvent debt
    /// at its last step, and the step's `protocols.parquet` rows if `write`.
    pub fn finish_step(
        &mut self,
        t: u32,
        outcome: CascadeOutcome,
        write: bool,
        rec: &mut PathRecord,
    ) {
        let sc = self.sc;
        let last = t == sc.steps;
        for (p, bad) in self.step_bad.iter().enumerate() {
            self.bad_debt_cum[p] += bad;
        }
        for (p, peak) in self.peak_share_value.iter_mut().enumerate() {
            *peak = peak.max(self.supply[p].share_value());
        }
        if !last && !write {
            return;
        }
        let insolvent = self.insolvent_debt();
        if last {
            rec.summary.insolvent_debt = insolvent.iter().sum();
            rec.summary.protocol_insolvent.clone_from(&insolvent);
            self.last_insolvent.clone_from(&insolvent);
        }
        if !write {
            return;
        }
        let stocks = self.stocks();
        let r = &mut rec.protocols;
        for (p, (&(collateral, debt), &insolvent)) in stocks.iter().zip(&insolvent).enumerate() {
            r.step.push(t);
            r.protocol.push(p as u32);
            r.collateral_value.push(collateral);
            r.debt_value.push(debt);
            r.liquidations.push(self.step_liqs[p]);
            r.repaid_value.push(self.step_repaid[p]);
            r.seized_value.push(self.step_seized[p]);
            r.bad_debt.push(self.step_bad[p]);
            r.bad_debt_contagion.push(self.step_bad_contagion[p]);
            r.bad_debt_cum.push(self.bad_debt_cum[p]);
            r.insolvent_debt.push(insolvent);
            r.cascade_rounds.push(outcome.rounds);
            r.cascade_capped.push(outcome.capped);
            let supply = sc.protocols[p].supply.map(|_| self.supply[p]);
            let p_debt = self.oracle[p * self.n_assets + sc.protocols[p].debt_asset];
            r.share_value.push(supply.map(|s| s.share_value()));
            r.cash_value.push(supply.map(|s| s.cash * p_debt));
            r.reserve_value.push(supply.map(|s| s.reserve * p_debt));
            r.socialised_cum.push(supply.map(|s| s.socialised * p_debt));
            r.utilisation.push(supply.map(|s| s.utilisation()));
            r.withdrawn_value
                .push(supply.map(|_| self.step_withdrawn[p]));
            r.deleveraged_value
                .push(sc.protocols[p].deleverage.map(|_| self.step_deleveraged[p]));
            r.borrow_rate.push(
                sc.protocols[p]
                    .supply
                    .and_then(|s| s.rate)
                    .map(|_| self.borrow_rate[p]),
            );
        }
    }

    /// (collateral value, debt value) of each protocol at the current
    /// oracle prices (docs/model.md §8, "How stocks are summed"): from the
    /// running totals, or, under the full scan, from totals recomputed by a
    /// pass over the book, which gives the same bits.
    fn stocks(&mut self) -> Vec<(f64, f64)> {
        let sc = self.sc;
        let n = self.n_assets;
        let mut full;
        let totals = if self.search == CandidateSearch::FullScan {
            full = Totals::of(
                &sc.book,
                sc.protocols.len(),
                n,
                &self.debt,
                &self.coll_units,
            );
            &mut full
        } else {
            &mut self.totals
        };
        (0..sc.protocols.len())
            .map(|p| {
                let px = &self.oracle[p * n..(p + 1) * n];
                let collateral = totals.collateral_value(p, px);
                let debt = totals.debt(p) * self.debt_index[p] * px[sc.protocols[p].debt_asset];
                (collateral, debt)
            })
            .collect()
    }

    /// Insolvent debt of all protocols at the current oracle prices, equal to
    /// the bits to the sum a full pass gives (`insolvent_by_scan`), without
    /// one when the index is used: the insolvent single-collateral positions
    /// (`c·p_a < d·p_d ⟺ L·LT > p_a/p_d`) come from the index, the
    /// multi-collateral ones from the prefix the HF₀·m bound leaves (an
    /// insolvent position has HF below its largest threshold, so below 1),
    /// and their shortfalls are added per protocol in id order (a full pass
    /// adds exact zeros for the others, which changes no sum).
    pub fn insolvent_debt(&mut self) -> Vec<f64> {
        if self.search == CandidateSearch::FullScan {
            return self.insolvent_by_scan();
        }
        let index = &self.sc.book.index;
        let n = self.n_assets;
        let mut ids = std::mem::take(&mut self.candidates);
        ids.clear();
        for (g, group) in index.groups.iter().enumerate() {
            let p = group.protocol as usize;
            let px = &self.oracle[p * n..(p + 1) * n];
            let ratio = px[group.asset as usize] / px[self.sc.protocols[p].debt_asset];
            // L·LT > r  ⟺  L > r / LT; the margin keeps it a superset.
            let threshold = ratio / group.lt * (1.0 - index::MARGIN) / self.debt_index[p];
            let mut j = super::cascade::next_clean(&mut self.skip[g], 0);
            while j < group.key.len() && group.key[j] > threshold {
                ids.push((0.0, group.order[j]));
                j = super::cascade::next_clean(&mut self.skip[g], j + 1);
            }
            for &(_, i) in self.dirty_sets[g].range((index::key_bits(threshold), 0)..) {
                ids.push((0.0, i));
            }
        }
        self.multi_candidates(|i| ids.push((0.0, i)));
        ids.sort_unstable_by_key(|c| c.1);
        let mut per_protocol = vec![0.0; self.sc.protocols.len()];
        for &(_, i) in &ids {
            let (p, collateral, debt) = self.position_value(i as usize);
            per_protocol[p] += (debt - collateral).max(0.0);
        }
        self.candidates = ids;
        per_protocol
    }

    /// (protocol, collateral value, debt value) of position i at the oracle.
    pub(super) fn position_value(&self, i: usize) -> (usize, f64, f64) {
        let n = self.n_assets;
        let p = self.sc.book.protocol[i] as usize;
        self.position_value_at(i, &self.oracle[p * n..(p + 1) * n])
    }

    /// (protocol, collateral value, debt value) of position i at the
    /// prices `px` (USD, one per asset).
    pub fn position_value_at(&self, i: usize, px: &[f64]) -> (usize, f64, f64) {
        let book = &self.sc.book;
        let p = book.protocol[i] as usize;
        let mut collateral = 0.0;
        for k in book.coll_range(i) {
            collateral += self.coll_units[k] * px[book.coll_asset[k] as usize];
        }
        (
            p,
            collateral,
            self.owed(i) * px[self.sc.protocols[p].debt_asset],
        )
    }

    /// Insolvent debt of each protocol at the current oracle prices: a full
    /// pass over the book, in id order.
    fn insolvent_by_scan(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.sc.protocols.len()];
        for i in 0..self.sc.book.len() {
            let (p, collateral, debt) = self.position_value(i);
            out[p] += (debt - collateral).max(0.0);
        }
        out
    }
}
