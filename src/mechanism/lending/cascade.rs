//! The lending part of a cascade round (docs/model.md §5, §10): candidates
//! below HF 1, found through the liquidation index or by a full scan, and
//! liquidated in order.

use super::liquidator;
use super::{CandidateSearch, Lending, Seizure, close_factor, index, largest_collateral, seizure};
use crate::market::state::Market;
use crate::output::recorder::PathRecord;

/// One executed liquidation, as `liquidations.parquet` records it.
pub(super) struct Executed {
    pub t: u32,
    pub round: u32,
    pub protocol: usize,
    pub position: usize,
    pub liquidator: usize,
    pub asset: usize,
    pub seizure: Seizure,
    pub repaid_value: f64,
    pub seized_value: f64,
    pub oracle_price: f64,
    pub hf: f64,
    pub gas: f64,
    pub bad: f64,
    pub proceeds: f64,
    pub bad_contagion: f64,
    pub caused: bool,
}

/// What liquidating a position would repay and seize (`Lending::quote`).
pub(super) struct Quote {
    /// Close factor applied.
    pub cf: f64,
    /// The collateral entry seized.
    pub k: usize,
    /// Its asset.
    pub asset: usize,
    /// Debt asset's price.
    pub p_debt: f64,
    /// Seized asset's price.
    pub p_coll: f64,
    /// Units repaid and seized.
    pub seizure: Seizure,
    /// `repay · p_debt`, USD.
    pub repaid_value: f64,
    /// `seize · p_coll`, USD.
    pub seized_value: f64,
}

