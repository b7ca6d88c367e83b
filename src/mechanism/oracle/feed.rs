//! A push feed's state (docs/model.md §4), one per protocol and asset: the
//! answer on chain, when it was last updated, and a report on its way.
//! The rules follow Chainlink's off-chain reporting (OCR) as its public
//! sources have them:
//!
//! - a report is sent when the observation deviates from the answer *on
//!   chain* by at least the threshold, relative to that answer
//!   (`|new − old| ≥ α·|old|`, non-strict; any non-zero observation when the
//!   answer is 0), or when strictly more than the heartbeat has passed since
//!   the answer was last updated (libocr's report generation, `shouldReport`
//!   with `alphaPPB` and `deltaC`);
//! - a report outside `[min_answer, max_answer]` (both inclusive) is not
//!   published: the aggregator's `transmit` reverts, no round is created,
//!   and the feed keeps its last answer and its update time
//!   (`OffchainAggregator.sol`, `transmit`); it is never clamped;
//! - a report lands `latency` steps after it was sent (at once with 0); one
//!   report is on its way at a time.

/// Times are t·dt hours, so a span of whole steps need not be exact in
/// floating point (30 steps of 0.1 h are 3.0000000000000004 h). Spans are
/// compared with this tolerance, relative to the limit (at least 1 h):
/// what the model means is the real-number comparison.
const TIME_TOLERANCE: f64 = 1e-9;

/// Whether the span `elapsed` is strictly more than `limit` hours.
pub fn more_than(elapsed: f64, limit: f64) -> bool {
    elapsed > limit + TIME_TOLERANCE * limit.abs().max(1.0)
}

/// Whether the time `now` is at or after `at` hours.
pub fn at_or_after(now: f64, at: f64) -> bool {
    now >= at - TIME_TOLERANCE * at.abs().max(1.0)
}

/// The fewest steps of `step` hours that cover `span` hours (a span
/// within the tolerance above of n steps is n steps: 72 h of 3 h steps are
/// 24).
pub fn steps_covering(span: f64, step: f64) -> f64 {
    let n = span / step;
    (n - TIME_TOLERANCE * n.max(1.0)).ceil().max(0.0)
}

/// Whole steps of `step` hours in the span `span` (t·dt spans counted
/// with the tolerance above: three steps of 0.1 h are three whole ones).
pub fn whole_steps(span: f64, step: f64) -> f64 {
    (span / step + TIME_TOLERANCE).floor()
}

/// A push feed's parameters for one asset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PushParams {
    /// Relative deviation from the answer on chain that triggers a report.
    pub deviation: f64,
    /// Hours after the last update that trigger a report.
    pub heartbeat_hours: f64,
    /// Steps between a report and its landing on chain.
    pub latency_steps: u32,
    /// Smallest answer the feed publishes.
    pub min_answer: f64,
    /// Largest answer the feed publishes.
    pub max_answer: f64,
}

/// A push feed on one path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PushFeed {
    /// The answer on chain.
    pub answer: f64,
    /// Hours at which the answer was last updated.
    pub updated_at: f64,
    /// A report on its way: its price and the step it lands.
    pub pending: Option<(f64, u32)>,
}

impl PushFeed {
    /// A feed whose answer at step 0 is `price`: every feed starts in sync
    /// with its source.
    pub fn new(price: f64) -> Self {
        PushFeed {
            answer: price,
            updated_at: 0.0,
            pending: None,
        }
    }

    /// Read at step `t`, `hours` = t·dt, with the source at `source`;
    /// returns the answer on chain after the read.
    pub fn read(&mut self, p: &PushParams, t: u32, hours: f64, source: f64) -> f64 {
        if let Some((price, lands)) = self.pending
            && t >= lands
        {
            self.pending = None;
            self.land(p, price, hours);
        }
        if self.pending.is_none() {
            let moved = if self.answer == 0.0 {
                source != 0.0
            } else {
                (source - self.answer).abs() >= p.deviation * self.answer.abs()
            };
            let due = more_than(hours - self.updated_at, p.heartbeat_hours);
            if moved || due {
                if p.latency_steps == 0 {
                    self.land(p, source, hours);
                } else {
                    self.pending = Some((source, t + p.latency_steps));
                }
            }
        }
        self.answer
    }

    /// A report of `price` arrives at `hours`: published if in range.
    fn land(&mut self, p: &PushParams, price: f64, hours: f64) {
        if price >= p.min_answer && price <= p.max_answer {
            self.answer = price;
            self.updated_at = hours;
        }
    }
}

