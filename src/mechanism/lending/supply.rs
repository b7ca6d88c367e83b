//! The supply side of a lending market (docs/model.md §11): the balance
//! sheet, interest (stage 0) and lenders' runs (stage 3).

use super::Lending;
use crate::market::state::Market;

/// The balance sheet of a lending protocol's supply side, in units of its
/// debt asset: `cash + borrowed = supplier_assets + reserve` (docs/model.md
/// §11). Shares are the receipt tokens; share value = supplier_assets/shares.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SupplyState {
    /// What suppliers own.
    pub supplier_assets: f64,
    /// Receipt tokens outstanding.
    pub shares: f64,
    /// The protocol's reserve fund.
    pub reserve: f64,
    /// Debt-asset units held (deposits − borrowed + repaid − redeemed).
    pub cash: f64,
    /// Bad debt borne by suppliers so far.
    pub socialised: f64,
    /// Debt owed to the protocol (with interest), tracked for utilisation.
    pub borrowed: f64,
    /// The share value while no share is outstanding: 1 before any
    /// deposit, else its value when the last share was redeemed.
    pub idle_value: f64,
}

impl SupplyState {
    /// Share value: units of the debt asset one receipt token is worth. A
    /// redemption leaves it unchanged, the last one included.
    pub fn share_value(&self) -> f64 {
        if self.shares > 0.0 {
            self.supplier_assets / self.shares
        } else {
            self.idle_value
        }
    }

    /// Interest earned on the debt: the reserve factor's share to the
    /// reserve and the rest to the suppliers, or all of it to the reserve
    /// when no share is outstanding (nobody to pay).
    pub fn earn(&mut self, interest: f64, reserve_factor: f64) {
        self.borrowed += interest;
        if self.shares > 0.0 {
            self.reserve += interest * reserve_factor;
            self.supplier_assets += interest * (1.0 - reserve_factor);
        } else {
            self.reserve += interest;
        }
    }

    /// Write off `loss` units of bad debt: the reserve fund first, then the
    /// suppliers (down to zero). Returns the part suppliers bore.
    pub fn absorb(&mut self, loss: f64) -> f64 {
        let from_reserve = loss.min(self.reserve);
        self.reserve -= from_reserve;
        let socialised = (loss - from_reserve).min(self.supplier_assets);
        self.supplier_assets -= socialised;
        self.socialised += socialised;
        socialised
    }

    /// Utilisation: borrowed ÷ (borrowed + cash); 0 with nothing supplied.
    pub fn utilisation(&self) -> f64 {
        let total = self.borrowed + self.cash;
        if total > 0.0 {
            self.borrowed / total
        } else {
            0.0
        }
    }

    /// Redeem `shares` receipt tokens for underlying, limited by cash.
    /// Returns the units of underlying paid out.
    pub fn redeem(&mut self, shares: f64) -> f64 {
        let value = self.share_value();
        let paid = (shares.min(self.shares) * value).min(self.cash).max(0.0);
        if paid > 0.0 {
            self.cash -= paid;
            let burnt = paid / value;
            if burnt >= self.shares * (1.0 - 1e-12) {
                // The last shares: what rounding leaves of the suppliers'
                // assets stays in the protocol, with the reserve.
                self.reserve += (self.supplier_assets - paid).max(0.0);
                self.shares = 0.0;
                self.supplier_assets = 0.0;
                self.idle_value = value;
            } else {
                self.shares -= burnt;
                self.supplier_assets = (self.supplier_assets - paid).max(0.0);
            }
        }
        paid
    }
}

impl Lending<'_> {
    /// Stage 0 (docs/model.md §11): interest over the step at the rate the
    /// utilisation of the end of the previous step gives. The debt index
    /// grows by `exp(rate·dt)`; of the interest, the reserve factor goes to
    /// the reserve fund and the rest to the suppliers.
    pub fn accrue_interest(&mut self) {
        let dt = self.sc.dt_years();
        for p in 0..self.sc.protocols.len() {
            let Some(rate) = self.specs()[p].supply.and_then(|s| s.rate) else {
                continue;
            };
            let s = &mut self.supply[p];
            let r = rate.borrow_rate(s.utilisation());
            let growth = (r * dt).exp();
            let interest = s.borrowed * (growth - 1.0);
            self.borrow_rate[p] = r;
            self.debt_index[p] *= growth;
            s.earn(interest, rate.reserve_factor);
        }
    }

    /// Stage 3 (docs/model.md §11, "Runs"): each lender, in scenario order,
    /// starts running once any of its signals fires (share value below its
    /// peak by the drawdown, utilisation at the level, the peer's cumulative
    /// bad debt at the amount, the scripted step reached) and from then on
    /// redeems `withdraw` of its
    /// remaining shares every step, as far as the protocol's cash allows.
    pub fn lenders_act(&mut self, t: u32, market: &mut Market) {
        let sc = self.sc;
        for (l, spec) in sc.lenders.iter().enumerate() {
            let p = spec.protocol;
            let s = self.supply[p];
            if !self.lender_running[l] {
                let v = s.share_value();
                let drawdown = spec
                    .share_value_drawdown
                    .is_some_and(|d| 1.0 - v / self.peak_share_value[p] >= d);
                let utilised = spec.utilisation.is_some_and(|u| s.utilisation() >= u);
                let peer = spec
                    .peer_bad_debt
                    .is_some_and(|(q, usd)| self.bad_debt_cum[q] >= usd);
                let scripted = spec.at_step.is_some_and(|s| t >= s);
                self.lender_running[l] = drawdown || utilised || peer || scripted;
            }
            if self.lender_running[l] && self.lender_shares[l] > 0.0 {
                let value = s.share_value();
                if value <= 0.0 {
                    continue;
                }
                let paid = self.supply[p].redeem(self.lender_shares[l] * spec.withdraw);
                self.lender_shares[l] = (self.lender_shares[l] - paid / value).max(0.0);
                // A flow, valued at the oracle price when it happened.
                let price = self.oracle_price_now(t, p, sc.protocols[p].debt_asset, market);
                self.step_withdrawn[p] += paid * price;
                if spec.sell && paid > 0.0 {
                    let pi = sc.pool_of[sc.protocols[p].debt_asset].expect("validated");
                    market.pools[pi].sell_base(paid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/model.md §11: `cash + borrowed = supplier_assets + reserve` at
    /// all times, and the last redemption leaves what rounding left of the
    /// suppliers' assets to the reserve. Redeeming all but 1e-13 of the
    /// shares is the last redemption (within 1e-12 of all of them): the
    /// 1e-11 units left of A join the reserve, and the identity holds.
    #[test]
    fn the_last_redemption_leaves_the_rounding_remnant_to_the_reserve() {
        let mut s = SupplyState {
            supplier_assets: 100.0,
            shares: 100.0,
            reserve: 5.0,
            cash: 105.0,
            socialised: 0.0,
            borrowed: 0.0,
            idle_value: 1.0,
        };
        let paid = s.redeem(100.0 * (1.0 - 1e-13));
        assert!((paid - 100.0).abs() < 1e-10 && paid < 100.0);
        assert_eq!((s.shares, s.supplier_assets), (0.0, 0.0));
        assert_eq!(s.share_value(), 1.0, "the share value stays where it was");
        let remnant = 100.0 - paid;
        assert!((s.reserve - (5.0 + remnant)).abs() < 1e-14, "{}", s.reserve);
        let gap = (s.cash + s.borrowed) - (s.supplier_assets + s.reserve);
        assert!(gap.abs() < 1e-13, "identity off by {gap}");
    }
}
