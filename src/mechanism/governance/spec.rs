//! Governance validated (docs/model.md §18): the actors that change
//! parameters during a run, each as the configurations it can put in
//! force. Every configuration is the scenario as written with the actor's
//! values set (`apply`), validated whole against the same book, so a value
//! is refused exactly when a scenario written with it would be
//! (`build.rs`). What each mechanism adopts is the difference from the
//! scenario's own values.

use std::collections::BTreeMap;

use crate::error::ScenarioError;
use crate::mechanism::cdp::spec::CdpTerms;
use crate::mechanism::governance::raw::RawChange;
use crate::mechanism::governance::signal::Signal;
use crate::mechanism::lending::governed::Revision;
use crate::mechanism::oracle::spec::Oracle;
use crate::mechanism::perp::spec::PerpSpec;
use crate::scenario::fields;
use crate::scenario::raw::RawScenario;

/// Every actor that changes parameters during a run.
#[derive(Debug, Clone, Default)]
pub struct GovernanceSpec {
    /// The schedule (if any), then proposals, then risk agents, each in
    /// file order.
    pub actors: Vec<Actor>,
    /// Per lending protocol: the actor that governs it, if any.
    pub lending_owner: Vec<Option<u32>>,
    /// Per perp market: the actor that governs it, if any (read only for
    /// liquidations a change caused; empty without actors).
    pub perp_owner: Vec<Option<u32>>,
    /// Per CDP: the actor that governs it, if any (likewise).
    pub cdp_owner: Vec<Option<u32>>,
    /// Per lending protocol: whether a guardian may pause it.
    pub guarded: Vec<bool>,
}

impl GovernanceSpec {
    /// Whether any actor may touch the lending markets.
    pub fn governs_lending(&self) -> bool {
        self.actors
            .iter()
            .any(|a| a.states.iter().any(|s| s.lending.is_some()))
    }

    /// Whether the scenario changes any parameter during a run.
    pub fn any(&self) -> bool {
        !self.actors.is_empty()
    }
}

/// Who changes parameters, as `parameters.parquet`'s `actor` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// `[[governance]]`: changes on a schedule.
    Schedule,
    /// `[[proposals]]`: changes voted on after a signal.
    Governance,
    /// `[[risk_agents]]`.
    Agent,
    /// `[[guardians]]`.
    Guardian,
}

impl ActorKind {
    /// Its name in outputs.
    pub fn name(self) -> &'static str {
        match self {
            ActorKind::Schedule => "schedule",
            ActorKind::Governance => "governance",
            ActorKind::Agent => "agent",
            ActorKind::Guardian => "guardian",
        }
    }
}

/// One actor: the configurations it can put in force, and its rule.
#[derive(Debug, Clone)]
pub struct Actor {
    /// What kind.
    pub kind: ActorKind,
    /// Name (`schedule`, a proposal's or an agent's).
    pub name: String,
    /// Its entry in `[[proposals]]` or `[[risk_agents]]` (0 for the
    /// schedule, whose rows name their `[[governance]]` entry).
    pub entry: u32,
    /// The fields it may set: (target, field) as `parameters.parquet`
    /// writes them.
    pub fields: Vec<(String, String)>,
    /// Its configurations; 0 is the scenario's own values. Each writes
    /// every item any of them moves (its footprint), so moving from any
    /// configuration to any other is adopting the second.
    pub states: Vec<State>,
    /// When it moves.
    pub rule: Rule,
}

/// One configuration of an actor's fields.
#[derive(Debug, Clone)]
pub struct State {
    /// Its values, by the actor's `fields`.
    pub values: Vec<f64>,
    /// What the lending markets adopt (None: they are untouched).
    pub lending: Option<Revision>,
    /// Perp markets (index, spec) the actor moves.
    pub perps: Vec<(u32, PerpSpec)>,
    /// CDPs (index, terms) the actor moves.
    pub cdps: Vec<(u32, CdpTerms)>,
    /// Lending protocols' oracles (index, oracle) the actor moves.
    pub oracles: Vec<(u32, Oracle)>,
}

