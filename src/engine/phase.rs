//! The named stages of a step (docs/model.md §1), as (phase, mechanism)
//! pairs, and the wall time spent in each (benchmarks only).

use std::time::Instant;

/// A timed stage: a phase of docs/model.md §1 and the mechanism acting in
/// it. The order is the order a step runs them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Stage 0: scheduled parameter changes.
    Governance,
    /// Stage 0: lending interest.
    AccrueLending,
    /// Stage 0: keepers' inclusion and the CDPs' stability fees.
    AccrueCdp,
    /// Stage 1: exogenous price moves and shocks, derived prices.
    MovePrices,
    /// Stage 2: pool arbitrage.
    Arbitrage,
    /// Stage 2: arbitrage through the CDPs' peg stability modules.
    ArbitrageCdp,
    /// Stage 3: lenders' runs and borrowers' deleveraging.
    AgentsLending,
    /// Stage 3c: perp index and margin models.
    AgentsPerps,
    /// Stage 3d: hedgers and option vaults.
    AgentsOptions,
    /// Stage 3e: oracle manipulators' forecasts, pushes and loans.
    AgentsAttack,
    /// Stage 3f: CDP vault owners repaying.
    AgentsCdp,
    /// Stage 4: oracle reads and lending liquidations, every round.
    CascadeLending,
    /// Stage 4: perp liquidations and ADL, every round.
    CascadePerps,
    /// Stage 4: CDP barks, bids and takes, every round.
    CascadeCdp,
    /// Stage 4b: perp funding.
    AfterCascadePerps,
    /// Stage 5: impact persistence and the NaN quarantine.
    Persist,
    /// Stage 6: recording every mechanism's rows.
    Record,
    /// End of a path: DebtRank and clearing.
    EndOfPath,
}

impl Stage {
    /// Every stage, in step order.
    pub const ALL: [Stage; 18] = [
        Stage::Governance,
        Stage::AccrueLending,
        Stage::AccrueCdp,
        Stage::MovePrices,
        Stage::Arbitrage,
        Stage::ArbitrageCdp,
        Stage::AgentsLending,
        Stage::AgentsPerps,
        Stage::AgentsOptions,
        Stage::AgentsAttack,
        Stage::AgentsCdp,
        Stage::CascadeLending,
        Stage::CascadePerps,
        Stage::CascadeCdp,
        Stage::AfterCascadePerps,
        Stage::Persist,
        Stage::Record,
        Stage::EndOfPath,
    ];

    /// `phase/mechanism`, as benchmarks print it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Governance => "governance/all",
            Stage::AccrueLending => "accrue/lending",
            Stage::AccrueCdp => "accrue/cdp",
            Stage::MovePrices => "prices/market",
            Stage::Arbitrage => "arbitrage/market",
            Stage::ArbitrageCdp => "arbitrage/cdp",
            Stage::AgentsLending => "agents/lending",
            Stage::AgentsPerps => "agents/perps",
            Stage::AgentsOptions => "agents/options",
            Stage::AgentsAttack => "agents/attack",
            Stage::AgentsCdp => "agents/cdp",
            Stage::CascadeLending => "cascade/lending",
            Stage::CascadePerps => "cascade/perps",
            Stage::CascadeCdp => "cascade/cdp",
            Stage::AfterCascadePerps => "after-cascade/perps",
            Stage::Persist => "persist/market",
            Stage::Record => "record/all",
            Stage::EndOfPath => "end-of-path/systemic",
        }
    }
}

/// Wall-clock nanoseconds spent in each stage, summed over steps and paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageNanos {
    nanos: [u64; Stage::ALL.len()],
}

impl StageNanos {
    /// Nanoseconds spent in `stage`.
    pub fn get(&self, stage: Stage) -> u64 {
        self.nanos[stage as usize]
    }

    /// Every stage with its nanoseconds, in step order.
    pub fn iter(&self) -> impl Iterator<Item = (Stage, u64)> + '_ {
        Stage::ALL.iter().map(|&s| (s, self.nanos[s as usize]))
    }

    /// Add another's counts to these.
    pub fn add(&mut self, other: &StageNanos) {
        for (a, b) in self.nanos.iter_mut().zip(other.nanos) {
            *a += b;
        }
    }

    /// These counts less `earlier`'s (the time spent in between).
    pub fn since(&self, earlier: &StageNanos) -> StageNanos {
        let mut out = *self;
        for (a, b) in out.nanos.iter_mut().zip(earlier.nanos) {
            *a -= b;
        }
        out
    }
}

/// A stopwatch that charges the time since its last lap to a stage; it
/// does nothing (reads no clock) unless timing is on.
#[derive(Debug, Default)]
pub struct Laps {
    mark: Option<Instant>,
    nanos: Option<StageNanos>,
}

impl Laps {
    /// Start timing.
    pub fn enable(&mut self) {
        self.nanos = Some(StageNanos::default());
    }

    /// What has been timed so far, if timing is on.
    pub fn nanos(&self) -> Option<StageNanos> {
        self.nanos
    }

    /// Start the clock (at the start of a path).
    pub fn start(&mut self) {
        if self.nanos.is_some() {
            self.mark = Some(Instant::now());
        }
    }

    /// Charge the time since the last lap to `stage`.
    #[inline]
    pub fn lap(&mut self, stage: Stage) {
        if let (Some(m), Some(n)) = (self.mark.as_mut(), self.nanos.as_mut()) {
            let now = Instant::now();
            n.nanos[stage as usize] += (now - *m).as_nanos() as u64;
            *m = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Benchmarks print each stage by name: every name is `phase/mechanism`
    /// and no two stages share one.
    #[test]
    fn every_stage_has_its_own_phase_and_mechanism_name() {
        let names: Vec<&str> = Stage::ALL.iter().map(|s| s.name()).collect();
        for (i, n) in names.iter().enumerate() {
            let (phase, mechanism) = n.split_once('/').expect("phase/mechanism");
            assert!(!phase.is_empty() && !mechanism.is_empty(), "{n}");
            assert!(!names[..i].contains(n), "{n} twice");
        }
        assert_eq!(Stage::CascadeCdp.name(), "cascade/cdp");
        assert_eq!(Stage::AgentsAttack.name(), "agents/attack");
    }
}
