//! One cascade round of one CDP (docs/model.md §17): oracle, settlements,
//! barks, and the keepers' bids and takes.

use crate::market::state::Market;
use crate::mechanism::cdp::abaci::needs_reset;
use crate::mechanism::cdp::clip::{self, Clip};
use crate::mechanism::cdp::dog::{bark, unsafe_vault};
use crate::mechanism::cdp::flip::Flip;
use crate::mechanism::cdp::raw::KeeperStrategy;
use crate::mechanism::cdp::spec::{CdpSpec, Design};
use crate::mechanism::cdp::{Auction, Kind, MIN_BID, System, zero_bid};
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// The state one round of one CDP works on.
pub(super) struct Round<'r, 'a> {
    pub sc: &'a Scenario,
    pub spec: &'a CdpSpec,
    pub cdp: usize,
    pub s: &'r mut System,
    pub t: u32,
    pub now: f64,
    pub market: &'r mut Market,
    pub rec: &'r mut PathRecord,
}

/// What a keeper pays for `owe` stablecoin: from its balance first, the
/// rest bought in the stablecoin's main venue (or at its fundamental
/// without one).
#[derive(Debug, Clone, Copy)]
struct Payment {
    from_balance: f64,
    bought: f64,
    usd: f64,
}

impl Round<'_, '_> {
    /// The oracle's price of every vault type's collateral now: the OSM's
    /// value in use, or the source (possibly lagged).
    pub fn read_oracle(&mut self) {
        let (sc, spec) = (self.sc, self.spec);
        for (k, ilk) in spec.ilks.iter().enumerate() {
            let source = self
                .market
                .source_price(sc, &ilk.source, self.t, spec.oracle.lag_steps);
            self.s.price[k] = match self.s.hop_hours {
                Some(hop) => self.s.osm[k].read(hop, self.now, source),
                None => source,
            };
        }
    }

    /// The stablecoin's price, USD: its main venue's, else its fundamental.
    fn stable_usd(&self) -> f64 {
        self.market.market_price(self.sc, self.spec.stablecoin)
    }

    fn quote_usd(&self, asset: usize) -> Option<(usize, f64)> {
        self.sc.pool_of[asset].map(|p| (p, self.market.fundamental[self.sc.pools[p].quote]))
    }

    /// USD the sale of `units` of `asset` fetches now in its main venue
    /// (its fundamental value without one), without trading.
    fn sale_value(&self, asset: usize, units: f64) -> f64 {
        match self.quote_usd(asset) {
            Some((p, f_quote)) => {
                let mut pool = self.market.pools[p];
                pool.sell_base(units) * f_quote
            }
            None => units * self.market.fundamental[asset],
        }
    }

    /// Sell `units` of `asset` (a keeper disposing of what it won).
    fn sell(&mut self, asset: usize, units: f64) -> f64 {
        match self.quote_usd(asset) {
            Some((p, f_quote)) => self.market.pools[p].sell_base(units) * f_quote,
            None => units * self.market.fundamental[asset],
        }
    }

    /// What keeper `k` would pay for `owe` stablecoin now; None when the
    /// venue cannot supply it (at most half its reserve).
    fn payment(&self, k: usize, owe: f64) -> Option<Payment> {
        let from_balance = self.s.keepers[k].stable.min(owe);
        let bought = owe - from_balance;
        let usd = match self.quote_usd(self.spec.stablecoin) {
            _ if bought <= 0.0 => 0.0,
            Some((p, f_quote)) => {
                let mut pool = self.market.pools[p];
                if bought >= 0.5 * pool.x {
                    return None;
                }
                pool.buy_base(bought) * f_quote
            }
            None => bought * self.market.fundamental[self.spec.stablecoin],
        };
        Some(Payment {
            from_balance,
            bought,
            usd,
        })
    }

    /// Keeper `k` pays: its balance, then the venue.
    fn pay(&mut self, k: usize, pay: Payment) {
        if pay.bought > 0.0
            && let Some((p, _)) = self.quote_usd(self.spec.stablecoin)
        {
            self.market.pools[p].buy_base(pay.bought);
        }
        let keeper = &mut self.s.keepers[k];
        keeper.stable -= pay.from_balance;
        keeper.usd -= pay.usd;
    }

