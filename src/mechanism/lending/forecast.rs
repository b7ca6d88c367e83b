//! What a liquidator would earn if a protocol's oracle read given prices:
//! the forecast a raider makes before pushing a price down (docs/model.md
//! §16, "Pushing a price down"), and the path's running figures it reads
//! to count what its raid did.

use super::{Lending, health_factor, liquidator};

impl Lending<'_> {
    /// The first cascade round of protocol `p` at the prices `px` (one per
    /// asset) as seen from liquidator `desk`: every position below health
    /// factor `below` (1, or a guard's threshold while it pauses), by
    /// ascending HF, ties by id, is quoted as §5 would (close factor,
    /// largest collateral, gas rising with each liquidation), and the desk
    /// takes it when it is the liquidator §5 step 5 chooses, its capital
    /// falling by the repay and rising by the seized value. Returns the
    /// desk's earnings, seized − repaid − gas at `px`, USD. Nothing is
    /// changed; the round after, and what selling the seized collateral
    /// does to prices, are not foreseen.
    pub fn first_round_gain(&self, p: usize, px: &[f64], below: f64, desk: usize) -> f64 {
        let sc = self.sc;
        if self.halted[p] || below <= 0.0 {
            return 0.0;
        }
        let book = &sc.book;
        let debt_asset = self.specs()[p].debt_asset;
        let mut hits: Vec<(f64, u32)> = Vec::new();
        for i in 0..book.len() {
            if book.protocol[i] as usize != p || self.debt[i] <= 0.0 {
                continue;
            }
            let weighted: f64 = book
                .coll_range(i)
                .map(|k| self.coll_units[k] * px[book.coll_asset[k] as usize] * self.lt(k))
                .sum();
            let hf = health_factor(weighted, self.owed(i) * px[debt_asset]);
            if hf < below {
                hits.push((hf, i as u32));
            }
        }
        hits.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut capital = self.capital.clone();
        let mut gain = 0.0;
        let mut n = self.executed_this_step;
        for (hf, i) in hits {
            let Some(q) = self.quote(i as usize, hf, px) else {
                continue;
            };
            let gas = sc.network.gas(n);
            let profit = q.seized_value - q.repaid_value - gas;
            let Some(l) = liquidator::choose(&sc.liquidators, &capital, q.repaid_value, profit)
            else {
                continue;
            };
            n += 1;
            capital[l] += q.seized_value - q.repaid_value;
            if l == desk {
                gain += profit;
            }
        }
        gain
    }

    /// What liquidator `l` has earned on this path so far: proceeds −
    /// repaid − gas over its liquidations, USD.
    pub fn earned(&self, l: usize) -> f64 {
        self.earned[l]
    }

    /// Debt repaid by liquidations in protocol `p` on this path, USD at
    /// the oracle prices they were made at.
    pub fn repaid_cum(&self, p: usize) -> f64 {
        self.repaid_cum[p]
    }

    /// Bad debt written off in protocol `p` up to the end of the last step
    /// finished, USD.
    pub fn bad_debt_cum(&self, p: usize) -> f64 {
        self.bad_debt_cum[p]
    }
}
