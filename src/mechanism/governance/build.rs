//! The actors of a scenario built and validated (docs/model.md §18): each
//! configuration an actor can put in force is the scenario as written with
//! its values set, validated whole against the same book by the caller's
//! `validate` (the scenario module, which this module cannot name without
//! a cycle); each mechanism then adopts its difference from step 0.

use std::collections::BTreeMap;

use crate::error::ScenarioError;
use crate::mechanism::cdp::spec::CdpTerms;
use crate::mechanism::governance::raw::{Pausable, RawAgent, RawChange, RawGuardian, RawProposal};
use crate::mechanism::governance::signal::Signal;
use crate::mechanism::governance::spec::{
    Actor, ActorKind, FieldChange, GovernanceSpec, Rule, State, apply, in_order,
};
use crate::mechanism::lending::book::{Book, Terms};
use crate::mechanism::lending::governed::{fill_footprint, revision};
use crate::mechanism::lending::spec::LendingSpec;
use crate::mechanism::oracle::feed::steps_covering;
use crate::mechanism::oracle::spec::Oracle;
use crate::mechanism::perp::spec::PerpSpec;
use crate::scenario::check::{check_name, finite, non_negative, unit_closed};
use crate::scenario::raw::RawScenario;

/// The parameters a configuration puts in force, as validation found them.
pub struct Config {
    /// Lending protocols.
    pub protocols: Vec<LendingSpec>,
    /// The book under them.
    pub book: Book,
    /// Perp markets.
    pub perps: Vec<PerpSpec>,
    /// Each CDP's vault types and `hole`.
    pub cdps: Vec<CdpTerms>,
}

/// A scenario at step 0, to build its actors on.
pub struct Base<'a> {
    /// As written, without its actors, keeping unhealthy positions.
    pub raw: &'a RawScenario,
    /// Its assets and protocols (for signals).
    pub terms: Terms<'a>,
    /// Its lending protocols and book.
    pub protocols: &'a [LendingSpec],
    pub book: &'a Book,
    /// Its perp markets and CDPs.
    pub perps: &'a [PerpSpec],
    pub cdps: Vec<CdpTerms>,
    /// Steps in the run, and hours per step.
    pub steps: u32,
    pub dt_hours: f64,
}

/// Validates a scenario as written; the caller's.
pub type Validate<'v> = dyn FnMut(RawScenario) -> Result<Config, ScenarioError> + 'v;

/// Every actor of a scenario: the schedule, the proposals, the agents.
pub fn build(
    base: &Base<'_>,
    schedule: &[RawChange],
    proposals: &[RawProposal],
    agents: &[RawAgent],
    guardians: &[RawGuardian],
    validate: &mut Validate<'_>,
) -> Result<GovernanceSpec, ScenarioError> {
    one_actor_per_target(schedule, proposals, agents)?;
    let mut actors = Vec::new();
    if !schedule.is_empty() {
        actors.push(scheduled(base, schedule, validate)?);
    }
    for (i, p) in proposals.iter().enumerate() {
        actors.push(proposal(base, p, i, validate)?);
    }
    for (i, a) in agents.iter().enumerate() {
        actors.push(agent(base, a, i, validate)?);
    }
    let mut guarded = vec![false; base.protocols.len()];
    for (i, g) in guardians.iter().enumerate() {
        let actor = guardian(base, g, i)?;
        if let Rule::Guardian { protocol, .. } = actor.rule {
            if guarded[protocol] {
                return Err(ScenarioError::invalid(
                    format!("guardians[{i}].protocol"),
                    format!("`{}` has a guardian already", g.protocol),
                ));
            }
            guarded[protocol] = true;
        }
        actors.push(actor);
    }
    let mut names = std::collections::BTreeSet::new();
    for (a, at) in actors
        .iter()
        .zip(actor_fields(schedule, proposals, agents, guardians.len()))
    {
        if !names.insert(a.name.clone()) {
            return Err(ScenarioError::invalid(
                format!("{at}.name"),
                format!("`{}` names another actor", a.name),
            ));
        }
    }
    let mut lending_owner = vec![None; base.protocols.len()];
    let mut perp_owner = vec![None; base.perps.len()];
    let mut cdp_owner = vec![None; base.cdps.len()];
    for (i, a) in actors.iter().enumerate() {
        // Every configuration is written over the actor's whole footprint:
        // the scenario's own (0) names every item it governs.
        let (s, owner) = (&a.states[0], Some(i as u32));
        for (p, _) in s.lending.iter().flat_map(|r| &r.specs) {
            lending_owner[*p as usize] = owner;
        }
        for (m, _) in &s.perps {
            perp_owner[*m as usize] = owner;
        }
        for (c, _) in &s.cdps {
            cdp_owner[*c as usize] = owner;
        }
    }
    Ok(GovernanceSpec {
        actors,
        lending_owner,
        perp_owner,
        cdp_owner,
        guarded,
    })
}

