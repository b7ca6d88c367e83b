//! Governance (docs/model.md §18): parameters that change during a run.
//! Actors put configurations of parameters in force at the start of a
//! step (stage 0), before anything else in it: the schedule at its steps,
//! a proposal after its signal and delay if its vote passes, a risk agent
//! as its signal moves, within its caps. Each mechanism adopts what a
//! configuration moves in it, and `parameters.parquet` records every
//! field's old and new value.

pub mod build;
pub mod charts;
pub mod path_table;
pub mod raw;
pub mod signal;
pub mod spec;
pub mod table;
pub mod watch;

use std::collections::VecDeque;

use rand::RngExt;

use crate::mechanism::cdp::Cdps;
use crate::mechanism::governance::signal::Signal;
use crate::mechanism::governance::spec::{Actor, GovernanceSpec, Rule};
use crate::mechanism::governance::table::{ActorOutcome, Fate};
use crate::mechanism::governance::watch::{Observed, Watch};
use crate::mechanism::lending::Lending;
use crate::mechanism::oracle::Oracles;
use crate::mechanism::perp::Perps;
use crate::montecarlo::seed::governance_rng;
use crate::output::recorder::PathRecord;

/// The mechanisms whose parameters change.
pub struct Governed<'w, 'a> {
    /// Lending markets.
    pub lending: &'w mut Lending<'a>,
    /// Perp markets.
    pub perps: &'w mut Perps<'a>,
    /// CDPs.
    pub cdps: &'w mut Cdps<'a>,
    /// Lending protocols' oracles.
    pub oracles: &'w mut Oracles<'a>,
}

/// One path's actors.
pub struct Governance<'a> {
    spec: &'a GovernanceSpec,
    seed: u64,
    /// Per actor: the configuration in force.
    at: Vec<usize>,
    /// Per actor: its signal (unused by the schedule).
    watch: Vec<Watch>,
    /// Per actor: the schedule's next change, or a proposal's due step.
    next: Vec<u32>,
    /// Per proposal: whether its vote passes on this path.
    passes: Vec<bool>,
    /// Per agent: (step, levels moved) within the last day.
    moves: Vec<VecDeque<(u32, u32)>>,
    /// Per actor: its first field in `parameters.parquet`'s names.
    offset: Vec<u32>,
}

impl<'a> Governance<'a> {
    /// The actors of a scenario with master seed `seed`.
    pub fn new(spec: &'a GovernanceSpec, seed: u64) -> Self {
        let n = spec.actors.len();
        let mut offset = Vec::with_capacity(n);
        let mut o = 0;
        for a in &spec.actors {
            offset.push(o);
            o += a.fields.len() as u32;
        }
        Governance {
            spec,
            seed,
            at: vec![0; n],
            watch: spec
                .actors
                .iter()
                .map(|a| Watch::start(signal(a)))
                .collect(),
            next: vec![0; n],
            passes: vec![false; n],
            moves: vec![VecDeque::new(); n],
            offset,
        }
    }

    /// Back to the start of path `path` (the mechanisms restore their own
    /// parameters). Each proposal's vote is drawn here, one uniform per
    /// proposal in file order from the path's governance stream, so it is
    /// the same whatever happens on the path, and whatever its delay.
    pub fn reset(&mut self, path: u32, rec: &mut PathRecord) {
        let mut rng = governance_rng(self.seed, path);
        for (i, a) in self.spec.actors.iter().enumerate() {
            self.at[i] = 0;
            self.next[i] = 0;
            self.watch[i] = Watch::start(signal(a));
            self.moves[i].clear();
            if let Rule::Proposal {
                pass_probability, ..
            } = a.rule
            {
                let u: f64 = rng.random();
                self.passes[i] = u < pass_probability;
            }
        }
        rec.summary.actors = vec![ActorOutcome::default(); self.spec.actors.len()];
    }

