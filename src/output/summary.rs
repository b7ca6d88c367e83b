//! `summary.json`: a run's figures over its paths — the headline, each
//! protocol's and perp market's outcomes with bootstrap intervals, the
//! systemic metrics, and what `--cut` attributes to the links cut
//! (docs/model.md §7).

use serde::Serialize;

use crate::graph::systemic::ProtocolNetwork;
use crate::montecarlo::bootstrap::{TailIntervals, bootstrap_rng, tail_intervals};
use crate::montecarlo::metrics::{LossMetrics, loss_metrics};
use crate::output::PathSummary;
use crate::scenario::validated::Scenario;

/// The headline figures under the names the field uses (docs/model.md §7).
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// Gauntlet's "VaR": 95% quantile of insolvent debt.
    pub var95_insolvent_debt: f64,
    /// Gauntlet's "LaR": 95% quantile of liquidated value.
    pub lar95_liquidated_value: f64,
    /// Chaos Labs' "extreme VaR": 99% quantile of insolvent debt.
    pub extreme_var99_insolvent_debt: f64,
    /// 95% and 99% quantiles of bad debt.
    pub var95_bad_debt: f64,
    /// 99% quantile of bad debt.
    pub var99_bad_debt: f64,
}

/// `summary.json`: the §7 metrics of the paths table.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Paths.
    pub paths: u32,
    /// Steps per path.
    pub steps: u32,
    /// Positions in the book.
    pub positions: usize,
    /// Positions left out of the book by isolated debt ceilings.
    pub positions_over_debt_ceiling: u64,
    /// Positions of the book as given already below health factor 1 at
    /// step 0, and what was done with them (`simulation.unhealthy_positions`).
    pub unhealthy_at_start: UnhealthyAtStart,
    /// Bad debt written off over a path.
    pub bad_debt: LossMetrics,
    /// Insolvent debt at the last step.
    pub insolvent_debt: LossMetrics,
    /// Collateral value liquidated over a path.
    pub liquidated_value: LossMetrics,
    /// Liquidations per path.
    pub liquidations: LossMetrics,
    /// Path-steps whose cascade hit `max_cascade_rounds`, over all paths.
    pub capped_steps: u64,
    /// Each lending protocol's outcomes over every path, side by side.
    pub protocols: Vec<ProtocolOutcomes>,
    /// The figures under their industry names.
    pub headline: Headline,
    /// 95% bootstrap confidence intervals of VaR99 and ES99 (percentile
    /// method, 1,000 resamples seeded from the scenario's seed), and how
    /// many paths the 1% tail rests on.
    pub tail_ci: TailCi,
    /// DebtRank and clearing on the protocol network (docs/model.md §13),
    /// when some protocol has a supply side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub systemic: Option<Systemic>,
    /// Perp markets over paths (docs/model.md §15), when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perps: Option<PerpSummary>,
    /// Oracle manipulators over paths (docs/model.md §16), when there are
    /// any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack: Option<AttackSummary>,
    /// Raiders over paths (docs/model.md §16), when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raid: Option<RaidSummary>,
    /// CDP stablecoins over paths (docs/model.md §17), one entry per CDP.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cdps: Vec<CdpSummary>,
    /// Each governance actor over paths (docs/model.md §18).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub governance: Vec<ActorSummary>,
    /// With `--cut`: what came through the cut links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
}

/// `summary.json`'s count of positions below health factor 1 at step 0.
#[derive(Debug, Clone, Serialize)]
pub struct UnhealthyAtStart {
    /// How many.
    pub positions: u64,
    /// Their debt, USD at initial prices.
    pub debt_usd: f64,
    /// `keep` (simulated: liquidated at step 1), `drop` (left out).
    pub policy: crate::scenario::raw::UnhealthyPolicy,
}

/// `summary.json`'s confidence intervals of the 99% tail.
#[derive(Debug, Clone, Serialize)]
pub struct TailCi {
    /// Bad debt.
    pub bad_debt: TailIntervals,
    /// Insolvent debt.
    pub insolvent_debt: TailIntervals,
    /// Liquidated value.
    pub liquidated_value: TailIntervals,
}

impl TailCi {
    /// Whether the tail rests on too few paths to trust VaR99 and ES99.
    pub fn thin(&self) -> bool {
        self.bad_debt.thin()
    }
}