/// Maker's oracle security module (OSM) on one path: the value in use
/// (`cur`), the next one (`nxt`), and the hop boundary of the last poke
/// (`zzz`). Pokes are taken at the first read after each boundary, as a
/// keeper would (makerdao/osm `src/osm.sol`: `poke` needs `now ≥ zzz + hop`,
/// sets `cur ← nxt`, `nxt ←` the source, and rounds `zzz` down to a
/// multiple of `hop`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Osm {
    /// The value in use.
    pub cur: f64,
    /// The value that comes into use at the next poke.
    pub nxt: f64,
    /// The hop boundary, hours, of the last poke.
    pub zzz: f64,
    /// Whether the last read poked.
    pub updated: bool,
}

impl Osm {
    /// An OSM in sync with its source at step 0 (both values the source's).
    pub fn new(price: f64) -> Self {
        Osm {
            cur: price,
            nxt: price,
            zzz: 0.0,
            updated: false,
        }
    }

    /// Read at `hours` with the source at `source`; returns the value in
    /// use after the read.
    pub fn read(&mut self, hop_hours: f64, hours: f64, source: f64) -> f64 {
        self.updated = at_or_after(hours, self.zzz + hop_hours);
        if self.updated {
            self.cur = self.nxt;
            self.nxt = source;
            self.zzz = whole_steps(hours, hop_hours) * hop_hours;
        }
        self.cur
    }
}

/// Whether `reported` is accepted against `anchor`: the anchor within
/// `[(1 − tolerance)·reported, (1 + tolerance)·reported]`, both ends
/// inclusive (Compound's `UniswapAnchoredView`, `isWithinAnchor`: the ratio
/// anchor ÷ reported between the lower and upper bounds).
pub fn within_anchor(reported: f64, anchor: f64, tolerance: f64) -> bool {
    anchor >= (1.0 - tolerance) * reported && anchor <= (1.0 + tolerance) * reported
}

