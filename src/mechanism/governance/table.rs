//! `parameters.parquet`: one row per field an actor moves, on each
//! recorded path; and each actor's outcome per path (docs/model.md §18).

use crate::scenario::validated::Scenario;

crate::step_table! {
    /// `parameters.parquet` rows of one path: one per field that moved, at
    /// the step the change took effect.
    pub struct ParameterRows in "parameters" of parameters, written if |sc| sc.governance.any() => {
        /// Step at whose start the change took effect.
        "step" step: u32 as index,
        /// The schedule's `[[governance]]` entry, or the proposal's or
        /// agent's entry in `[[proposals]]` or `[[risk_agents]]` (from 0).
        "change" change: u32 as index,
        /// The protocol, perp market or CDP the field belongs to.
        "target" target: u32 as name(parameter_targets),
        /// The field's path below its target
        /// (`collateral.ETH.liquidation_threshold`).
        "field" field: u32 as name(parameter_fields),
        /// Value before.
        "old" old: f64 as value,
        /// Value after.
        "new" new: f64 as value,
        /// Who changed it: `schedule`, `governance`, `agent` or
        /// `guardian` (whose fields are `liquidations_paused` and
        /// `borrowing_paused`, 1 while paused).
        "actor" actor: u32 as name(parameter_actors),
        /// The actor's name (`schedule`, or the proposal's or agent's).
        "name" name: u32 as name(actor_names),
    }
}

/// The actors `ParameterRows::actor` names, by `ActorKind`.
pub const ACTORS: [&str; 4] = ["schedule", "governance", "agent", "guardian"];

/// What became of a proposal on a path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fate {
    /// Its signal never reached its threshold (and for the schedule and
    /// agents, always).
    #[default]
    NotRaised,
    /// Raised; not yet due at the end of the run.
    Pending,
    /// Its vote failed.
    Rejected,
    /// Its signal had gone when it was due, and it required it.
    Cancelled,
    /// It took effect.
    Executed,
}

/// `Fate`s as `path_actors.parquet` writes them.
pub const FATES: [&str; 5] = ["not_raised", "pending", "rejected", "cancelled", "executed"];

/// One actor's outcome over a path (`path_actors.parquet`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ActorOutcome {
    /// Configurations it put in force (a guardian: pauses and resumptions).
    pub changes: u32,
    /// The step of the first.
    pub first_change: Option<u32>,
    /// A proposal: the step it was raised at.
    pub raised: Option<u32>,
    /// A proposal: what became of it.
    pub fate: Fate,
    /// Liquidations its changes caused, each sound under the scenario's own
    /// parameters when liquidated: lending positions at or above health
    /// factor 1, perp positions whose account met its maintenance
    /// requirement, CDP vaults safe at their liquidation ratio.
    pub liquidations: u32,
    /// What they took, USD: collateral seized (lending), notional closed
    /// at the mark (perps), collateral sent to auction at the oracle's
    /// price (CDPs).
    pub liquidated_value: f64,
}

/// Every actor's fields in order: (target, field). A row's `target` and
/// `field` index this list.
pub fn field_names(sc: &Scenario) -> (Vec<String>, Vec<String>) {
    sc.governance
        .actors
        .iter()
        .flat_map(|a| a.fields.iter().cloned())
        .unzip()
}

/// Every actor's name, in order.
pub fn actor_names(sc: &Scenario) -> Vec<String> {
    sc.governance
        .actors
        .iter()
        .map(|a| a.name.clone())
        .collect()
}