/// One protocol's metrics over paths in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolOutcomes {
    /// Protocol name.
    pub protocol: String,
    /// Its debt at step 0, USD at initial prices.
    pub initial_debt_usd: f64,
    /// Bad debt written off over a path.
    pub bad_debt: LossMetrics,
    /// The part of it that came through receipt-token collateral.
    pub bad_debt_contagion: LossMetrics,
    /// Insolvent debt at the last step.
    pub insolvent_debt: LossMetrics,
    /// Collateral value liquidated over a path.
    pub liquidated_value: LossMetrics,
    /// Liquidations per path.
    pub liquidations: LossMetrics,
    /// 95% bootstrap intervals of its bad debt's VaR99 and ES99 (as
    /// `tail_ci`, from stream 16 + its index).
    pub bad_debt_tail_ci: TailIntervals,
}

/// One perp market's metrics over paths in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PerpMarketOutcomes {
    /// Market name.
    pub market: String,
    /// Accounts liquidated per path.
    pub liquidations: LossMetrics,
    /// Positions auto-deleveraged per path.
    pub adl_events: LossMetrics,
    /// Drawn from the insurance fund per path, USD.
    pub fund_drawn: LossMetrics,
    /// Deficits the vault absorbed per path, USD.
    pub vault_bad_debt: LossMetrics,
    /// 95% bootstrap intervals of the vault's deficit's VaR99 and ES99 (as
    /// `tail_ci`, from stream 2³² + its index).
    pub vault_bad_debt_tail_ci: TailIntervals,
}

/// Perp metrics over paths in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PerpSummary {
    /// Each market's own metrics.
    pub markets: Vec<PerpMarketOutcomes>,
    /// Accounts liquidated per path.
    pub liquidations: LossMetrics,
    /// Positions auto-deleveraged per path.
    pub adl_events: LossMetrics,
    /// Drawn from the insurance funds per path, USD.
    pub fund_drawn: LossMetrics,
    /// Deficits the vaults absorbed per path, USD.
    pub vault_bad_debt: LossMetrics,
}

/// One CDP's outcomes over paths in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct CdpSummary {
    /// Name.
    pub cdp: String,
    /// Auctions started per path.
    pub auctions: LossMetrics,
    /// Auctions won for (nearly) nothing per path.
    pub zero_bid_auctions: LossMetrics,
    /// Σ max(0, debt − raised) over finished auctions, stablecoin per path.
    pub shortfall: LossMetrics,
    /// Debt left uncovered by surplus and debt auctions at the end,
    /// stablecoin per path.
    pub deficit: LossMetrics,
    /// Governance tokens minted per path.
    pub gov_minted: LossMetrics,
    /// The peg stability module's gem below par at its worst, USD per
    /// path (absent without a module).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psm_impairment: Option<LossMetrics>,
}

/// One governance actor's outcomes over paths in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ActorSummary {
    /// Name.
    pub actor: String,
    /// `schedule`, `governance` or `agent`.
    pub kind: String,
    /// Share of paths on which it changed a parameter.
    pub share_of_paths_changed: f64,
    /// Mean step of its first change, over the paths with one (absent
    /// when none has).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_first_change: Option<f64>,
    /// Configurations put in force per path.
    pub changes: LossMetrics,
    /// A proposal: share of paths on which it was raised, executed,
    /// rejected by its vote, cancelled, or still pending at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fates: Option<std::collections::BTreeMap<String, f64>>,
    /// Liquidations its changes caused per path (lending positions, perp
    /// positions, CDP auctions; docs/model.md §18).
    pub liquidations_caused: LossMetrics,
    /// What they took (collateral seized, notional closed, collateral
    /// auctioned), USD per path.
    pub liquidated_value_caused: LossMetrics,
}

impl ActorSummary {
    fn of(sc: &Scenario, rows: &[PathSummary]) -> Vec<ActorSummary> {
        use crate::mechanism::governance::spec::ActorKind;
        use crate::mechanism::governance::table::{FATES, Fate};
        let n = rows.len().max(1) as f64;
        let share =
            |f: &dyn Fn(&PathSummary) -> bool| rows.iter().filter(|s| f(s)).count() as f64 / n;
        (sc.governance.actors.iter().enumerate())
            .map(|(i, a)| {
                let over = |f: &dyn Fn(&PathSummary) -> f64| {
                    loss_metrics(&rows.iter().map(f).collect::<Vec<_>>())
                };
                let firsts: Vec<f64> = (rows.iter())
                    .filter_map(|s| s.actors[i].first_change.map(f64::from))
                    .collect();
                let fates = (a.kind == ActorKind::Governance).then(|| {
                    let mut m: std::collections::BTreeMap<String, f64> = (FATES.iter().enumerate())
                        .map(|(k, f)| (f.to_string(), share(&|s| s.actors[i].fate as usize == k)))
                        .collect();
                    m.insert("raised".into(), share(&|s| s.actors[i].raised.is_some()));
                    m.remove(FATES[Fate::NotRaised as usize]);
                    m
                });
                ActorSummary {
                    actor: a.name.clone(),
                    kind: a.kind.name().to_string(),
                    share_of_paths_changed: share(&|s| s.actors[i].changes > 0),
                    mean_first_change: (!firsts.is_empty())
                        .then(|| firsts.iter().sum::<f64>() / firsts.len() as f64),
                    changes: over(&|s| s.actors[i].changes as f64),
                    fates,
                    liquidations_caused: over(&|s| s.actors[i].liquidations as f64),
                    liquidated_value_caused: over(&|s| s.actors[i].liquidated_value),
                }
            })
            .collect()
    }
}

