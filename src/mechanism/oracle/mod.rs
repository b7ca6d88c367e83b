//! Oracles with state (docs/model.md §4): a protocol whose oracle is a push
//! feed, a TWAP, a delayed (OSM) or an anchored oracle reads its prices
//! through the state kept here on each path, one per asset. Direct oracles
//! (the source, possibly lagged) need none and are read by the lending
//! markets themselves.

pub mod charts;
pub mod feed;
pub mod raw;
pub mod spec;
pub mod table;

use crate::market::source::Source;
use crate::market::state::Market;
use crate::mechanism::oracle::feed::{Osm, PushFeed, more_than, twap, within_anchor};
use crate::mechanism::oracle::raw::TwapMean;
use crate::mechanism::oracle::spec::{Feed, Oracle, Twap};
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

pub use table::OracleRows;

/// What an oracle in use shows, whatever its kind.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shown {
    /// The price in use.
    price: f64,
    /// Hours at which it was last updated (published, computed, poked,
    /// accepted).
    updated_at: f64,
}

/// One asset's oracle state.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Push(PushFeed),
    Twap(Shown),
    Delayed(Osm, f64),
    Anchored(Shown),
}

impl State {
    fn shown(&self) -> Shown {
        match *self {
            State::Push(f) => Shown {
                price: f.answer,
                updated_at: f.updated_at,
            },
            State::Twap(s) | State::Anchored(s) => s,
            State::Delayed(o, poked_at) => Shown {
                price: o.cur,
                updated_at: poked_at,
            },
        }
    }
}

/// The oracles with state of every protocol that has them, on one path.
#[derive(Clone)]
pub struct Oracles<'a> {
    sc: &'a Scenario,
    /// Per protocol: its state by asset, or none (a direct oracle).
    state: Vec<Option<Vec<State>>>,
    /// Per protocol and asset, the source price at the last read.
    source: Vec<f64>,
    /// Per protocol with a guard: hours of its last alarm.
    last_alarm: Vec<f64>,
    /// Per protocol: whether its guard pauses liquidations now.
    paused: Vec<bool>,
    /// Per protocol: the oracle's terms in force (governance changes them,
    /// docs/model.md §18), and whether any differs from step 0's.
    specs: Vec<Oracle>,
    changed: bool,
}

/// The TWAP of `source`'s end-of-step prices over the `w.steps` steps
/// before step `t` (steps before 0 read step 0's price).
fn twap_of(sc: &Scenario, source: &Source, w: &Twap, t: u32, market: &Market) -> f64 {
    let prices = (1..w.steps + 1).map(|k| market.source_price(sc, source, t, k));
    twap(prices, w.mean == TwapMean::Geometric)
}

impl<'a> Oracles<'a> {
    /// No state yet: `reset` starts it.
    pub fn new(sc: &'a Scenario) -> Self {
        Oracles {
            sc,
            state: sc
                .protocols
                .iter()
                .map(|p| p.oracle.has_state().then(Vec::new))
                .collect(),
            source: vec![f64::NAN; sc.protocols.len() * sc.assets.len()],
            last_alarm: vec![f64::NEG_INFINITY; sc.protocols.len()],
            paused: vec![false; sc.protocols.len()],
            specs: sc.protocols.iter().map(|p| p.oracle.clone()).collect(),
            changed: false,
        }
    }

    /// Adopt protocols' oracle terms after a parameter change (docs/model.md
    /// §18): from the next read on, with each feed's state as it is.
    pub fn adopt(&mut self, specs: &[(u32, Oracle)]) {
        for (p, spec) in specs {
            self.specs[*p as usize].clone_from(spec);
        }
        self.changed = true;
    }

    /// Every oracle starts in sync with its source's step-0 price.
    pub fn reset(&mut self, market: &Market) {
        let sc = self.sc;
        self.last_alarm.fill(f64::NEG_INFINITY);
        self.paused.fill(false);
        if self.changed {
            for (spec, p) in self.specs.iter_mut().zip(&sc.protocols) {
                spec.clone_from(&p.oracle);
            }
            self.changed = false;
        }
        for (p, state) in self.state.iter_mut().enumerate() {
            let Some(state) = state else { continue };
            let oracle = &sc.protocols[p].oracle;
            let prices = oracle
                .sources
                .iter()
                .map(|s| market.source_price(sc, s, 0, 0));
            let shown = |price: f64| Shown {
                price,
                updated_at: 0.0,
            };
            state.clear();
            state.extend(prices.map(|px| match &oracle.feed {
                Feed::Push(_) => State::Push(PushFeed::new(px)),
                Feed::Twap(_) => State::Twap(shown(px)),
                Feed::Delayed { .. } => State::Delayed(Osm::new(px), 0.0),
                Feed::Anchored { .. } => State::Anchored(shown(px)),
                Feed::Direct => unreachable!("a direct oracle keeps no state"),
            }));
        }
    }