    /// Keeper `k` pays `owe` if it can with gas on top; false (and nothing
    /// paid) when the venue cannot supply it or its USD falls short.
    fn try_pay(&mut self, k: usize, owe: f64, gas: f64) -> bool {
        match self.payment(k, owe) {
            Some(pay) if pay.usd + gas <= self.s.keepers[k].usd => {
                self.pay(k, pay);
                true
            }
            _ => false,
        }
    }

    fn gas(&self) -> f64 {
        self.sc.network.gas(self.s.step.actions)
    }

    /// Round 0 of a step: English auctions whose high bid has stood its
    /// time, or that ended with a bid, are settled (flip.sol `deal`): the
    /// winner gets the lot and sells it. Those that ended with no bid are
    /// restarted (`tick`). Returns the settlements.
    pub fn settle(&mut self) -> u32 {
        let Design::English { tau, .. } = self.spec.design else {
            return 0;
        };
        let mut settled = 0;
        let mut i = 0;
        while i < self.s.live.len() {
            let a = self.s.live[i];
            let Kind::English(f) = a.kind else {
                unreachable!("one design per CDP")
            };
            if f.can_deal(self.now) {
                let k = f.guy.expect("a dealt auction has a bid");
                let asset = self.spec.ilks[a.ilk].asset;
                let usd = self.sell(asset, f.lot);
                self.s.keepers[k].usd += usd;
                self.s.dirt -= a.tab0;
                self.s.ilk_dirt[a.ilk] -= a.tab0;
                let mut done = self.s.live.remove(i);
                done.sold += f.lot;
                done.keeper = Some(k);
                self.finish(done);
                settled += 1;
                continue;
            }
            if f.can_tick(self.now) {
                if let Kind::English(g) = &mut self.s.live[i].kind {
                    g.end = self.now + tau;
                }
                self.s.live[i].resets += 1;
            }
            i += 1;
        }
        self.s.step.settled += settled;
        self.s.step.actions += settled;
        settled
    }

    /// A finished auction's outcome and, on a recorded path, its row.
    fn finish(&mut self, a: Auction) {
        let o = &mut self.s.out;
        o.finished += 1;
        o.raised += a.raised;
        o.shortfall += (a.due - a.raised).max(0.0);
        if zero_bid(a.raised, a.tab0) {
            o.zero_bid_auctions += 1;
        }
        if self.rec.recorded {
            super::push_auction(
                &mut self.rec.auctions,
                self.sc,
                self.cdp,
                &a,
                self.t,
                true,
                &self.s.price,
            );
        }
    }

    /// Send unsafe vaults to auction (dog.sol `bark`), lowest collateral
    /// ratio first, ties by vault id, as far as the limits on stablecoin in
    /// auctions allow. Returns the auctions started.
    pub fn bark(&mut self) -> u32 {
        let spec = self.spec;
        let s = &mut *self.s;
        let mut unsafe_ids = std::mem::take(&mut s.unsafe_ids);
        unsafe_ids.clear();
        unsafe_ids.extend(
            s.vaults
                .iter()
                .enumerate()
                .filter(|(_, v)| {
                    v.art > 0.0
                        && unsafe_vault(
                            v.ink,
                            v.art,
                            s.rate[v.ilk],
                            s.price[v.ilk],
                            s.ilks[v.ilk].mat,
                        )
                })
                .map(|(i, v)| (v.ink * s.price[v.ilk] / (v.art * s.rate[v.ilk]), i)),
        );
        unsafe_ids.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut kicked = 0;
        for &(_, i) in &unsafe_ids {
            let v = self.s.vaults[i];
            let ilk = &self.s.ilks[v.ilk];
            let rate = self.s.rate[v.ilk];
            let Some(b) = bark(
                v.ink,
                v.art,
                rate,
                ilk.chop,
                ilk.dust,
                self.s.hole - self.s.dirt,
                ilk.hole - self.s.ilk_dirt[v.ilk],
            ) else {
                continue;
            };
            let s = &mut *self.s;
            // Safe under the scenario's own ratio: a change's doing.
            let price = s.price[v.ilk];
            let by_change =
                s.changed && !unsafe_vault(v.ink, v.art, rate, price, spec.ilks[v.ilk].mat);
            if by_change && let Some(a) = self.sc.governance.cdp_owner[self.cdp] {
                let out = &mut self.rec.summary.actors[a as usize];
                out.liquidations += 1;
                out.liquidated_value += b.dink * price;
            }
            let vault = &mut s.vaults[i];
            vault.ink -= b.dink;
            vault.art -= b.dart;
            s.art[v.ilk] -= b.dart;
            s.vow.fess(self.now, b.due);
            s.dirt += b.tab;
            s.ilk_dirt[v.ilk] += b.tab;
            let kind = match spec.design {
                Design::Dutch { buf, .. } => Kind::Dutch(Clip {
                    tab: b.tab,
                    lot: b.dink,
                    top: s.price[v.ilk] * buf,
                    tic: self.now,
                }),
                Design::English { tau, .. } => {
                    Kind::English(Flip::kick(b.tab, b.dink, self.now, tau))
                }
            };
            s.live.push(Auction {
                id: s.next_id,
                vault: i,
                ilk: v.ilk,
                kind,
                start: self.t,
                lot0: b.dink,
                tab0: b.tab,
                due: b.due,
                raised: 0.0,
                sold: 0.0,
                returned: 0.0,
                bids: 0,
                resets: 0,
                keeper: None,
                by_change,
            });
            s.next_id += 1;
            s.out.auctions += 1;
            kicked += 1;
        }
        self.s.unsafe_ids = unsafe_ids;
        self.s.step.kicks += kicked;
        self.s.step.actions += kicked;
        kicked
    }