/// Attackers' outcomes over paths in `summary.json` (summed over the
/// scenario's attackers on each path).
#[derive(Debug, Clone, Serialize)]
pub struct AttackSummary {
    /// Profit over holding the collateral, USD per path.
    pub pnl: LossMetrics,
    /// Borrowed against pushed prices, USD per path.
    pub borrowed: LossMetrics,
    /// Bad debt the attackers' accounts leave, USD per path.
    pub bad_debt: LossMetrics,
    /// Share of paths on which an attacker borrowed.
    pub share_of_paths_attacked: f64,
}

/// Raiders' outcomes over paths in `summary.json` (docs/model.md §16).
#[derive(Debug, Clone, Serialize)]
pub struct RaidSummary {
    /// Profit of the raid, USD per path.
    pub pnl: LossMetrics,
    /// Debt liquidated in the raided protocol during the raid, USD per path.
    pub liquidated: LossMetrics,
    /// Bad debt written off in the raided protocol during the raid, USD per path.
    pub bad_debt: LossMetrics,
    /// Share of paths on which a raid liquidated anything.
    pub share_of_paths_raided: f64,
}

/// The protocol network's metrics in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Systemic {
    /// Per protocol: capital and the DebtRank of its default alone.
    pub protocols: Vec<SystemicProtocol>,
    /// `exposure[j][i]`, USD: protocol i's receipt tokens pledged in j's book.
    pub exposure: Vec<Vec<f64>>,
    /// DebtRank of each path's direct losses, over paths.
    pub debtrank: LossMetrics,
    /// Suppliers' shortfall under end-of-path clearing, USD, over paths.
    pub clearing_shortfall: LossMetrics,
    /// Share of paths in which some protocol defaults under clearing.
    pub prob_clearing_default: f64,
}

/// One protocol's row of `Systemic`.
#[derive(Debug, Clone, Serialize)]
pub struct SystemicProtocol {
    /// Name.
    pub protocol: String,
    /// Reserve fund plus deposits at step 0, USD.
    pub capital_usd: f64,
    /// DebtRank of this protocol's default alone, in [0, 1].
    pub debtrank_of_default: Option<f64>,
}

/// Means over paths of the counterfactual comparison, per protocol.
#[derive(Debug, Clone, Serialize)]
pub struct Attribution {
    /// The links cut, as `protocol:asset`.
    pub cuts: Vec<String>,
    /// One entry per protocol.
    pub protocols: Vec<ProtocolAttribution>,
}

/// One protocol's means with and without the cut links.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolAttribution {
    /// Protocol name.
    pub protocol: String,
    /// Mean bad debt as run.
    pub bad_debt: f64,
    /// Mean bad debt with the links cut.
    pub bad_debt_cut: f64,
    /// Mean of the per-path difference: bad debt that came through the links.
    pub bad_debt_via_links: f64,
    /// Mean liquidated value as run.
    pub liquidated_value: f64,
    /// Mean liquidated value with the links cut.
    pub liquidated_value_cut: f64,
    /// Mean of the per-path difference.
    pub liquidated_value_via_links: f64,
}