    /// Read protocol `p`'s oracle at step `t` into `out` (one price per
    /// asset). False for a direct oracle (`out` untouched).
    pub fn read(&mut self, t: u32, p: usize, market: &Market, out: &mut [f64]) -> bool {
        let sc = self.sc;
        let Some(state) = self.state[p].as_mut() else {
            return false;
        };
        let oracle = &self.specs[p];
        let hours = t as f64 * sc.dt_hours;
        let n = sc.assets.len();
        for (a, s) in state.iter_mut().enumerate() {
            let source = market.source_price(sc, &oracle.sources[a], t, oracle.lag_steps);
            self.source[p * n + a] = source;
            match (&mut *s, &oracle.feed) {
                (State::Push(f), Feed::Push(params)) => {
                    f.read(&params[a], t, hours, source);
                }
                (State::Twap(shown), Feed::Twap(w)) => {
                    *shown = Shown {
                        price: twap_of(sc, &oracle.sources[a], w, t, market),
                        updated_at: hours,
                    };
                }
                (State::Delayed(osm, poked_at), Feed::Delayed { hop_hours }) => {
                    osm.read(*hop_hours, hours, source);
                    if osm.updated {
                        *poked_at = hours;
                    }
                }
                (State::Anchored(shown), Feed::Anchored { anchor, tolerance }) => {
                    let reported = source;
                    let anchor = twap_of(sc, &oracle.anchors[a], anchor, t, market);
                    if within_anchor(reported, anchor, *tolerance) {
                        shown.price = reported;
                        shown.updated_at = hours;
                    }
                }
                _ => unreachable!("state and feed are built together"),
            }
            out[a] = s.shown().price;
        }
        if let Some(g) = &oracle.guard {
            let spec = &sc.protocols[p];
            let alarm = state.iter().enumerate().any(|(a, s)| {
                let used = spec.collateral[a].is_some() || spec.debt_asset == a;
                let shown = s.shown();
                let f = market.fundamental[a];
                used && ((shown.price - f).abs() > g.max_deviation * f
                    || more_than(hours - shown.updated_at, g.max_staleness_hours))
            });
            if alarm {
                self.last_alarm[p] = hours;
            }
            // Aave's sentinel lets liquidations resume only once strictly
            // more than the grace period has passed.
            self.paused[p] = !more_than(hours - self.last_alarm[p], g.grace_hours);
        }
        true
    }

    /// Whether protocol `p`'s guard pauses it now (after its last read).
    pub fn paused(&self, p: usize) -> bool {
        self.paused[p]
    }

    /// Positions of protocol `p` are liquidated below this health factor
    /// now: 1, or its guard's `liquidate_below_hf` while it pauses.
    pub fn liquidation_hf(&self, p: usize) -> f64 {
        match &self.specs[p].guard {
            Some(g) if self.paused[p] => g.liquidate_below_hf,
            _ => 1.0,
        }
    }

    /// `oracles.parquet` rows at the end of step `t` (after the last read).
    pub fn record(&self, t: u32, rec: &mut PathRecord) {
        let sc = self.sc;
        let n = sc.assets.len();
        let hours = t as f64 * sc.dt_hours;
        let r = &mut rec.oracles;
        for (p, state) in self.state.iter().enumerate() {
            let Some(state) = state else { continue };
            for (a, s) in state.iter().enumerate() {
                let shown = s.shown();
                r.step.push(t);
                r.protocol.push(p as u32);
                r.asset.push(a as u32);
                r.oracle_price.push(shown.price);
                r.source_price.push(self.source[p * n + a]);
                r.staleness_hours.push(hours - shown.updated_at);
                // Updated at some read of this step (never at step 0).
                r.updated.push(t > 0 && shown.updated_at == hours);
                r.liquidations_paused.push(self.paused[p]);
            }
        }
    }
}