/// When an actor moves.
#[derive(Debug, Clone)]
pub enum Rule {
    /// Configuration k ≥ 1 takes effect at the start of `steps[k − 1]`;
    /// `entries[k − 1]` is its `[[governance]]` entry.
    Schedule { steps: Vec<u32>, entries: Vec<u32> },
    /// Raised at the end of the first step t whose signal is at least
    /// `above`; if its vote passes, configuration 1 takes effect at the
    /// start of step t + 1 + `delay_steps`.
    Proposal {
        signal: Signal,
        above: f64,
        delay_steps: u32,
        pass_probability: f64,
        requires_signal: bool,
    },
    /// Every step: towards level round(levels·clamp((s − from)/(to − from),
    /// 0, 1)), at most `max_step` levels a step and `max_day` levels
    /// within any `day_steps` consecutive steps.
    Agent {
        signal: Signal,
        from: f64,
        to: f64,
        max_step: u32,
        max_day: u32,
        day_steps: u32,
    },
    /// Pauses lending protocol `protocol`'s liquidations or borrowing, as
    /// `pauses` says (configuration 1)
    /// at the start of step t when the signal is at least `above`, through
    /// step t + `steps` − 1 (counted again at every such step); resumes
    /// (configuration 0) at the first step after.
    Guardian {
        signal: Signal,
        above: f64,
        protocol: usize,
        steps: u32,
        /// What it pauses: (liquidations, borrowing).
        pauses: (bool, bool),
    },
}

/// One field's change.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The protocol, market or CDP it belongs to (`aave-like`).
    pub target: String,
    /// The rest of its path (`collateral.ETH.liquidation_threshold`).
    pub field: String,
    /// Value before.
    pub old: f64,
    /// Value after.
    pub new: f64,
}

/// The fields that may change during a run, as path patterns (`*` is any
/// one segment). Lending's thresholds, bonuses and LTVs take effect on
/// open positions at once (§18).
pub const GOVERNABLE: &[&str] = &[
    "protocols.*.close_factor",
    "protocols.*.full_liquidation_hf",
    "protocols.*.collateral.*.liquidation_threshold",
    "protocols.*.collateral.*.liquidation_bonus",
    "protocols.*.collateral.*.max_ltv",
    "protocols.*.emode.liquidation_threshold",
    "protocols.*.emode.liquidation_bonus",
    "protocols.*.emode.max_ltv",
    "protocols.*.supply.rate.base",
    "protocols.*.supply.rate.slope1",
    "protocols.*.supply.rate.kink",
    "protocols.*.supply.rate.slope2",
    "protocols.*.supply.rate.reserve_factor",
    "protocols.*.oracle.deviation",
    "protocols.*.oracle.heartbeat_hours",
    "protocols.*.oracle.hop_hours",
    "protocols.*.oracle.tolerance",
    "protocols.*.oracle.assets.*.deviation",
    "protocols.*.oracle.assets.*.heartbeat_hours",
    "protocols.*.oracle.assets.*.min_answer",
    "protocols.*.oracle.assets.*.max_answer",
    "protocols.*.oracle.guard.max_deviation",
    "protocols.*.oracle.guard.max_staleness_hours",
    "protocols.*.oracle.guard.grace_hours",
    "protocols.*.oracle.guard.liquidate_below_hf",
    "perps.*.maintenance_margin",
    "perps.*.taker_fee",
    "perps.*.liquidation_fee",
    "cdps.*.hole",
    "cdps.*.oracle.hop_hours",
    "cdps.*.collateral.*.liquidation_ratio",
    "cdps.*.collateral.*.stability_fee",
    "cdps.*.collateral.*.dust",
    "cdps.*.collateral.*.penalty",
    "cdps.*.collateral.*.hole",
];

fn governable(path: &str) -> bool {
    let segs: Vec<&str> = path.split('.').collect();
    GOVERNABLE.iter().any(|pat| {
        let p: Vec<&str> = pat.split('.').collect();
        p.len() == segs.len() && p.iter().zip(&segs).all(|(a, b)| *a == "*" || a == b)
    })
}

