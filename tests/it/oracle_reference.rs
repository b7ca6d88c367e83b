//! Independent reference implementation of section 4 ("Oracles") of the model document,
//! written from the specification text alone (/tmp/model4.md), for cross-checking the simulator.
//! One asset, one protocol, `lag_steps = 0` (the caller passes the already-lagged source if needed).
//!
//! OPEN POINTS (where the text is silent or ambiguous; the choice made here follows each line):
//! 1. Initial update time: the text says every oracle starts at the source's step-0 price but not when it was "last updated"; taken as time 0 (step 0) for all kinds.
//! 2. Anchored: the initial price in use is not stated; taken as source[0] with update time 0 (as for push/delayed).
//! 3. Delayed: the initial poke boundary (OSM `zzz`) is taken as 0, so the first poke is at the first read with time >= hop (a poke at step 0 would change nothing: cur = nxt = source[0]).
//! 4. Delayed: staleness counts from the read at which the last poke happened (its time t*dt), not from the rounded-down boundary and not the age of the value in use (which is one to two hops older).
//! 5. `updated` at step 0 is always false (brief; the text only says "whether a read during the step updated it", and a TWAP/anchored read at step 0 does compute/accept). Step-0 reads are still processed normally (they change nothing but can touch the guard).
//! 6. A step with reads[t] = 0 (the text implies >= 1, the end-of-step read): nothing happens, the price and update time carry over, `updated` is false, `liquidations_paused` carries over from the previous step's last read.
//! 7. Push, latency L >= 1: a report sent in step t lands at the first read of step t+L, or at the first read of a later step if step t+L has no reads ("whose step has come" read as land_step <= t).
//! 8. Push, latency 0: "lands at once" is taken to mean within the same read, after step 2, with the same range check; later reads of the same step see the new answer (and send nothing more unless the source is out of range).
//! 9. Push: a refused report is consumed (no report is on its way any more), so step 2 of the same read may send a new one at once; with latency the re-sent report lands L steps later still carrying its own (possibly stale) observation.
//! 10. Push: the heartbeat and deviation triggers are both evaluated only when no report is on its way; a report in flight blocks all sending.
//! 11. Push: a published report counts as an update (updated = true, staleness reset) even when it carries the same value as the answer (heartbeat); a refused landing is not an update.
//! 12. Push: the update time on publication is the landing read's time, not the observation's time (text: "to now").
//! 13. Guard grace is counted from the time of the last read at which the alarm was raised (text: "since the last alarm"), not from the first read at which it cleared (Aave's sentinel counts from the sequencer's recovery time; that reading would pause up to one read interval longer).
//! 14. Guard: "further than max_deviation" is strict: |price - F| > max_deviation*|F|; "more than max_staleness_hours" is strict; with F = 0 any non-zero price alarms. No alarm ever raised => not paused.
//! 15. Guard staleness for a TWAP is always 0 at a read (computed at every read), so only the deviation alarm can fire for it.
//! 16. Time comparisons (heartbeat, staleness, grace, OSM hop boundaries) are done on elapsed = (steps)*dt with a relative tolerance of 1e-9 hours, taking the text's real-number arithmetic as meant (e.g. dt = 0.1 h: 3*0.1 is treated as exactly 0.3); price comparisons (deviation, band, min/max) are exact f64 comparisons.
//! 17. Delayed, hop not a multiple of dt: "rounded down to a multiple of the hop" is applied to the poke time (zzz = floor(now/hop)*hop); at most one poke per read even if several boundaries passed since the last read.
//! 18. TWAP window_steps = 0 is treated as invalid (panics); the text only says the window must be a whole number of steps.
//! 19. Geometric TWAP of non-positive prices: the text is silent; this returns exp(mean ln p), i.e. 0 if a price is 0 and NaN if one is negative.
//! 20. TWAP arithmetic is computed as a plain mean over the window (the simulator may use cumulative sums; results may differ by rounding only).
//! 21. Anchored: an accepted report counts as an update (updated = true, staleness reset) even if R equals the price already in use; the band test is (1-tol)*R <= A && A <= (1+tol)*R evaluated literally (so with tolerance > 0 a negative R is never accepted).
//! 22. Push with deviation = 0: |obs - answer| >= 0 always holds, so a report is sent at every read with nothing in flight (followed literally).
//! 23. A report still in flight at the end of the path is simply dropped (nothing to record).

