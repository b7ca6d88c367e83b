//! Oracles with state (docs/model.md §4): a protocol whose oracle is a
//! push feed reads its prices through one `PushFeed` per asset, kept here
//! on each path. Direct oracles (the source, possibly lagged) need no state
//! and are read by the lending markets themselves.

pub mod feed;
pub mod raw;
pub mod spec;
pub mod table;

use crate::market::state::Market;
use crate::mechanism::oracle::feed::PushFeed;
use crate::mechanism::oracle::raw::OracleSource;
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

pub use table::OracleRows;

/// The push feeds of every protocol that has them, on one path.
pub struct Oracles<'a> {
    sc: &'a Scenario,
    /// Per protocol: its feeds by asset, or none (a direct oracle).
    feeds: Vec<Option<Vec<PushFeed>>>,
    /// Per protocol and asset, the source price at the last read.
    source: Vec<f64>,
}

impl<'a> Oracles<'a> {
    /// No feed yet: `reset` starts them.
    pub fn new(sc: &'a Scenario) -> Self {
        Oracles {
            sc,
            feeds: sc
                .protocols
                .iter()
                .map(|p| p.oracle.push.as_ref().map(|_| Vec::new()))
                .collect(),
            source: vec![f64::NAN; sc.protocols.len() * sc.assets.len()],
        }
    }

    /// Whether any protocol has a push feed.
    pub fn any(&self) -> bool {
        self.feeds.iter().any(Option::is_some)
    }

    /// Each feed's answer starts at its source's price at step 0.
    pub fn reset(&mut self, market: &Market) {
        let sc = self.sc;
        for (p, feeds) in self.feeds.iter_mut().enumerate() {
            if let Some(feeds) = feeds {
                let from_pool = sc.protocols[p].oracle.source == OracleSource::Pool;
                let prices = market.history.lagged(0, 0, from_pool);
                feeds.clear();
                feeds.extend(prices.iter().map(|&px| PushFeed::new(px)));
            }
        }
    }

    /// Read protocol `p`'s feeds at step `t`: each observes the source
    /// (as the direct oracle would read it: `source`, lagged by `lag_steps`)
    /// and `out` gets the answers on chain. False for a direct oracle
    /// (`out` untouched).
    pub fn read(&mut self, t: u32, p: usize, market: &Market, out: &mut [f64]) -> bool {
        let sc = self.sc;
        let Some(feeds) = self.feeds[p].as_mut() else {
            return false;
        };
        let oracle = &sc.protocols[p].oracle;
        let params = oracle.push.as_ref().expect("a push oracle has parameters");
        let from_pool = oracle.source == OracleSource::Pool;
        let source: &[f64] = if oracle.lag_steps > 0 {
            market.history.lagged(t, oracle.lag_steps, from_pool)
        } else if from_pool {
            &market.pool_usd
        } else {
            &market.fundamental
        };
        let hours = t as f64 * sc.dt_hours;
        let n = sc.assets.len();
        for (a, feed) in feeds.iter_mut().enumerate() {
            self.source[p * n + a] = source[a];
            out[a] = feed.read(&params[a], t, hours, source[a]);
        }
        true
    }

    /// Protocol `p`'s answer for `asset` as last read (a push oracle only).
    pub fn answer(&self, p: usize, asset: usize) -> Option<f64> {
        self.feeds[p].as_ref().map(|f| f[asset].answer)
    }

    /// `oracles.parquet` rows at the end of step `t` (after the last read).
    pub fn record(&self, t: u32, rec: &mut PathRecord) {
        let sc = self.sc;
        let n = sc.assets.len();
        let hours = t as f64 * sc.dt_hours;
        let r = &mut rec.oracles;
        for (p, feeds) in self.feeds.iter().enumerate() {
            let Some(feeds) = feeds else { continue };
            for (a, f) in feeds.iter().enumerate() {
                r.step.push(t);
                r.protocol.push(p as u32);
                r.asset.push(a as u32);
                r.oracle_price.push(f.answer);
                r.source_price.push(self.source[p * n + a]);
                r.staleness_hours.push(hours - f.updated_at);
                r.updated.push(f.updated);
            }
        }
    }
}