/// Where each actor is written (`governance`, `proposals[i]`, …).
fn actor_fields(
    schedule: &[RawChange],
    proposals: &[RawProposal],
    agents: &[RawAgent],
    guardians: usize,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if !schedule.is_empty() {
        out.push("governance".into());
    }
    out.extend((0..proposals.len()).map(|i| format!("proposals[{i}]")));
    out.extend((0..agents.len()).map(|i| format!("risk_agents[{i}]")));
    out.extend((0..guardians).map(|i| format!("guardians[{i}]")));
    out
}

/// A protocol, perp market or CDP is governed by one actor at most, so
/// actors never undo one another's values and every combination of their
/// configurations is one validated configuration per target.
fn one_actor_per_target(
    schedule: &[RawChange],
    proposals: &[RawProposal],
    agents: &[RawAgent],
) -> Result<(), ScenarioError> {
    let sets = schedule
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("governance[{i}]"), "governance".to_string(), &c.set))
        .chain(proposals.iter().enumerate().map(|(i, p)| {
            let at = format!("proposals[{i}]");
            (at.clone(), at, &p.set)
        }))
        .chain(agents.iter().enumerate().map(|(i, g)| {
            let at = format!("risk_agents[{i}]");
            (at.clone(), at, &g.set)
        }));
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for (at, actor, set) in sets {
        for path in set.keys() {
            let target: String = path.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
            let first = owner.entry(target.clone()).or_insert_with(|| actor.clone());
            if *first != actor {
                return Err(ScenarioError::invalid(
                    format!("{at}.set.\"{path}\""),
                    format!(
                        "`{target}` is already governed by `{first}`; each protocol, perp market or CDP has one actor"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Each configuration's difference from step 0, every one over the
/// actor's whole footprint.
fn states(base: &Base<'_>, configs: Vec<(Config, Vec<f64>)>, zero: Vec<f64>) -> Vec<State> {
    let base_terms = (base.protocols, base.book);
    let mut lending: Vec<_> = std::iter::once(None)
        .chain(
            configs
                .iter()
                .map(|(c, _)| revision(base_terms, (&c.protocols, &c.book))),
        )
        .collect();
    fill_footprint(&mut lending, base_terms);
    let perps = footprint(base.perps, configs.iter().map(|(c, _)| c.perps.as_slice()));
    let cdps = footprint(&base.cdps, configs.iter().map(|(c, _)| c.cdps.as_slice()));
    let oracles_of =
        |ps: &[LendingSpec]| -> Vec<Oracle> { ps.iter().map(|p| p.oracle.clone()).collect() };
    let config_oracles: Vec<Vec<Oracle>> = configs
        .iter()
        .map(|(c, _)| oracles_of(&c.protocols))
        .collect();
    let oracles = footprint(
        &oracles_of(base.protocols),
        config_oracles.iter().map(Vec::as_slice),
    );
    let values = std::iter::once(zero).chain(configs.into_iter().map(|(_, v)| v));
    (values.zip(lending).zip(perps).zip(cdps).zip(oracles))
        .map(|((((values, lending), perps), cdps), oracles)| State {
            values,
            lending,
            perps,
            cdps,
            oracles,
        })
        .collect()
}

/// Per configuration (step 0 first): (index, item) for every item that
/// differs from step 0 in any configuration.
fn footprint<'c, T: Clone + PartialEq + 'c>(
    base: &'c [T],
    configs: impl Iterator<Item = &'c [T]> + Clone,
) -> Vec<Vec<(u32, T)>> {
    let moved: Vec<usize> = (0..base.len())
        .filter(|&i| configs.clone().any(|c| c[i] != base[i]))
        .collect();
    std::iter::once(base)
        .chain(configs)
        .map(|c| moved.iter().map(|&i| (i as u32, c[i].clone())).collect())
        .collect()
}

fn validated(
    validate: &mut Validate<'_>,
    raw: RawScenario,
    at: &str,
) -> Result<Config, ScenarioError> {
    validate(raw).map_err(|e| {
        ScenarioError::invalid(format!("{at}.set"), format!("with its values set: {e}"))
    })
}

/// `[[governance]]`: configuration k is the scenario with the first k
/// changes (in the order they take effect) applied.
fn scheduled(
    base: &Base<'_>,
    raw: &[RawChange],
    validate: &mut Validate<'_>,
) -> Result<Actor, ScenarioError> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut zero: Vec<f64> = Vec::new();
    let mut current = base.raw.clone();
    let mut values: Vec<f64> = Vec::new();
    let mut configs = Vec::new();
    let (mut steps, mut entries) = (Vec::new(), Vec::new());
    for i in in_order(raw, base.steps)? {
        let at = format!("governance[{i}]");
        let (next, rows) = apply(&current, &raw[i].set, &at)?;
        for r in rows {
            let key = (r.target.clone(), r.field.clone());
            match fields.iter().position(|f| *f == key) {
                Some(f) => values[f] = r.new,
                None => {
                    fields.push(key);
                    zero.push(r.old);
                    values.push(r.new);
                }
            }
        }
        configs.push((validated(validate, next.clone(), &at)?, values.clone()));
        steps.push(raw[i].step);
        entries.push(i as u32);
        current = next;
    }
    // Earlier configurations leave later fields at step 0's values.
    for (_, v) in &mut configs {
        v.extend_from_slice(&zero[v.len()..]);
    }
    Ok(Actor {
        kind: ActorKind::Schedule,
        name: "schedule".into(),
        entry: 0,
        fields,
        states: states(base, configs, zero),
        rule: Rule::Schedule { steps, entries },
    })
}

fn name(raw: &Option<String>, at: &str, default: String) -> Result<String, ScenarioError> {
    let n = raw.clone().unwrap_or(default);
    check_name(&format!("{at}.name"), &n)?;
    Ok(n)
}

fn split(rows: &[FieldChange]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| (r.target.clone(), r.field.clone()))
        .collect()
}

/// `[[proposals]]`: configuration 1 is the scenario with its values set.
fn proposal(
    base: &Base<'_>,
    p: &RawProposal,
    i: usize,
    validate: &mut Validate<'_>,
) -> Result<Actor, ScenarioError> {
    let at = format!("proposals[{i}]");
    let name = name(&p.name, &at, format!("proposal-{i}"))?;
    let signal = Signal::from_raw(&p.signal, &format!("{at}.signal"), base.terms)?;
    let above = finite(&format!("{at}.above"), p.above)?;
    let delay = non_negative(&format!("{at}.delay_hours"), p.delay_hours)?;
    let pass_probability = unit_closed(
        &format!("{at}.pass_probability"),
        p.pass_probability.unwrap_or(1.0),
    )?;
    if p.set.is_empty() {
        return Err(ScenarioError::invalid(format!("{at}.set"), "sets nothing"));
    }
    let (next, rows) = apply(base.raw, &p.set, &at)?;
    let config = validated(validate, next, &at)?;
    let zero = rows.iter().map(|r| r.old).collect();
    let new = rows.iter().map(|r| r.new).collect();
    Ok(Actor {
        kind: ActorKind::Governance,
        name,
        entry: i as u32,
        fields: split(&rows),
        states: states(base, vec![(config, new)], zero),
        rule: Rule::Proposal {
            signal,
            above,
            delay_steps: steps_covering(delay, base.dt_hours).min(u32::MAX as f64) as u32,
            pass_probability,
            requires_signal: p.requires_signal,
        },
    })
}

/// Most levels an agent may have (each is a validated configuration).
pub const MAX_LEVELS: u32 = 1000;

/// `[[risk_agents]]`: configuration j is the scenario with each field
/// j/levels of the way from its value to the agent's.
fn agent(
    base: &Base<'_>,
    a: &RawAgent,
    i: usize,
    validate: &mut Validate<'_>,
) -> Result<Actor, ScenarioError> {
    let at = format!("risk_agents[{i}]");
    let name = name(&a.name, &at, format!("agent-{i}"))?;
    let signal = Signal::from_raw(&a.signal, &format!("{at}.signal"), base.terms)?;
    let from = finite(&format!("{at}.from"), a.from)?;
    let to = finite(&format!("{at}.to"), a.to)?;
    if from == to {
        return Err(ScenarioError::invalid(
            format!("{at}.to"),
            format!("equals `from` ({from}): the agent needs a range to act over"),
        ));
    }
    let levels = a.levels.unwrap_or(20);
    if !(1..=MAX_LEVELS).contains(&levels) {
        return Err(ScenarioError::invalid(
            format!("{at}.levels"),
            format!("{levels} is outside 1 to {MAX_LEVELS}"),
        ));
    }
    let cap = |field: &str, v: Option<f64>| -> Result<u32, ScenarioError> {
        let f = format!("{at}.{field}");
        let v = unit_closed(&f, v.unwrap_or(1.0))?;
        let n = (v * levels as f64 + 1e-9).floor() as u32;
        if n == 0 {
            return Err(ScenarioError::invalid(
                f,
                format!("{v} is less than one level (1/{levels}): the agent could never move"),
            ));
        }
        Ok(n)
    };
    let max_step = cap("max_step", a.max_step)?;
    let max_day = cap("max_day", a.max_day)?;
    if a.set.is_empty() {
        return Err(ScenarioError::invalid(format!("{at}.set"), "sets nothing"));
    }
    let (_, rows) = apply(base.raw, &a.set, &at)?;
    let mut configs = Vec::with_capacity(levels as usize);
    for j in 1..=levels {
        let x = j as f64 / levels as f64;
        let value = |r: &FieldChange| {
            if j == levels {
                r.new
            } else {
                r.old + (r.new - r.old) * x
            }
        };
        let set: BTreeMap<String, f64> =
            a.set.keys().cloned().zip(rows.iter().map(value)).collect();
        let (next, _) = apply(base.raw, &set, &at)?;
        let config = validate(next).map_err(|e| {
            let values: Vec<String> = set.iter().map(|(k, v)| format!("\"{k}\" = {v}")).collect();
            ScenarioError::invalid(
                format!("{at}.set"),
                format!(
                    "at level {j}/{levels} of the way ({}): {e}",
                    values.join(", ")
                ),
            )
        })?;
        configs.push((config, rows.iter().map(value).collect()));
    }
    Ok(Actor {
        kind: ActorKind::Agent,
        name,
        entry: i as u32,
        fields: split(&rows),
        states: states(base, configs, rows.iter().map(|r| r.old).collect()),
        rule: Rule::Agent {
            signal,
            from,
            to,
            max_step,
            max_day,
            day_steps: steps_covering(24.0, base.dt_hours).max(1.0) as u32,
        },
    })
}

/// `[[guardians]]`: configuration 1 is its protocol with liquidations
/// paused (nothing for the mechanisms to adopt: `Lending::halt` pauses).
fn guardian(base: &Base<'_>, g: &RawGuardian, i: usize) -> Result<Actor, ScenarioError> {
    let at = format!("guardians[{i}]");
    let name = name(&g.name, &at, format!("guardian-{i}"))?;
    let protocol = base.terms.protocol_index(&g.protocol).ok_or_else(|| {
        ScenarioError::invalid(
            format!("{at}.protocol"),
            format!("unknown lending protocol `{}`", g.protocol),
        )
    })?;
    let signal = Signal::from_raw(&g.signal, &format!("{at}.signal"), base.terms)?;
    let above = finite(&format!("{at}.above"), g.above)?;
    let hours = crate::scenario::check::positive(&format!("{at}.hours"), g.hours)?;
    let pauses = g
        .pauses
        .clone()
        .unwrap_or_else(|| vec![Pausable::Liquidations]);
    let set: std::collections::BTreeSet<Pausable> = pauses.iter().copied().collect();
    if set.len() != pauses.len() || set.is_empty() {
        return Err(ScenarioError::invalid(
            format!("{at}.pauses"),
            "must name `liquidations`, `borrowing` or both, once each",
        ));
    }
    let field = |p: &Pausable| match p {
        Pausable::Liquidations => "liquidations_paused",
        Pausable::Borrowing => "borrowing_paused",
    };
    let fields: Vec<(String, String)> = (set.iter())
        .map(|p| (g.protocol.clone(), field(p).to_string()))
        .collect();
    let state = |v: f64| State {
        values: vec![v; fields.len()],
        lending: None,
        perps: Vec::new(),
        cdps: Vec::new(),
        oracles: Vec::new(),
    };
    Ok(Actor {
        kind: ActorKind::Guardian,
        name,
        entry: i as u32,
        states: vec![state(0.0), state(1.0)],
        fields,
        rule: Rule::Guardian {
            signal,
            above,
            protocol,
            pauses: (
                set.contains(&Pausable::Liquidations),
                set.contains(&Pausable::Borrowing),
            ),
            steps: steps_covering(hours, base.dt_hours).clamp(1.0, u32::MAX as f64) as u32,
        },
    })
}