/// The time-weighted mean of `prices` (each held for one step):
/// arithmetic (Uniswap v2's cumulative price) or geometric (Uniswap v3's
/// mean tick, without its quantisation to ticks).
pub fn twap(prices: impl ExactSizeIterator<Item = f64>, geometric: bool) -> f64 {
    let n = prices.len().max(1) as f64;
    if geometric {
        (prices.map(f64::ln).sum::<f64>() / n).exp()
    } else {
        prices.sum::<f64>() / n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spans are compared with a tolerance of 10⁻⁹ of the limit, an hour
    /// at least (docs/model.md §4): at a limit of 1,000 h that is 10⁻⁶ h,
    /// and a span exactly at the limit plus its tolerance is not more.
    #[test]
    fn time_comparisons_allow_a_billionth_of_the_limit() {
        assert!(!more_than(1000.0 + 5e-7, 1000.0));
        assert!(more_than(1000.0 + 2e-6, 1000.0));
        assert!(!more_than(1000.0 + 1e-9 * 1000.0, 1000.0), "at the bound");
        assert!(!more_than(0.5 + 5e-10, 0.5), "an hour's 10⁻⁹ at least");
        assert!(more_than(0.5 + 2e-9, 0.5));
        assert!(at_or_after(1000.0 - 5e-7, 1000.0));
        assert!(!at_or_after(1000.0 - 2e-6, 1000.0));
        assert!(at_or_after(0.5 - 5e-10, 0.5));
        assert!(!at_or_after(0.5 - 2e-9, 0.5));
    }

    fn params(deviation: f64, heartbeat_hours: f64, latency_steps: u32) -> PushParams {
        PushParams {
            deviation,
            heartbeat_hours,
            latency_steps,
            min_answer: 0.0,
            max_answer: f64::INFINITY,
        }
    }

    /// Hourly reads of a source that drifts up 0.3% an hour with a 1%
    /// threshold: 100 → 100.3 → 100.6 → 100.9 (0.9%, not yet) → 101.2 (1.2%
    /// of 100: published); then measured from 101.2, not from the last
    /// observation.
    #[test]
    fn a_deviation_is_measured_from_the_answer_on_chain() {
        let p = params(0.01, 1e9, 0);
        let mut f = PushFeed::new(100.0);
        let mut answers = Vec::new();
        for t in 1..=8u32 {
            let source = 100.0 * (1.0 + 0.003 * t as f64);
            answers.push(f.read(&p, t, t as f64, source));
        }
        let want = [100.0, 100.0, 100.0, 101.2, 101.2, 101.2, 101.2, 102.4];
        for (a, w) in answers.iter().zip(want) {
            assert!((a - w).abs() < 1e-9, "{answers:?}");
        }
    }

    /// Exactly the threshold publishes (non-strict); just under does not.
    #[test]
    fn a_move_of_exactly_the_threshold_publishes() {
        let p = params(0.5, 1e9, 0);
        let mut f = PushFeed::new(2.0);
        assert_eq!(f.read(&p, 1, 1.0, 2.99), 2.0);
        assert_eq!(f.read(&p, 2, 2.0, 3.0), 3.0);
        assert_eq!(f.updated_at, 2.0);
        // From an answer of 0, any non-zero observation is a deviation.
        let mut z = PushFeed::new(0.0);
        assert_eq!(z.read(&p, 1, 1.0, 1e-9), 1e-9);
    }

    /// A flat source with a 24 h heartbeat read every 6 h: nothing at 24 h
    /// (not strictly past), an update at 30 h, the next at 60 h.
    #[test]
    fn the_heartbeat_counts_from_the_last_update_and_is_strict() {
        let p = params(0.01, 24.0, 0);
        let mut f = PushFeed::new(5.0);
        let mut updated_at = Vec::new();
        for t in 1..=12u32 {
            f.read(&p, t, 6.0 * t as f64, 5.0);
            if f.updated_at == 6.0 * t as f64 {
                updated_at.push(6 * t);
            }
        }
        assert_eq!(updated_at, [30, 60]);
    }

    /// LUNA-like: a floor of 0.107. The source falls through it; the report
    /// is refused, the answer stays at its last in-range value and its age
    /// grows, and every later read tries again (the heartbeat is past due).
    #[test]
    fn a_report_outside_the_range_is_refused_and_the_feed_freezes() {
        let p = PushParams {
            min_answer: 0.107,
            ..params(0.01, 2.0, 0)
        };
        let mut f = PushFeed::new(1.0);
        assert_eq!(f.read(&p, 1, 1.0, 0.5), 0.5);
        assert_eq!(f.read(&p, 2, 2.0, 0.107), 0.107, "the bound is inclusive");
        for t in 3..10u32 {
            assert_eq!(f.read(&p, t, t as f64, 0.01), 0.107);
            assert_eq!(f.updated_at, 2.0);
        }
        // Back in range: published at once.
        assert_eq!(f.read(&p, 10, 10.0, 0.2), 0.2);
        let cap = PushParams {
            max_answer: 3.0,
            ..params(0.01, 2.0, 0)
        };
        let mut g = PushFeed::new(1.0);
        assert_eq!(g.read(&cap, 1, 1.0, 3.5), 1.0, "never clamped to the cap");
    }

    /// A report sent at step 2 lands at step 4 with the price observed at
    /// step 2; none is sent while one is on its way.
    #[test]
    fn a_report_lands_after_its_latency_with_the_price_it_carried() {
        let p = params(0.01, 1e9, 2);
        let mut f = PushFeed::new(10.0);
        assert_eq!(f.read(&p, 1, 1.0, 10.0), 10.0);
        assert_eq!(f.read(&p, 2, 2.0, 11.0), 10.0);
        assert_eq!(f.pending, Some((11.0, 4)));
        assert_eq!(f.read(&p, 3, 3.0, 15.0), 10.0);
        assert_eq!(f.read(&p, 4, 4.0, 12.0), 11.0);
        assert_eq!(f.updated_at, 4.0);
        // 12 deviates from 11 by 9%: the next report went out at step 4.
        assert_eq!(f.pending, Some((12.0, 6)));
    }

    /// Pokes at the first read at or after each hop boundary; a read before
    /// it keeps the value in use. Hop 1 h, reads at 0.5, 1.0, 1.5, 2.25 h.
    #[test]
    fn an_osm_pokes_once_per_hop_and_uses_the_value_read_a_poke_before() {
        let mut o = Osm::new(10.0);
        assert_eq!(o.read(1.0, 0.5, 11.0), 10.0);
        assert!(!o.updated);
        assert_eq!(o.read(1.0, 1.0, 12.0), 10.0, "cur ← nxt (10), nxt ← 12");
        assert!(o.updated && o.nxt == 12.0 && o.zzz == 1.0);
        assert_eq!(o.read(1.0, 1.5, 13.0), 10.0);
        assert_eq!(o.read(1.0, 2.25, 14.0), 12.0);
        assert_eq!(o.zzz, 2.0, "rounded down to the hop");
        assert_eq!(
            o.read(1.0, 2.99, 15.0),
            12.0,
            "next poke at 3 h, not 3.25 h"
        );
        assert_eq!(o.read(1.0, 3.0, 15.0), 14.0);
    }

    #[test]
    fn the_anchor_band_is_inclusive() {
        assert!(within_anchor(100.0, 80.0, 0.2));
        assert!(within_anchor(100.0, 120.0, 0.2));
        assert!(!within_anchor(100.0, 79.99, 0.2));
        assert!(!within_anchor(100.0, 120.01, 0.2));
        // Compound, 26 November 2020: a report of 1.30 passes once the
        // anchor is at 1.04 = 0.8 × 1.30.
        assert!(within_anchor(1.30, 1.04, 0.2));
        assert!(!within_anchor(1.30, 1.03, 0.2));
    }

    #[test]
    fn twaps_are_the_arithmetic_and_geometric_means() {
        let v = [1.0, 4.0, 16.0];
        assert_eq!(twap(v.iter().copied(), false), 7.0);
        assert!((twap(v.iter().copied(), true) - 4.0).abs() < 1e-12);
    }
}