impl Attribution {
    /// Compare the run's paths with the same paths in the cut world.
    pub fn of(
        sc: &Scenario,
        cuts: &[(String, String)],
        base: &[PathSummary],
        cut: &[PathSummary],
    ) -> Self {
        let n = base.len().max(1) as f64;
        let mean = |rows: &[PathSummary], f: &dyn Fn(&PathSummary) -> f64| {
            rows.iter().map(f).sum::<f64>() / n
        };
        let protocols = sc
            .protocols
            .iter()
            .enumerate()
            .map(|(p, spec)| {
                let bad_debt = mean(base, &|s| s.protocol_bad_debt[p]);
                let bad_debt_cut = mean(cut, &|s| s.protocol_bad_debt[p]);
                let liquidated_value = mean(base, &|s| s.protocol_liquidated[p]);
                let liquidated_value_cut = mean(cut, &|s| s.protocol_liquidated[p]);
                ProtocolAttribution {
                    protocol: spec.name.clone(),
                    bad_debt,
                    bad_debt_cut,
                    bad_debt_via_links: bad_debt - bad_debt_cut,
                    liquidated_value,
                    liquidated_value_cut,
                    liquidated_value_via_links: liquidated_value - liquidated_value_cut,
                }
            })
            .collect();
        Attribution {
            cuts: cuts.iter().map(|(p, a)| format!("{p}:{a}")).collect(),
            protocols,
        }
    }
}

impl Systemic {
    /// The protocol network's metrics, or `None` when no protocol has capital.
    fn of(sc: &Scenario, rows: &[PathSummary]) -> Option<Self> {
        let net = ProtocolNetwork::build(sc);
        if !net.has_capital() {
            return None;
        }
        let over = |f: fn(&PathSummary) -> Option<f64>| {
            loss_metrics(&rows.iter().filter_map(f).collect::<Vec<_>>())
        };
        let defaults = rows
            .iter()
            .filter(|s| s.clearing.is_some_and(|c| c.1 > 0))
            .count();
        Some(Systemic {
            protocols: sc
                .protocols
                .iter()
                .enumerate()
                .map(|(p, spec)| SystemicProtocol {
                    protocol: spec.name.clone(),
                    capital_usd: net.capital[p],
                    debtrank_of_default: net.default_debtrank[p],
                })
                .collect(),
            exposure: net.exposure,
            debtrank: over(|s| s.debtrank),
            clearing_shortfall: over(|s| s.clearing.map(|c| c.0)),
            prob_clearing_default: defaults as f64 / rows.len().max(1) as f64,
        })
    }
}

impl CdpSummary {
    /// Each CDP's outcomes over a run's paths.
    fn of(sc: &Scenario, rows: &[PathSummary]) -> Vec<CdpSummary> {
        sc.cdps
            .iter()
            .enumerate()
            .map(|(c, spec)| {
                let over = |f: &dyn Fn(&PathSummary) -> f64| {
                    loss_metrics(&rows.iter().map(f).collect::<Vec<_>>())
                };
                CdpSummary {
                    cdp: spec.name.clone(),
                    auctions: over(&|s| s.cdps[c].auctions as f64),
                    zero_bid_auctions: over(&|s| s.cdps[c].zero_bid_auctions as f64),
                    shortfall: over(&|s| s.cdps[c].shortfall),
                    deficit: over(&|s| s.cdps[c].deficit),
                    gov_minted: over(&|s| s.cdps[c].gov_minted),
                    psm_impairment: spec
                        .psm
                        .is_some()
                        .then(|| over(&|s| s.cdps[c].psm_impairment)),
                }
            })
            .collect()
    }
}