impl Lending<'_> {
    /// One cascade round of every lending protocol at the oracle prices
    /// read for it (`read_oracles`): every position below HF 1, ascending
    /// HF (ties by ascending id), liquidated by docs/model.md §5. Returns
    /// the liquidations executed.
    pub fn liquidation_round(
        &mut self,
        t: u32,
        round: u32,
        market: &mut Market,
        rec: &mut PathRecord,
    ) -> u32 {
        // Scripted defaults first, at the round's prices (defaults.rs).
        let mut executed = 0;
        if round == 0 && self.scripted {
            executed += self.scripted_defaults(t, market, rec);
        }
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        match self.search {
            CandidateSearch::FullScan => self.scan_all(&mut candidates),
            CandidateSearch::Indexed => self.scan_index(&mut candidates),
        }
        // Ascending HF, ties by ascending id.
        candidates.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(hf, i) in &candidates {
            let p = self.sc.book.protocol[i as usize] as usize;
            let done = if self.sc.protocols[p].forced_sale {
                self.force_sell(t, round, i as usize, hf, market, rec)
            } else {
                self.liquidate(t, round, i as usize, hf, market, rec)
            };
            if done {
                executed += 1;
            }
        }
        self.candidates = candidates;
        executed
    }

    /// Every position with debt and HF < 1.
    fn scan_all(&self, out: &mut Vec<(f64, u32)>) {
        for i in 0..self.debt.len() {
            self.push_if_liquidatable(i as u32, out);
        }
    }

    fn push_if_liquidatable(&self, i: u32, out: &mut Vec<(f64, u32)>) {
        self.examined.set(self.examined.get() + 1);
        if self.debt[i as usize] > 0.0 {
            let hf = self.health_factor(i as usize);
            if hf < 1.0 && (!self.guarded || hf < self.paused_below(i as usize)) {
                out.push((hf, i));
            }
        }
    }

    /// The health factor below which position i is liquidatable now (a
    /// guard may have lowered it from 1; a guardian's pause to 0).
    fn paused_below(&self, i: usize) -> f64 {
        let p = self.sc.book.protocol[i] as usize;
        if self.halted[p] {
            0.0
        } else {
            self.liquidation_hf[p]
        }
    }

    /// The same set as `scan_all`, through the liquidation index.
    fn scan_index(&mut self, out: &mut Vec<(f64, u32)>) {
        let index = &self.sc.book.index;
        let n = self.n_assets;
        for (g, group) in index.groups.iter().enumerate() {
            let p = group.protocol as usize;
            let px = &self.oracle[p * n..(p + 1) * n];
            let ratio = px[group.asset as usize] / px[self.sc.protocols[p].debt_asset];
            // Keys are scaled liquidation prices: L = key · debt index.
            // Under a changed threshold the keys stay in step-0 units
            // (governed.rs).
            let threshold =
                ratio * (1.0 - index::MARGIN) * self.group_scale(g) / self.debt_index[p];
            let mut j = next_clean(&mut self.skip[g], 0);
            while j < group.key.len() && group.key[j] > threshold {
                self.push_if_liquidatable(group.order[j], out);
                j = next_clean(&mut self.skip[g], j + 1);
            }
            for &(_, i) in self.dirty_sets[g].range((index::key_bits(threshold), 0)..) {
                self.push_if_liquidatable(i, out);
            }
        }
        self.multi_candidates(|i| self.push_if_liquidatable(i, out));
    }

    /// The multi-collateral positions that can be below HF 1 at the current
    /// oracle prices: the bound HF ≥ HF₀·m (index.rs) skips all but a
    /// prefix of each protocol's; those liquidated on this path are visited
    /// as they are. Each is visited once.
    pub(super) fn multi_candidates(&self, mut visit: impl FnMut(u32)) {
        let n = self.n_assets;
        for (mi, mg) in self.sc.book.index.multi.iter().enumerate() {
            let p = mg.protocol as usize;
            let px = &self.oracle[p * n..(p + 1) * n];
            let spec = &self.sc.protocols[p];
            let debt_move = px[spec.debt_asset] / self.sc.assets[spec.debt_asset].initial_price;
            let mut m = f64::INFINITY;
            for (a, c) in spec.collateral.iter().enumerate() {
                if c.is_some() {
                    m = m.min(px[a] / self.sc.assets[a].initial_price);
                }
            }
            let m = m * self.multi_scale(mi) / debt_move / self.debt_index[p];
            for (j, &i) in mg.order.iter().enumerate() {
                // ∞·0 is NaN (a position without debt when prices hit 0): stop.
                let bound = mg.hf0[j] * m;
                if bound.is_nan() || bound >= 1.0 + index::MARGIN {
                    break;
                }
                if !self.dirty[i as usize] {
                    visit(i);
                }
            }
        }
        for &i in &self.dirty_multi {
            visit(i);
        }
    }

    /// Track a position whose state is about to change (before the change),
    /// and re-key it in its group's dirty set (after).
    pub(super) fn rekey(&mut self, i: usize, before: Option<f64>) {
        let g = self.sc.book.index.group_of[i];
        if g == u32::MAX {
            return;
        }
        let g = g as usize;
        if let Some(old) = before {
            self.dirty_sets[g].remove(&(index::key_bits(old), i as u32));
        }
        if self.debt[i] > 0.0 {
            let k = self.sc.book.coll_range(i).start;
            let lt = self.sc.book.index.groups[g].lt;
            let key = index::liquidation_price(self.debt[i], self.coll_units[k], lt);
            self.dirty_sets[g].insert((index::key_bits(key), i as u32));
        }
    }

    /// The current key of a dirty single-collateral position with debt.
    pub(super) fn dirty_key(&self, i: usize) -> Option<f64> {
        let g = self.sc.book.index.group_of[i];
        if g == u32::MAX || !self.dirty[i] || self.debt[i] <= 0.0 {
            return None;
        }
        let k = self.sc.book.coll_range(i).start;
        let lt = self.sc.book.index.groups[g as usize].lt;
        Some(index::liquidation_price(
            self.debt[i],
            self.coll_units[k],
            lt,
        ))
    }

    /// docs/model.md §5 steps 1–7 for one position, at the round's oracle prices.
    /// Returns whether a liquidation was executed.
    fn liquidate(
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
        let spec = &sc.protocols[p];
        let px = &self.oracle[p * self.n_assets..(p + 1) * self.n_assets];
        let Some(Quote {
            cf,
            k,
            asset,
            p_debt,
            p_coll,
            seizure,
            repaid_value,
            seized_value,
        }) = self.quote(i, hf, px)
        else {
            return false;
        };
        let range = book.coll_range(i);
        let gas = sc.network.gas(self.executed_this_step);
        let Some(l) = liquidator::choose(
            &sc.liquidators,
            &self.capital,
            repaid_value,
            seized_value - repaid_value - gas,
        ) else {
            return false;
        };

        let contagion_share = self.contagion_share(i);
        let caused = self.caused_by_change(i);

        // Execute.
        let old_key = self.dirty_key(i);
        self.mark_dirty(i);
        // Scaled balance: repaying everything leaves exactly nothing.
        let debt = if cf == 1.0 && !seizure.capped {
            0.0
        } else {
            self.debt[i] - seizure.repay / self.debt_index[p]
        };
        self.set_debt(i, debt);
        let units = if seizure.capped {
            0.0
        } else {
            self.coll_units[k] - seizure.seize
        };
        self.set_units(i, k, units);
        self.capital[l] -= repaid_value;
        if spec.supply.is_some() {
            self.supply[p].cash += seizure.repay;
            self.supply[p].borrowed -= seizure.repay;
        }
        // The seized units: sold into the asset's pool, or redeemed at the
        // issuer if they are receipt tokens (limited by its cash), or kept.
        let a = &sc.assets[asset];
        let proceeds = if sc.pool_of[asset].is_some() || a.receipt_of.is_some() || a.lp_of.is_some()
        {
            self.dispose(asset, seizure.seize, market)
        } else {
            0.0
        };
        self.capital[l] += proceeds;
        self.earned[l] += proceeds - repaid_value - gas;
        self.repaid_cum[p] += repaid_value;
        self.executed_this_step += 1;

        let bad = if range.clone().all(|k| self.coll_units[k] == 0.0) {
            self.write_off(i, p_debt)
        } else {
            0.0
        };
        self.rekey(i, old_key);

        self.tally(
            &Executed {
                t,
                round,
                protocol: p,
                position: i,
                liquidator: l,
                asset,
                seizure,
                repaid_value,
                seized_value,
                oracle_price: p_coll,
                hf,
                gas,
                bad,
                proceeds,
                bad_contagion: bad * contagion_share,
                caused,
            },
            rec,
        );
        true
    }

    /// docs/model.md §5 steps 2–4 for position i at health factor `hf` and
    /// the prices `px` (one per asset): the close factor, the collateral
    /// seized (the largest by value), the debt repaid and both values.
    /// None when the position holds nothing.
    #[inline]
    pub(super) fn quote(&self, i: usize, hf: f64, px: &[f64]) -> Option<Quote> {
        let book = &self.sc.book;
        let p = book.protocol[i] as usize;
        let p_debt = px[self.sc.protocols[p].debt_asset];
        let terms = &self.specs()[p];
        let cf = close_factor(hf, terms.close_factor, terms.full_liquidation_hf);
        let range = book.coll_range(i);
        let offset = largest_collateral(
            range
                .clone()
                .map(|k| self.coll_units[k] * px[book.coll_asset[k] as usize]),
        )?;
        let k = range.start + offset;
        let asset = book.coll_asset[k] as usize;
        let p_coll = px[asset];
        let seizure = seizure(
            cf * self.owed(i),
            p_debt,
            p_coll,
            self.lb(k),
            self.coll_units[k],
        );
        Some(Quote {
            cf,
            k,
            asset,
            p_debt,
            p_coll,
            seizure,
            repaid_value: seizure.repay * p_debt,
            seized_value: seizure.seize * p_coll,
        })
    }

    /// The receipt tokens' share of position i's collateral value when it
    /// is first liquidated on the path (at that round's oracle, before the
    /// seizure): the part of any bad debt it ends with that counts as
    /// contagion (docs/model.md §11). Remembered for the rest of the path.
    pub(super) fn contagion_share(&mut self, i: usize) -> f64 {
        let sc = self.sc;
        match self.first_share.get(i) {
            None => 0.0,
            Some(s) if !s.is_nan() => *s,
            Some(_) => {
                let p = sc.book.protocol[i] as usize;
                let px = &self.oracle[p * self.n_assets..(p + 1) * self.n_assets];
                let (mut total_value, mut receipt_value) = (0.0, 0.0);
                for k in sc.book.coll_range(i) {
                    let a = sc.book.coll_asset[k] as usize;
                    let v = self.coll_units[k] * px[a];
                    total_value += v;
                    if sc.assets[a].receipt_of.is_some() {
                        receipt_value += v;
                    }
                }
                let share = if total_value > 0.0 {
                    receipt_value / total_value
                } else {
                    0.0
                };
                self.first_share[i] = share;
                share
            }
        }
    }

    /// Position i has no collateral left: what it still owes is bad debt,
    /// borne by the reserve fund and then the suppliers (docs/model.md §5
    /// step 7, §11). Returns it in USD at the debt asset's oracle price.
    pub(super) fn write_off(&mut self, i: usize, p_debt: f64) -> f64 {
        if self.debt[i] <= 0.0 {
            return 0.0;
        }
        let p = self.sc.book.protocol[i] as usize;
        let left = self.owed(i);
        if self.sc.protocols[p].supply.is_some() {
            let shares = self.supply[p].shares;
            let socialised = self.supply[p].absorb(left);
            if socialised > 0.0 && shares > 0.0 {
                self.socialised_per_share[p] += socialised / shares;
            }
            self.supply[p].borrowed -= left;
        }
        self.set_debt(i, 0.0);
        if let Some(slot) = self.watched.iter().position(|&w| w == i) {
            self.watched_bad[slot] += left * p_debt;
        }
        left * p_debt
    }

    /// Count an executed liquidation in the step's flows and the path's
    /// summary, and write its row if the path is recorded.
    pub(super) fn tally(&mut self, e: &Executed, rec: &mut PathRecord) {
        let p = e.protocol;
        self.step_liqs[p] += 1;
        self.step_repaid[p] += e.repaid_value;
        self.step_seized[p] += e.seized_value;
        self.step_bad[p] += e.bad;
        self.step_bad_contagion[p] += e.bad_contagion;
        let s = &mut rec.summary;
        if !self.liquidated[e.position] {
            self.liquidated[e.position] = true;
            s.positions_liquidated += 1;
        }
        s.bad_debt_contagion += e.bad_contagion;
        s.liquidations += 1;
        s.liquidated_value += e.seized_value;
        s.bad_debt += e.bad;
        s.protocol_liquidated[p] += e.seized_value;
        s.protocol_bad_debt[p] += e.bad;
        s.protocol_bad_debt_contagion[p] += e.bad_contagion;
        s.protocol_liquidations[p] += 1;
        if e.caused
            && let Some(a) = self.sc.governance.lending_owner[p]
        {
            let out = &mut s.actors[a as usize];
            out.liquidations += 1;
            out.liquidated_value += e.seized_value;
        }
        if rec.recorded {
            let r = &mut rec.liquidations;
            r.step.push(e.t);
            r.round.push(e.round);
            r.protocol.push(p as u32);
            r.position.push(self.sc.book.id[e.position]);
            r.liquidator.push(e.liquidator as u32);
            r.asset.push(e.asset as u32);
            r.repaid.push(e.seizure.repay);
            r.repaid_value.push(e.repaid_value);
            r.seized.push(e.seizure.seize);
            r.seized_value.push(e.seized_value);
            r.oracle_price.push(e.oracle_price);
            r.health_factor.push(e.hf);
            r.gas.push(e.gas);
            r.bad_debt.push(e.bad);
            r.proceeds_value.push(e.proceeds);
            r.bad_debt_contagion.push(e.bad_contagion);
            r.by_change.push(e.caused);
        }
    }

    /// Note that position i is about to differ from the book on this path.
    pub(super) fn mark_dirty(&mut self, i: usize) {
        if !self.dirty[i] {
            self.dirty[i] = true;
            self.dirty_ids.push(i as u32);
            let g = self.sc.book.index.group_of[i];
            if g == u32::MAX {
                self.dirty_multi.push(i as u32);
            } else {
                let r = self.sc.book.index.rank[i];
                self.skip[g as usize][r as usize] = r + 1;
            }
        }
    }
}

/// The first clean entry at or after `j` of a group whose `skip` links
/// each dirty entry to one further on (`j` itself when it is clean; the
/// group's length when none is). Halves the path it follows, so a walk
/// over a group costs about its clean entries, however many dirty entries
/// lie between them (a crash leaves runs of liquidated positions that the
/// rounds after would otherwise step over one by one).
pub(super) fn next_clean(skip: &mut [u32], mut j: usize) -> usize {
    while skip[j] as usize != j {
        let next = skip[skip[j] as usize];
        skip[j] = next;
        j = next as usize;
    }
    j
}