/// The entries of `raw` in the order they take effect: by step, then in
/// file order; each checked on its own (a step within the run, something
/// set).
pub fn in_order(raw: &[RawChange], steps: u32) -> Result<Vec<usize>, ScenarioError> {
    for (i, c) in raw.iter().enumerate() {
        let at = format!("governance[{i}]");
        if c.step == 0 || c.step > steps {
            return Err(ScenarioError::invalid(
                format!("{at}.step"),
                format!(
                    "{} is outside the run: changes take effect at steps 1 to {steps}",
                    c.step
                ),
            ));
        }
        if c.set.is_empty() {
            return Err(ScenarioError::invalid(format!("{at}.set"), "sets nothing"));
        }
    }
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by_key(|&i| raw[i].step);
    Ok(order)
}

/// The scenario as written with the values of `set` (an entry's, named
/// `at`) set, and each field's change (its governance and the policy for
/// unhealthy positions are the caller's). The result still has to be
/// validated whole.
pub fn apply(
    current: &RawScenario,
    set: &BTreeMap<String, f64>,
    at: &str,
) -> Result<(RawScenario, Vec<FieldChange>), ScenarioError> {
    // TOML integers are i64: the seed (a u64) goes around the value.
    let mut bare = current.clone();
    bare.simulation.seed = 0;
    let mut value =
        toml::Value::try_from(&bare).map_err(|e| ScenarioError::invalid(at, e.to_string()))?;
    let mut rows = Vec::with_capacity(set.len());
    for (path, &new) in set {
        let field = format!("{at}.set.\"{path}\"");
        if !governable(path) {
            return Err(ScenarioError::invalid(
                field,
                format!(
                    "cannot change during a run; these can: {}",
                    GOVERNABLE.join(", ")
                ),
            ));
        }
        let leaf =
            fields::lookup(&mut value, path).map_err(|p| ScenarioError::invalid(&field, p))?;
        let old = leaf
            .as_float()
            .or_else(|| leaf.as_integer().map(|n| n as f64))
            .ok_or_else(|| ScenarioError::invalid(&field, "is not a number"))?;
        *leaf = toml::Value::Float(new);
        let (target, rest) = split_target(path);
        rows.push(FieldChange {
            target,
            field: rest,
            old,
            new,
        });
    }
    let mut next: RawScenario = value
        .try_into()
        .map_err(|e: toml::de::Error| ScenarioError::invalid(at, e.message().to_string()))?;
    next.simulation.seed = current.simulation.seed;
    Ok((next, rows))
}

/// `protocols.aave-like.collateral.ETH.liquidation_threshold` →
/// (`aave-like`, `collateral.ETH.liquidation_threshold`).
pub fn split_target(path: &str) -> (String, String) {
    let mut it = path.splitn(3, '.');
    let _section = it.next();
    let target = it.next().unwrap_or_default().to_string();
    (target, it.next().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn governable_fields_match_their_patterns_only() {
        assert!(governable(
            "protocols.a.collateral.ETH.liquidation_threshold"
        ));
        assert!(governable("protocols.a.close_factor"));
        assert!(governable("protocols.0.supply.rate.slope2"));
        assert!(!governable("protocols.a.collateral.ETH.debt_ceiling_usd"));
        assert!(!governable("protocols.a.collateral.ETH"));
        assert!(!governable(
            "protocols.a.collateral.ETH.liquidation_threshold.x"
        ));
        assert!(!governable("pools.ETH.fee"));
        assert!(!governable("protocols.a.supply.deposits"));
    }

    #[test]
    fn a_path_splits_into_its_target_and_field() {
        assert_eq!(
            split_target("protocols.aave-like.collateral.ETH.liquidation_threshold"),
            (
                "aave-like".to_string(),
                "collateral.ETH.liquidation_threshold".to_string()
            )
        );
    }
}