    /// The keepers whose transactions landed bid on (or take from) every
    /// live auction in the order they started, each keeper in scenario
    /// order. Returns the bids and takes executed.
    pub fn bid(&mut self) -> u32 {
        let mut executed = 0;
        let mut i = 0;
        while i < self.s.live.len() {
            let (n, over) = match self.s.live[i].kind {
                Kind::Dutch(_) => self.take_from(i),
                Kind::English(_) => (self.tend_or_dent(i), false),
            };
            executed += n;
            if over {
                let a = self.s.live.remove(i);
                self.finish(a);
            } else {
                i += 1;
            }
        }
        self.s.step.bids += executed;
        executed
    }

    /// Dutch auction `i`: reset it if it needs one and some keeper's
    /// transactions landed (clip.sol `redo`: `top` = oracle × buf, the
    /// decay restarts), then each landed keeper takes what is worth taking.
    /// Returns (takes, whether the auction is over).
    fn take_from(&mut self, i: usize) -> (u32, bool) {
        let Design::Dutch {
            buf,
            curve,
            tail,
            cusp,
        } = self.spec.design
        else {
            unreachable!("one design per CDP")
        };
        let a = self.s.live[i];
        let Kind::Dutch(mut c) = a.kind else {
            unreachable!("one design per CDP")
        };
        if !self.s.keepers.iter().any(|k| k.landed) {
            return (0, false);
        }
        let asset = self.spec.ilks[a.ilk].asset;
        let ilk = &self.s.ilks[a.ilk];
        let chost = ilk.dust * ilk.chop;
        let mut price = curve.price(c.top, self.now - c.tic);
        if needs_reset(self.now - c.tic, price, c.top, tail, cusp) {
            c.top = self.s.price[a.ilk] * buf;
            c.tic = self.now;
            price = c.top;
            self.s.live[i].resets += 1;
        }
        let mut takes = 0;
        let mut over = false;
        for k in 0..self.s.keepers.len() {
            if !self.s.keepers[k].landed || price <= 0.0 {
                continue;
            }
            let Some((take, pay, gas)) = self.plan_take(k, asset, &c, price, chost) else {
                continue;
            };
            self.pay(k, pay);
            let usd = self.sell(asset, take.slice);
            let keeper = &mut self.s.keepers[k];
            keeper.usd += usd - gas;
            self.s.vow.joy += take.owe;
            self.s.dirt -= take.owe;
            self.s.ilk_dirt[a.ilk] -= take.owe;
            over = c.apply(take);
            let live = &mut self.s.live[i];
            live.raised += take.owe;
            live.sold += take.slice;
            live.bids += 1;
            live.keeper = Some(k);
            self.s.step.raised += take.owe;
            self.s.step.actions += 1;
            takes += 1;
            if over {
                break;
            }
        }
        if over {
            // The lot is gone with a tab left (not raised), or the tab is
            // paid and the lot left goes back to the vault.
            if c.lot > 0.0 {
                self.s.vaults[a.vault].ink += c.lot;
                self.s.live[i].returned += c.lot;
            } else {
                self.s.dirt -= c.tab;
                self.s.ilk_dirt[a.ilk] -= c.tab;
            }
        }
        self.s.live[i].kind = Kind::Dutch(c);
        (takes, over)
    }