#[derive(Debug, Clone)]
pub enum RefKind {
    Push {
        deviation: f64,
        heartbeat_hours: f64,
        latency_steps: u32,
        min_answer: f64,
        max_answer: f64,
    },
    Twap {
        window_steps: u32,
        geometric: bool,
    },
    Delayed {
        hop_hours: f64,
    },
    Anchored {
        window_steps: u32,
        geometric: bool,
        tolerance: f64,
    },
}

#[derive(Debug, Clone)]
pub struct RefGuard {
    pub max_deviation: f64,
    pub max_staleness_hours: f64,
    pub grace_hours: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefRow {
    pub price: f64,
    pub staleness_hours: f64,
    pub updated: bool,
    pub paused: bool,
}

const TIME_EPS: f64 = 1e-9;

/// `elapsed > limit` in hours, strict, tolerant of float noise in multiples of dt.
fn strictly_more(elapsed: f64, limit: f64) -> bool {
    elapsed > limit + TIME_EPS * limit.abs().max(1.0)
}

/// Number of whole hops in `now` (floor), tolerant of float noise.
fn hops_in(now: f64, hop: f64) -> i64 {
    let q = now / hop;
    (q + TIME_EPS * q.abs().max(1.0)).floor() as i64
}

/// TWAP read during step t: mean of the end-of-step prices of steps t-n .. t-1, steps < 0 reading step 0's price.
fn twap(source: &[f64], t: usize, n: u32, geometric: bool) -> f64 {
    assert!(n >= 1, "TWAP window must be at least one step");
    let n = n as i64;
    let t = t as i64;
    let mut acc = 0.0;
    for j in (t - n)..t {
        let p = source[j.max(0) as usize];
        acc += if geometric { p.ln() } else { p };
    }
    let m = acc / n as f64;
    if geometric { m.exp() } else { m }
}

/// One asset, one protocol. `source[t]` is the asset's source price during and at the end of step t
/// (t = 0..=T; it is also the end-of-step price the history records, and the "fundamental" the guard compares with).
/// `reads[t]` is how many oracle reads happen during step t (all at time t·dt hours, all seeing source[t]); the
/// last read of a step is the end-of-step read. Returns one row per step t = 0..=T: what `oracles.parquet` shows at
/// the end of step t (price in use, hours since last updated, whether updated during the step, whether liquidations are paused).
pub fn reference(
    kind: &RefKind,
    guard: Option<&RefGuard>,
    source: &[f64],
    reads: &[u32],
    dt_hours: f64,
) -> Vec<RefRow> {
    assert_eq!(
        source.len(),
        reads.len(),
        "source and reads must both cover steps 0..=T"
    );
    assert!(!source.is_empty());
    let p0 = source[0];

    // Common state: price in use and the step at which it was last updated (time = step*dt).
    let mut price = p0;
    let mut upd_step: usize = 0;

    // Push feed: at most one report on its way: (landing step, carried price).
    let mut pending: Option<(usize, f64)> = None;

    // Delayed (OSM): next value and last poke boundary as a count of hops (zzz = k_last*hop).
    let mut nxt = p0;
    let mut k_last: i64 = 0;

    // Guard.
    let mut last_alarm_step: Option<usize> = None;
    let mut paused = false;

    let mut rows = Vec::with_capacity(source.len());
    for t in 0..source.len() {
        let now = t as f64 * dt_hours;
        let obs = source[t];
        let mut updated = false;

        for _ in 0..reads[t] {
            match *kind {
                RefKind::Push {
                    deviation,
                    heartbeat_hours,
                    latency_steps,
                    min_answer,
                    max_answer,
                } => {
                    // Landing a report: published if within [min, max] (inclusive), refused otherwise.
                    let land = |pending: &mut Option<(usize, f64)>,
                                price: &mut f64,
                                upd_step: &mut usize,
                                updated: &mut bool| {
                        if let Some((land_step, r)) = *pending
                            && land_step <= t
                        {
                            *pending = None;
                            if min_answer <= r && r <= max_answer {
                                *price = r;
                                *upd_step = t;
                                *updated = true;
                            }
                        }
                    };
                    // 1. land a report whose step has come.
                    land(&mut pending, &mut price, &mut upd_step, &mut updated);
                    // 2. observe and, when nothing is on its way, decide to send.
                    if pending.is_none() {
                        let dev = if price == 0.0 {
                            obs != 0.0
                        } else {
                            (obs - price).abs() >= deviation * price.abs()
                        };
                        let hb = strictly_more((t - upd_step) as f64 * dt_hours, heartbeat_hours);
                        if dev || hb {
                            pending = Some((t + latency_steps as usize, obs));
                        }
                    }
                    // 3. with latency 0 the report lands at once.
                    if latency_steps == 0 {
                        land(&mut pending, &mut price, &mut upd_step, &mut updated);
                    }
                }
                RefKind::Twap {
                    window_steps,
                    geometric,
                } => {
                    price = twap(source, t, window_steps, geometric);
                    upd_step = t;
                    updated = true;
                }
                RefKind::Delayed { hop_hours } => {
                    let k_now = hops_in(now, hop_hours);
                    if k_now > k_last {
                        price = nxt; // cur <- nxt
                        nxt = obs; // read the source into nxt
                        k_last = k_now; // boundary rounded down to a multiple of the hop
                        upd_step = t;
                        updated = true;
                    }
                }
                RefKind::Anchored {
                    window_steps,
                    geometric,
                    tolerance,
                } => {
                    let a = twap(source, t, window_steps, geometric);
                    let r = obs;
                    if (1.0 - tolerance) * r <= a && a <= (1.0 + tolerance) * r {
                        price = r;
                        upd_step = t;
                        updated = true;
                    }
                }
            }

            // Guard, after the prices, at every read.
            if let Some(g) = guard {
                let f = obs;
                let stale = (t - upd_step) as f64 * dt_hours;
                let alarm = (price - f).abs() > g.max_deviation * f.abs()
                    || strictly_more(stale, g.max_staleness_hours);
                if alarm {
                    last_alarm_step = Some(t);
                }
                paused = alarm
                    || match last_alarm_step {
                        Some(a) => !strictly_more((t - a) as f64 * dt_hours, g.grace_hours),
                        None => false,
                    };
            }
        }

        if t == 0 {
            updated = false;
        }
        rows.push(RefRow {
            price,
            staleness_hours: (t - upd_step) as f64 * dt_hours,
            updated,
            paused: guard.is_some() && paused,
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn push(
        deviation: f64,
        heartbeat_hours: f64,
        latency_steps: u32,
        min_answer: f64,
        max_answer: f64,
    ) -> RefKind {
        RefKind::Push {
            deviation,
            heartbeat_hours,
            latency_steps,
            min_answer,
            max_answer,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    fn updated_steps(rows: &[RefRow]) -> Vec<usize> {
        rows.iter()
            .enumerate()
            .filter(|(_, r)| r.updated)
            .map(|(t, _)| t)
            .collect()
    }

    fn paused_steps(rows: &[RefRow]) -> Vec<usize> {
        rows.iter()
            .enumerate()
            .filter(|(_, r)| r.paused)
            .map(|(t, _)| t)
            .collect()
    }

    #[test]
    fn deviation_feed_on_drifting_price() {
        // 1% deviation, price rising 0.3% a step: 1.003^3 = 1.009 < 1.01, 1.003^4 = 1.012 >= 1.01.
        let src: Vec<f64> = (0..=13).map(|t| 100.0 * 1.003f64.powi(t)).collect();
        let rows = reference(&push(0.01, 1000.0, 0, -INF, INF), None, &src, &[3; 14], 1.0);
        assert_eq!(updated_steps(&rows), vec![4, 8, 12]);
        assert_eq!(rows[3].price, src[0]);
        assert_eq!(rows[5].price, src[4]);
        assert_eq!(rows[7].staleness_hours, 3.0);
        assert_eq!(rows[13].price, src[12]);
        assert_eq!(rows[13].staleness_hours, 1.0);
        assert!(rows.iter().all(|r| !r.paused));
    }

    #[test]
    fn heartbeat_strictly_more() {
        // 6-hour steps, 24 h heartbeat, flat price: at 24 h not yet (not strictly more), at 30 h yes.
        let src = vec![100.0; 13];
        let rows = reference(&push(0.005, 24.0, 0, -INF, INF), None, &src, &[1; 13], 6.0);
        assert_eq!(updated_steps(&rows), vec![5, 10]);
        assert_eq!(rows[4].staleness_hours, 24.0);
        assert_eq!(rows[5].staleness_hours, 0.0);
        assert_eq!(rows[9].staleness_hours, 24.0);
        assert_eq!(rows[12].staleness_hours, 12.0);
        // hourly steps, 6 h heartbeat: every 7 steps.
        let src = vec![1.0; 16];
        let rows = reference(&push(0.005, 6.0, 0, -INF, INF), None, &src, &[2; 16], 1.0);
        assert_eq!(updated_steps(&rows), vec![7, 14]);
    }

    #[test]
    fn floor_refuses_and_freezes() {
        let src = vec![1.0, 0.5, 0.09, 0.05, 0.05, 0.2, 0.2];
        let rows = reference(&push(0.005, 24.0, 0, 0.1, INF), None, &src, &[3; 7], 1.0);
        assert_eq!(rows[1].price, 0.5);
        assert!(rows[1].updated);
        for (t, row) in rows.iter().enumerate().take(5).skip(2) {
            assert_eq!(row.price, 0.5);
            assert!(!row.updated);
            assert_eq!(row.staleness_hours, (t - 1) as f64);
        }
        assert_eq!(rows[5].price, 0.2);
        assert!(rows[5].updated);
        assert_eq!(rows[6].staleness_hours, 1.0);
        // The floor itself is inclusive.
        let src = vec![1.0, 0.1];
        let rows = reference(&push(0.005, 24.0, 0, 0.1, INF), None, &src, &[1, 1], 1.0);
        assert_eq!(rows[1].price, 0.1);
        // A ceiling likewise.
        let src = vec![1.0, 2.0, 2.5, 1.5];
        let rows = reference(
            &push(0.005, 24.0, 0, -INF, 2.0),
            None,
            &src,
            &[1, 1, 1, 1],
            1.0,
        );
        assert_eq!(
            rows.iter().map(|r| r.price).collect::<Vec<_>>(),
            vec![1.0, 2.0, 2.0, 1.5]
        );
    }

    #[test]
    fn latency_lands_later_and_refusal_resends() {
        // Latency 1: sent at step 3 (110), lands at step 4's first read; 120 then sent, lands at step 5.
        let src = vec![100.0, 100.0, 100.0, 110.0, 120.0, 120.0, 120.0];
        let reads = vec![1, 1, 1, 3, 3, 1, 1];
        let rows = reference(&push(0.005, 24.0, 1, -INF, INF), None, &src, &reads, 1.0);
        assert_eq!(
            rows.iter().map(|r| r.price).collect::<Vec<_>>(),
            vec![100.0, 100.0, 100.0, 100.0, 110.0, 120.0, 120.0]
        );
        assert_eq!(updated_steps(&rows), vec![4, 5]);

        // Floor 0.1 with latency 1: reports of 0.05 keep being refused; the one sent at step 4
        // (carrying 0.05) lands at step 5 and is refused although the source is back at 0.5;
        // the 0.5 sent at step 5 publishes at step 6.
        let src = vec![1.0, 1.0, 0.05, 0.05, 0.05, 0.5, 0.5, 0.5];
        let rows = reference(&push(0.005, 24.0, 1, 0.1, INF), None, &src, &[1; 8], 1.0);
        assert_eq!(updated_steps(&rows), vec![6]);
        assert_eq!(rows[5].price, 1.0);
        assert_eq!(rows[5].staleness_hours, 5.0);
        assert_eq!(rows[6].price, 0.5);

        // A step with no reads: the report lands at the first read of a later step.
        let src = vec![100.0, 110.0, 120.0, 120.0];
        let rows = reference(
            &push(0.005, 24.0, 1, -INF, INF),
            None,
            &src,
            &[1, 1, 0, 1],
            1.0,
        );
        assert_eq!(rows[2].price, 100.0);
        assert_eq!(rows[2].staleness_hours, 2.0);
        assert!(!rows[2].updated);
        assert_eq!(rows[3].price, 110.0);
        assert!(rows[3].updated);
    }

    #[test]
    fn deviation_against_zero_answer() {
        let src = vec![0.0, 0.0, 1e-12];
        let rows = reference(&push(0.5, 24.0, 0, -INF, INF), None, &src, &[1, 1, 1], 1.0);
        assert_eq!(updated_steps(&rows), vec![2]);
    }

    #[test]
    fn osm_two_hour_hop_on_hourly_steps() {
        let src: Vec<f64> = (0..=8).map(|t| 100.0 + t as f64).collect();
        let rows = reference(
            &RefKind::Delayed { hop_hours: 2.0 },
            None,
            &src,
            &[2; 9],
            1.0,
        );
        let prices: Vec<f64> = rows.iter().map(|r| r.price).collect();
        assert_eq!(
            prices,
            vec![
                100.0, 100.0, 100.0, 100.0, 102.0, 102.0, 104.0, 104.0, 106.0
            ]
        );
        assert_eq!(updated_steps(&rows), vec![2, 4, 6, 8]);
        assert_eq!(rows[1].staleness_hours, 1.0);
        assert_eq!(rows[3].staleness_hours, 1.0);
        assert_eq!(rows[4].staleness_hours, 0.0);
        // One-hour hop, hourly steps: step t uses source[t-1].
        let rows = reference(
            &RefKind::Delayed { hop_hours: 1.0 },
            None,
            &src,
            &[1; 9],
            1.0,
        );
        for t in 1..=8 {
            assert_eq!(rows[t].price, src[t - 1]);
        }
        assert_eq!(rows[0].price, src[0]);
    }

    #[test]
    fn osm_boundary_rounds_down() {
        // hop 1.5 h on hourly steps: pokes at 2 (zzz 1.5), 3 (zzz 3), 5 (zzz 4.5), 6, 8, 9.
        let src: Vec<f64> = (0..=9).map(|t| t as f64).collect();
        let rows = reference(
            &RefKind::Delayed { hop_hours: 1.5 },
            None,
            &src,
            &[1; 10],
            1.0,
        );
        assert_eq!(updated_steps(&rows), vec![2, 3, 5, 6, 8, 9]);
        // cur after poke at 2 = initial nxt = 0; at 3 -> 2; at 5 -> 3; at 6 -> 5; at 8 -> 6; at 9 -> 8.
        let prices: Vec<f64> = rows.iter().map(|r| r.price).collect();
        assert_eq!(
            prices,
            vec![0.0, 0.0, 0.0, 2.0, 2.0, 3.0, 5.0, 5.0, 6.0, 8.0]
        );
        // Float-noisy dt: dt 0.1 h, hop 0.3 h -> pokes every 3 steps.
        let src = vec![1.0; 10];
        let rows = reference(
            &RefKind::Delayed { hop_hours: 0.3 },
            None,
            &src,
            &[1; 10],
            0.1,
        );
        assert_eq!(updated_steps(&rows), vec![3, 6, 9]);
    }

    #[test]
    fn twap_closed_form() {
        // a = 100 before step 5, b = 200 from step 5; window 4 steps; current step excluded.
        let src: Vec<f64> = (0..=10)
            .map(|t| if t < 5 { 100.0 } else { 200.0 })
            .collect();
        let ar = reference(
            &RefKind::Twap {
                window_steps: 4,
                geometric: false,
            },
            None,
            &src,
            &[2; 11],
            1.0,
        );
        let ge = reference(
            &RefKind::Twap {
                window_steps: 4,
                geometric: true,
            },
            None,
            &src,
            &[2; 11],
            1.0,
        );
        let expect_ar = [
            100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 125.0, 150.0, 175.0, 200.0, 200.0,
        ];
        for t in 0..=10 {
            assert!(close(ar[t].price, expect_ar[t]), "t={t}: {}", ar[t].price);
            let w = ((t as i64 - 5).clamp(0, 4)) as f64 / 4.0; // weight of b
            let g = 100f64.powf(1.0 - w) * 200f64.powf(w);
            assert!(close(ge[t].price, g), "t={t}: {} vs {g}", ge[t].price);
            assert_eq!(ar[t].staleness_hours, 0.0);
            assert_eq!(ar[t].updated, t > 0);
        }
        assert!(close(ge[7].price, (100.0f64 * 200.0).sqrt()));
        // Steps before 0 read step 0's price.
        let src = vec![80.0, 100.0, 100.0, 100.0, 100.0, 100.0];
        let r = reference(
            &RefKind::Twap {
                window_steps: 4,
                geometric: false,
            },
            None,
            &src,
            &[1; 6],
            1.0,
        );
        let expect = [80.0, 80.0, 85.0, 90.0, 95.0, 100.0];
        for t in 0..6 {
            assert!(close(r[t].price, expect[t]));
        }
        // Linear ramp: TWAP of 3 steps at t >= 3 is t - 2.
        let src: Vec<f64> = (0..=20).map(|t| t as f64).collect();
        let r = reference(
            &RefKind::Twap {
                window_steps: 3,
                geometric: false,
            },
            None,
            &src,
            &[1; 21],
            0.5,
        );
        for (t, row) in r.iter().enumerate().take(21).skip(3) {
            assert!(close(row.price, t as f64 - 2.0));
        }
    }

    #[test]
    fn anchor_band_edges_inclusive() {
        let k = |tol| RefKind::Anchored {
            window_steps: 1,
            geometric: false,
            tolerance: tol,
        };
        // window 1: anchor during step t = source[t-1].
        // lower edge: A = 1.0 = (1 - 0.5) * 2.0 -> accepted.
        let r = reference(&k(0.5), None, &[1.0, 2.0], &[1, 1], 1.0);
        assert_eq!(r[1].price, 2.0);
        assert!(r[1].updated);
        // just past it -> refused, price stays, staleness grows; taken next step once the anchor catches up.
        let r = reference(&k(0.5), None, &[1.0, 2.0000001, 2.0000001], &[1, 1, 1], 1.0);
        assert_eq!(r[1].price, 1.0);
        assert!(!r[1].updated);
        assert_eq!(r[1].staleness_hours, 1.0);
        assert_eq!(r[2].price, 2.0000001);
        assert!(r[2].updated);
        // upper edge: A = 1.5 = (1 + 0.5) * 1.0 -> accepted; R slightly lower -> refused.
        let r = reference(&k(0.5), None, &[1.5, 1.0], &[1, 1], 1.0);
        assert_eq!(r[1].price, 1.0);
        let r = reference(&k(0.5), None, &[1.5, 0.9999999], &[1, 1], 1.0);
        assert_eq!(r[1].price, 1.5);
        // DAI-like: a report of 1.30 under 20% needs an anchor >= 0.8 * 1.30 = 1.04. Source jumps to 1.30 at
        // step 2; a 10-step arithmetic anchor reads 1.00 at step 2, 1.03 at step 3 (refused), 1.06 at step 4 (taken).
        let src = vec![1.0, 1.0, 1.3, 1.3, 1.3, 1.3];
        let kk = RefKind::Anchored {
            window_steps: 10,
            geometric: false,
            tolerance: 0.2,
        };
        let r = reference(&kk, None, &src, &[1; 6], 1.0);
        let prices: Vec<f64> = r.iter().map(|r| r.price).collect();
        assert_eq!(prices, vec![1.0, 1.0, 1.0, 1.0, 1.3, 1.3]);
        assert_eq!(updated_steps(&r), vec![1, 4, 5]);
        assert_eq!(r[3].staleness_hours, 2.0);
    }

    #[test]
    fn guard_alarm_and_strict_grace() {
        // Push feed frozen at the floor: price 1.0 vs fundamental 0.05 -> alarm at steps 3..5.
        let src = vec![1.0, 1.0, 1.0, 0.05, 0.05, 0.05, 1.0, 1.0, 1.0];
        let g = RefGuard {
            max_deviation: 0.1,
            max_staleness_hours: 1000.0,
            grace_hours: 1.0,
        };
        let rows = reference(
            &push(0.005, 24.0, 0, 0.1, INF),
            Some(&g),
            &src,
            &[2; 9],
            1.0,
        );
        // paused at 6 (1 h after the last alarm is not strictly more than 1 h), free at 7.
        assert_eq!(paused_steps(&rows), vec![3, 4, 5, 6]);
        // no guard -> never paused
        let rows = reference(&push(0.005, 24.0, 0, 0.1, INF), None, &src, &[2; 9], 1.0);
        assert!(paused_steps(&rows).is_empty());
        // deviation alarm is strict: exactly 10% off does not alarm.
        let g = RefGuard {
            max_deviation: 0.5,
            max_staleness_hours: 1000.0,
            grace_hours: 1.0,
        };
        let rows = reference(
            &push(0.005, 24.0, 0, 0.1, INF),
            Some(&g),
            &[1.0, 2.0, 0.5, 0.5],
            &[1, 1, 1, 1],
            1.0,
        );
        // step 1: answer 2.0 published = F -> no alarm; step 2: 0.5 published (>= floor) -> no alarm.
        assert!(paused_steps(&rows).is_empty());
        let rows = reference(
            &RefKind::Delayed { hop_hours: 1.0 },
            Some(&g),
            &[1.0, 2.0, 2.0],
            &[1, 1, 1],
            1.0,
        );
        // step 1: price 1.0 vs F 2.0: |1-2| = 1.0 = 0.5*2 -> not strictly further -> no alarm.
        assert!(paused_steps(&rows).is_empty());
    }

    #[test]
    fn guard_staleness_on_osm() {
        let src = vec![100.0; 8];
        let g = RefGuard {
            max_deviation: 1.0,
            max_staleness_hours: 0.5,
            grace_hours: 1.0,
        };
        let rows = reference(
            &RefKind::Delayed { hop_hours: 2.0 },
            Some(&g),
            &src,
            &[1; 8],
            1.0,
        );
        // staleness 1 h at odd steps -> alarm; at even steps 0 h but within 1 h of the last alarm.
        assert_eq!(paused_steps(&rows), vec![1, 2, 3, 4, 5, 6, 7]);
        // staleness limit 1 h is not exceeded by exactly 1 h.
        let g = RefGuard {
            max_deviation: 1.0,
            max_staleness_hours: 1.0,
            grace_hours: 1.0,
        };
        let rows = reference(
            &RefKind::Delayed { hop_hours: 2.0 },
            Some(&g),
            &src,
            &[1; 8],
            1.0,
        );
        assert!(paused_steps(&rows).is_empty());
        // hop 3 h: staleness 2 h at steps 2, 5 -> alarms; grace 1 h: paused 2,3 and 5,6.
        let rows = reference(
            &RefKind::Delayed { hop_hours: 3.0 },
            Some(&g),
            &src,
            &[1; 8],
            1.0,
        );
        assert_eq!(paused_steps(&rows), vec![2, 3, 5, 6]);
    }
}