impl Summary {
    /// The summary of a run's paths.
    pub fn of(sc: &Scenario, rows: &[PathSummary]) -> Self {
        let m = |f: fn(&PathSummary) -> f64| loss_metrics(&rows.iter().map(f).collect::<Vec<_>>());
        let ci = |stream: u64, f: &dyn Fn(&PathSummary) -> f64| {
            tail_intervals(
                &rows.iter().map(f).collect::<Vec<_>>(),
                0.99,
                &mut bootstrap_rng(sc.seed, stream),
            )
        };
        let tail_ci = TailCi {
            bad_debt: ci(0, &|s| s.bad_debt),
            insolvent_debt: ci(1, &|s| s.insolvent_debt),
            liquidated_value: ci(2, &|s| s.liquidated_value),
        };
        let bad_debt = m(|s| s.bad_debt);
        let insolvent_debt = m(|s| s.insolvent_debt);
        let liquidated_value = m(|s| s.liquidated_value);
        Summary {
            scenario: sc.name.clone(),
            paths: sc.paths,
            steps: sc.steps,
            positions: sc.book.len(),
            positions_over_debt_ceiling: sc.book.over_ceiling,
            unhealthy_at_start: UnhealthyAtStart {
                positions: sc.unhealthy.positions,
                debt_usd: sc.unhealthy.debt_usd,
                policy: sc.resolved.simulation.unhealthy_positions,
            },
            headline: Headline {
                var95_insolvent_debt: insolvent_debt.var95,
                lar95_liquidated_value: liquidated_value.var95,
                extreme_var99_insolvent_debt: insolvent_debt.var99,
                var95_bad_debt: bad_debt.var95,
                var99_bad_debt: bad_debt.var99,
            },
            tail_ci,
            bad_debt,
            insolvent_debt,
            liquidated_value,
            liquidations: m(|s| s.liquidations as f64),
            capped_steps: rows.iter().map(|s| s.capped_steps as u64).sum(),
            protocols: sc
                .protocols
                .iter()
                .zip(initial_debts(sc))
                .enumerate()
                .map(|(p, (spec, initial_debt_usd))| {
                    let over = |f: &dyn Fn(&PathSummary) -> f64| {
                        loss_metrics(&rows.iter().map(f).collect::<Vec<_>>())
                    };
                    ProtocolOutcomes {
                        protocol: spec.name.clone(),
                        initial_debt_usd,
                        bad_debt: over(&|s| s.protocol_bad_debt[p]),
                        bad_debt_contagion: over(&|s| s.protocol_bad_debt_contagion[p]),
                        insolvent_debt: over(&|s| s.protocol_insolvent[p]),
                        liquidated_value: over(&|s| s.protocol_liquidated[p]),
                        liquidations: over(&|s| s.protocol_liquidations[p] as f64),
                        bad_debt_tail_ci: ci(16 + p as u64, &|s| s.protocol_bad_debt[p]),
                    }
                })
                .collect(),
            systemic: Systemic::of(sc, rows),
            perps: (!sc.perps.is_empty()).then(|| PerpSummary {
                markets: sc
                    .perps
                    .iter()
                    .enumerate()
                    .map(|(k, spec)| {
                        let over = |f: &dyn Fn(&PathSummary) -> f64| {
                            loss_metrics(&rows.iter().map(f).collect::<Vec<_>>())
                        };
                        PerpMarketOutcomes {
                            market: spec.name.clone(),
                            liquidations: over(&|s| s.perp_markets[k].liquidations as f64),
                            adl_events: over(&|s| s.perp_markets[k].adl_events as f64),
                            fund_drawn: over(&|s| s.perp_markets[k].fund_drawn),
                            vault_bad_debt: over(&|s| s.perp_markets[k].vault_bad_debt),
                            vault_bad_debt_tail_ci: ci((1 << 32) + k as u64, &|s| {
                                s.perp_markets[k].vault_bad_debt
                            }),
                        }
                    })
                    .collect(),
                liquidations: m(|s| s.perp_liquidations as f64),
                adl_events: m(|s| s.perp_adl_events as f64),
                fund_drawn: m(|s| s.perp_fund_drawn),
                vault_bad_debt: m(|s| s.perp_vault_bad_debt),
            }),
            cdps: CdpSummary::of(sc, rows),
            attack: (!sc.attackers.is_empty()).then(|| AttackSummary {
                pnl: m(|s| s.attack_pnl.unwrap_or(0.0)),
                borrowed: m(|s| s.attack_borrowed.unwrap_or(0.0)),
                bad_debt: m(|s| s.attack_bad_debt.unwrap_or(0.0)),
                share_of_paths_attacked: rows
                    .iter()
                    .filter(|s| s.attack_borrowed.unwrap_or(0.0) > 0.0)
                    .count() as f64
                    / rows.len().max(1) as f64,
            }),
            raid: (!sc.raiders.is_empty()).then(|| RaidSummary {
                pnl: m(|s| s.raid_pnl.unwrap_or(0.0)),
                liquidated: m(|s| s.raid_liquidated.unwrap_or(0.0)),
                bad_debt: m(|s| s.raid_bad_debt.unwrap_or(0.0)),
                share_of_paths_raided: rows
                    .iter()
                    .filter(|s| s.raid_liquidated.unwrap_or(0.0) > 0.0)
                    .count() as f64
                    / rows.len().max(1) as f64,
            }),
            governance: ActorSummary::of(sc, rows),
            attribution: None,
        }
    }
}

/// Each protocol's debt at step 0, USD at initial prices, in one pass over
/// the book.
pub fn initial_debts(sc: &Scenario) -> Vec<f64> {
    let mut debt = vec![0.0; sc.protocols.len()];
    for i in 0..sc.book.len() {
        let p = sc.book.protocol[i] as usize;
        debt[p] += sc.book.debt[i] * sc.assets[sc.protocols[p].debt_asset].initial_price;
    }
    debt
}