    /// What keeper `k` takes from Dutch auction `c` at `price`: the units
    /// whose sale in the collateral's venue fetches at least the price
    /// (down to the venue's marginal price), cut by clip.sol's rule, by
    /// the keeper's capital (once), and taken only if the profit after
    /// gas reaches its minimum.
    fn plan_take(
        &self,
        k: usize,
        asset: usize,
        c: &Clip,
        price: f64,
        chost: f64,
    ) -> Option<(clip::Take, Payment, f64)> {
        let spec = &self.spec.keepers[k];
        let stable_usd = self.stable_usd();
        let gas = self.gas();
        let amt = match self.quote_usd(asset) {
            Some((p, f_quote)) => {
                self.market.pools[p].base_sold_to_marginal(price * stable_usd / f_quote)
            }
            None if price * stable_usd <= self.market.fundamental[asset] => c.lot,
            None => 0.0,
        };
        if amt <= 0.0 {
            return None;
        }
        let mut take = clip::take(c.tab, c.lot, price, amt, chost)?;
        let mut pay = self.payment(k, take.owe)?;
        let usd = self.s.keepers[k].usd;
        if pay.usd + gas > usd {
            let scale = (usd - gas) / pay.usd;
            if pay.usd <= 0.0 || scale <= 0.0 {
                return None;
            }
            take = clip::take(c.tab, c.lot, price, take.slice * scale, chost)?;
            pay = self.payment(k, take.owe)?;
            if pay.usd + gas > usd {
                return None;
            }
        }
        let profit =
            self.sale_value(asset, take.slice) - pay.usd - pay.from_balance * stable_usd - gas;
        (profit >= spec.min_profit).then_some((take, pay, gas))
    }

    /// An outbid keeper's bid comes back to it as stablecoin.
    fn refund(&mut self, prev: Option<usize>, amount: f64) {
        if let Some(g) = prev {
            self.s.keepers[g].stable += amount;
        }
    }

    /// English auction `i`: each landed keeper that is not the high bidder
    /// bids once, if the auction is open. Returns the bids executed.
    fn tend_or_dent(&mut self, i: usize) -> u32 {
        let Design::English { beg, ttl, .. } = self.spec.design else {
            unreachable!("one design per CDP")
        };
        let a = self.s.live[i];
        let asset = self.spec.ilks[a.ilk].asset;
        let mut bids = 0;
        for k in 0..self.s.keepers.len() {
            let Kind::English(mut f) = self.s.live[i].kind else {
                unreachable!("one design per CDP")
            };
            if !self.s.keepers[k].landed || f.guy == Some(k) || !f.open(self.now) {
                continue;
            }
            let spec = &self.spec.keepers[k];
            let gas = self.gas();
            let stable_usd = self.stable_usd();
            if !f.denting() {
                let value = (self.sale_value(asset, f.lot) - gas - spec.min_profit) / stable_usd;
                let bid = match spec.strategy {
                    KeeperStrategy::Opportunist if f.bid == 0.0 => MIN_BID,
                    _ => value.min(f.tab),
                };
                if bid > value || !f.tend_ok(self.now, bid, beg) || !self.try_pay(k, bid, gas) {
                    continue;
                }
                let prev = f.guy;
                let (refund, to_buffer) = f.tend(k, bid, self.now, ttl);
                self.refund(prev, refund);
                self.s.vow.joy += to_buffer;
                self.s.step.raised += to_buffer;
                self.s.live[i].raised += to_buffer;
            } else {
                let target = f.tab * stable_usd + gas + spec.min_profit;
                let lot = match self.quote_usd(asset) {
                    Some((p, f_quote)) => self.market.pools[p].base_to_sell_for(target / f_quote),
                    None => target / self.market.fundamental[asset],
                };
                if !f.dent_ok(self.now, lot, beg) || !self.try_pay(k, f.tab, gas) {
                    continue;
                }
                let prev = f.guy;
                let (refund, back) = f.dent(k, lot, self.now, ttl);
                self.refund(prev, refund);
                self.s.vaults[a.vault].ink += back;
                self.s.live[i].returned += back;
            }
            self.s.keepers[k].usd -= gas;
            let live = &mut self.s.live[i];
            live.kind = Kind::English(f);
            live.bids += 1;
            live.keeper = Some(k);
            self.s.step.actions += 1;
            bids += 1;
        }
        bids
    }
}