    /// Stage 0 of step `t`: each actor, in order, puts in force what its
    /// rule says; a recorded path writes a row per field that moves.
    pub fn act(&mut self, t: u32, mut m: Governed<'_, '_>, rec: &mut PathRecord) {
        for (i, a) in self.spec.actors.iter().enumerate() {
            match &a.rule {
                Rule::Schedule { steps, entries } => {
                    while let Some(&s) = steps.get(self.next[i] as usize) {
                        if s > t {
                            break;
                        }
                        let k = self.next[i] as usize;
                        self.move_to(i, k + 1, entries[k], t, &mut m, rec);
                        self.next[i] += 1;
                    }
                }
                Rule::Proposal {
                    above,
                    requires_signal,
                    ..
                } => {
                    if self.next[i] != t || rec.summary.actors[i].fate != Fate::Pending {
                        continue;
                    }
                    let fate = if !self.passes[i] {
                        Fate::Rejected
                    } else if *requires_signal && self.watch[i].value < *above {
                        Fate::Cancelled
                    } else {
                        self.move_to(i, 1, a.entry, t, &mut m, rec);
                        Fate::Executed
                    };
                    rec.summary.actors[i].fate = fate;
                }
                Rule::Agent {
                    from,
                    to,
                    max_step,
                    max_day,
                    day_steps,
                    ..
                } => {
                    let levels = (a.states.len() - 1) as f64;
                    let x = ((self.watch[i].value - from) / (to - from)).clamp(0.0, 1.0);
                    // NaN (no signal yet) wants nothing.
                    let want = if x.is_nan() {
                        0
                    } else {
                        (x * levels).round() as usize
                    };
                    let day = &mut self.moves[i];
                    while day.front().is_some_and(|&(s, _)| s + day_steps <= t) {
                        day.pop_front();
                    }
                    let used: u32 = day.iter().map(|&(_, n)| n).sum();
                    let room = (*max_step).min(max_day.saturating_sub(used)) as usize;
                    let now = self.at[i];
                    let to_level = if want > now {
                        now + (want - now).min(room)
                    } else {
                        now - (now - want).min(room)
                    };
                    if to_level != now {
                        day.push_back((t, now.abs_diff(to_level) as u32));
                        self.move_to(i, to_level, a.entry, t, &mut m, rec);
                    }
                }
                Rule::Guardian {
                    above,
                    protocol,
                    steps,
                    pauses: (liquidations, borrowing),
                    ..
                } => {
                    if self.watch[i].value >= *above {
                        // Paused through step next[i].
                        self.next[i] = t.saturating_add(steps - 1);
                        if self.at[i] == 0 {
                            self.move_to(i, 1, a.entry, t, &mut m, rec);
                            m.lending.halt(*protocol, *liquidations, *borrowing);
                        }
                    } else if self.at[i] == 1 && t > self.next[i] {
                        self.move_to(i, 0, a.entry, t, &mut m, rec);
                        m.lending.halt(*protocol, false, false);
                    }
                }
            }
        }
    }

    /// Put actor `i`'s configuration `k` in force at step `t`.
    fn move_to(
        &mut self,
        i: usize,
        k: usize,
        entry: u32,
        t: u32,
        m: &mut Governed<'_, '_>,
        rec: &mut PathRecord,
    ) {
        let a: &Actor = &self.spec.actors[i];
        let (old, new) = (&a.states[self.at[i]], &a.states[k]);
        if let Some(r) = &new.lending {
            m.lending.adopt(r);
        }
        if !new.perps.is_empty() {
            m.perps.adopt(&new.perps);
        }
        if !new.cdps.is_empty() {
            m.cdps.adopt(&new.cdps);
        }
        if !new.oracles.is_empty() {
            m.oracles.adopt(&new.oracles);
        }
        let out = &mut rec.summary.actors[i];
        out.changes += 1;
        out.first_change.get_or_insert(t);
        if rec.recorded {
            let rows = &mut rec.parameters;
            for (f, (&was, &is)) in old.values.iter().zip(&new.values).enumerate() {
                if was == is {
                    continue;
                }
                rows.step.push(t);
                rows.change.push(entry);
                rows.target.push(self.offset[i] + f as u32);
                rows.field.push(self.offset[i] + f as u32);
                rows.old.push(was);
                rows.new.push(is);
                rows.actor.push(a.kind as u32);
                rows.name.push(i as u32);
            }
        }
        self.at[i] = k;
    }

    /// End of step `t`, after it is recorded: every signal observes the
    /// path's state, and a proposal whose signal reaches its threshold is
    /// raised (once a path).
    pub fn observe(&mut self, t: u32, o: &Observed<'_, '_>, out: &mut [ActorOutcome]) {
        for (i, a) in self.spec.actors.iter().enumerate() {
            if matches!(a.rule, Rule::Schedule { .. }) {
                continue;
            }
            self.watch[i].observe(signal(a), o);
            if let Rule::Proposal {
                above, delay_steps, ..
            } = a.rule
            {
                let out = &mut out[i];
                if out.raised.is_none() && self.watch[i].value >= above {
                    out.raised = Some(t);
                    out.fate = Fate::Pending;
                    self.next[i] = t.saturating_add(1).saturating_add(delay_steps);
                }
            }
        }
    }

    /// Whether any actor reads a signal.
    pub fn watches(&self) -> bool {
        (self.spec.actors.iter()).any(|a| !matches!(a.rule, Rule::Schedule { .. }))
    }
}

/// An actor's signal (a placeholder the schedule never reads).
fn signal(a: &Actor) -> &Signal {
    match &a.rule {
        Rule::Proposal { signal, .. }
        | Rule::Agent { signal, .. }
        | Rule::Guardian { signal, .. } => signal,
        Rule::Schedule { .. } => &Signal::BadDebt(0),
    }
}
