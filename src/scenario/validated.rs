//! The checked scenario: names resolved to indices, every number checked, the
//! book built. `Scenario::from_raw` is the one place where input is validated;
//! everything downstream may assume a consistent scenario.

use std::path::Path;

use crate::error::ScenarioError;
use crate::market::spec::{Asset, PoolSpec};
use crate::mechanism::cdp::spec::cdps_from_raw;
use crate::mechanism::governance::spec::GovernanceSpec;
use crate::mechanism::lending::book::{Book, Terms, Unhealthy};
use crate::mechanism::lending::spec::*;
use crate::mechanism::lending::validate as lending;
use crate::mechanism::options::spec::{
    HedgerSpec, VaultSpec, attach_perp_hedges, options_from_raw,
};
use crate::mechanism::perp::spec::{PerpBook, PerpSpec, perps_from_raw};
use crate::scenario::check::*;
use crate::scenario::raw::{RawScenario, UnhealthyPolicy};
use crate::scenario::snapshot::resolve;

/// Command-line overrides applied before validation.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replace `simulation.paths`.
    pub paths: Option<u32>,
    /// Replace `simulation.seed`.
    pub seed: Option<u64>,
}

/// A validated scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Steps after the initial state.
    pub steps: u32,
    /// Hours per step.
    pub dt_hours: f64,
    /// Monte Carlo paths.
    pub paths: u32,
    /// Master seed.
    pub seed: u64,
    /// Round cap per step.
    pub max_cascade_rounds: u32,
    /// Paths 0..record_paths keep full time series.
    pub record_paths: u32,
    /// Recorded paths keep every n-th step.
    pub record_every: u32,
    /// Assets in scenario order.
    pub assets: Vec<Asset>,
    /// Indices of the stochastic assets, in asset order.
    pub stochastic: Vec<usize>,
    /// Cholesky factor of their correlation (same order as `stochastic`).
    pub cholesky: Vec<Vec<f64>>,
    /// Pools.
    pub pools: Vec<PoolSpec>,
    /// For each asset, the index of the pool whose base it is.
    pub pool_of: Vec<Option<usize>>,
    /// Lending markets.
    pub protocols: Vec<LendingSpec>,
    /// Liquidators in priority order.
    pub liquidators: Vec<LiquidatorSpec>,
    /// Lender agents.
    pub lenders: Vec<LenderSpec>,
    /// Gas.
    pub network: Network,
    /// Bridge halts: spans in which a bridged token's δ does not revert.
    pub halts: Vec<crate::market::bridge::Halt>,
    /// Oracle manipulators (docs/model.md §16).
    pub attackers: Vec<crate::mechanism::attack::spec::AttackerSpec>,
    /// Raiders who push a price down (docs/model.md §16).
    pub raiders: Vec<crate::mechanism::attack::raid_spec::RaiderSpec>,
    /// CDP stablecoins (docs/model.md §17).
    pub cdps: Vec<crate::mechanism::cdp::spec::CdpSpec>,
    /// Parameter changes during the run (docs/model.md §18).
    pub governance: GovernanceSpec,
    /// Scripted log shocks by step, to assets and to pools.
    pub shocks: crate::market::spec::Shocks,
    /// Delta-hedging option books.
    pub hedgers: Vec<HedgerSpec>,
    /// Option vaults.
    pub option_vaults: Vec<VaultSpec>,
    /// Perpetual futures markets.
    pub perps: Vec<PerpSpec>,
    /// Their accounts at step 0.
    pub perp_book: PerpBook,
    /// The initial book, shared by every path.
    pub book: Book,
    /// Positions of the book as given that were below health factor 1 at
    /// step 0 (kept, or dropped, as `simulation.unhealthy_positions` says).
    pub unhealthy: Unhealthy,
    /// The scenario as resolved (defaults and overrides applied).
    pub resolved: RawScenario,
    /// The comment block at the top of its file (what it shows, where its
    /// numbers come from), without the `#` marks; empty when built from
    /// anything but TOML text.
    pub notes: String,
}

pub use crate::scenario::raw::leading_comments;

/// Paths keep full time series up to this many by default.
pub const DEFAULT_RECORD_PATHS: u32 = 1000;

impl Scenario {
    /// Read, parse and validate a scenario file.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ScenarioError> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: label.clone(),
            source,
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_toml(&text, &label, &base, overrides)
    }

    /// Parse and validate TOML text; `base_dir` resolves `positions_file` and
    /// every `vaults_file`.
    pub fn from_toml(
        text: &str,
        label: &str,
        base_dir: &Path,
        overrides: &Overrides,
    ) -> Result<Self, ScenarioError> {
        let mut raw = RawScenario::from_toml_str(text, label)?;
        if let Some(p) = overrides.paths {
            raw.simulation.paths = p;
        }
        if let Some(s) = overrides.seed {
            raw.simulation.seed = s;
        }
        let mut sc = Self::from_raw(raw, base_dir).map_err(|e| e.in_file(label))?;
        sc.notes = leading_comments(text);
        Ok(sc)
    }

    /// Validate a parsed scenario.
    pub fn from_raw(raw: RawScenario, base_dir: &Path) -> Result<Self, ScenarioError> {
        Self::from_raw_on(raw, base_dir, None)
    }

    /// Validate a parsed scenario whose book is `book` (its positions under
    /// this scenario's parameters) instead of the one its own positions and
    /// populations would build: a sweep's runs share their base's book.
    pub fn from_raw_on_book(
        raw: RawScenario,
        base_dir: &Path,
        book: &Book,
    ) -> Result<Self, ScenarioError> {
        Self::from_raw_on(raw, base_dir, Some(book))
    }

    fn from_raw_on(
        raw: RawScenario,
        base_dir: &Path,
        fixed_book: Option<&Book>,
    ) -> Result<Self, ScenarioError> {
        // A family is validated as its path 0, and keeps its compact form.
        if let Some(f) = &raw.overlapping_portfolios {
            crate::scenario::family::check(&raw, f)?;
            let mut sc =
                Self::from_raw_on(crate::scenario::family::expand(&raw, 0)?, base_dir, None)?;
            sc.resolved = raw;
            return Ok(sc);
        }
        let sim = &raw.simulation;
        check_names(&raw)?;
        check_simulation(sim)?;
        crate::scenario::limits::check(&raw, crate::scenario::limits::available_memory())?;
        let record_paths = sim
            .record_paths
            .unwrap_or(DEFAULT_RECORD_PATHS)
            .min(sim.paths);

        let crate::market::spec::MarketAssets {
            mut assets,
            stochastic,
            cholesky,
        } = crate::market::spec::assets_from_raw(&raw)?;
        let (pools, pool_of) = crate::market::pool_spec::pools_from_raw(&raw, &assets)?;
        crate::market::pool_spec::lp_tokens_from_raw(&raw, &mut assets, &pools)?;
        let mut shocks = crate::market::spec::shocks_from_raw(&raw, &pools)?;
        let halts = crate::market::bridge::halts_from_raw(&raw, &assets, &mut shocks)?;
        let draft = lending::protocols_from_raw(&raw, &assets, &pools, &pool_of)?;
        lending::check_tokens(&raw, &assets, &draft)?;
        let liquidators = lending::liquidators_from_raw(&raw)?;
        let network = lending::network_from_raw(&raw)?;
        let (perps, mut perp_book) = perps_from_raw(&raw, &assets, &pool_of, sim.seed)?;
        let (mut hedgers, option_vaults) = options_from_raw(&raw, &assets, &pool_of)?;
        attach_perp_hedges(&raw, &assets, &perps, &mut perp_book, &mut hedgers)?;

        let terms = Terms {
            assets: &assets,
            protocols: &draft.specs,
        };
        let file = raw.positions_file.as_ref().map(|f| resolve(base_dir, f));
        let book = match fixed_book {
            Some(b) => b.with_params(terms)?,
            None => Book::build(terms, &raw, sim.seed, file.as_deref())?,
        };
        let (book, unhealthy) = apply_unhealthy_policy(book, terms, sim.unhealthy_positions)?;
        let protocols = crate::mechanism::lending::funding::fund(draft, &assets, &book)?;
        let lenders = crate::mechanism::lending::funding::lenders_from_raw(
            &raw, &protocols, &assets, &pool_of, &book,
        )?;
        let symbols: Vec<String> = assets.iter().map(|a| a.symbol.clone()).collect();
        let attackers = crate::mechanism::attack::spec::attackers_from_raw(
            &raw.attackers,
            &book,
            &pools,
            &pool_of,
            &symbols,
            sim.steps,
        )?;
        let raiders = crate::mechanism::attack::raid_spec::raiders_from_raw(
            &raw.raiders,
            &crate::mechanism::attack::raid_spec::RaidTerms {
                symbols: &symbols,
                pools: &pools,
                pool_of: &pool_of,
                protocols: &protocols,
                liquidators: &liquidators,
                steps: sim.steps,
            },
        )?;
        let cdps = cdps_from_raw(&raw, &assets, &pools, &pool_of, base_dir)?;
        let mut sc = Scenario {
            governance: Default::default(),
            cdps,
            hedgers,
            option_vaults,
            perps,
            perp_book,
            name: sim.name.clone(),
            steps: sim.steps,
            dt_hours: sim.dt_hours,
            paths: sim.paths,
            seed: sim.seed,
            max_cascade_rounds: sim.max_cascade_rounds,
            record_paths,
            record_every: sim.record_every,
            assets,
            stochastic,
            cholesky,
            pools,
            pool_of,
            protocols,
            liquidators,
            lenders,
            network,
            shocks,
            halts,
            attackers,
            raiders,
            book,
            unhealthy,
            resolved: raw,
            notes: String::new(),
        };
        sc.governance = governance(&sc, base_dir)?;
        Ok(sc)
    }

    /// The counterfactual world in which `protocol` does not accept `asset`
    /// (docs/model.md §11, "Counterfactual attribution"): the collateral is
    /// delisted and the positions of that protocol holding it never existed.
    /// Everything else (deposits, pools, liquidators, seeds) is unchanged, so
    /// paths run with common random numbers.
    pub fn with_cut(&self, protocol: &str, asset: &str) -> Result<Scenario, ScenarioError> {
        let field = format!("--cut {protocol}:{asset}");
        let p = self.protocol_index(protocol).ok_or_else(|| {
            ScenarioError::invalid(&field, format!("unknown protocol `{protocol}`"))
        })?;
        let a = self
            .asset_index(asset)
            .ok_or_else(|| ScenarioError::invalid(&field, format!("unknown asset `{asset}`")))?;
        if self.protocols[p].collateral[a].is_none() {
            return Err(ScenarioError::invalid(
                field,
                format!("`{protocol}` does not accept `{asset}` as collateral"),
            ));
        }
        let mut cut = self.clone();
        cut.protocols[p].collateral[a] = None;
        let book = &self.book;
        cut.book = book.without(self.terms(), |i| {
            book.protocol[i] as usize == p
                && book
                    .coll_range(i)
                    .any(|k| book.coll_asset[k] as usize == a && book.coll_units[k] > 0.0)
        });
        // An attacker whose account never existed never attacks.
        cut.attackers
            .retain(|x| cut.book.id.binary_search(&x.position_id).is_ok());
        cut.recut_governance(p, a)?;
        Ok(cut)
    }

    /// The lending changes of a cut scenario, against its own book: each
    /// configuration's specs with the cut applied, its book's thresholds
    /// and bonuses under them (docs/model.md §18).
    fn recut_governance(&mut self, p: usize, a: usize) -> Result<(), ScenarioError> {
        use crate::mechanism::lending::governed::{fill_footprint, revision};
        for actor in &mut self.governance.actors {
            let mut states: Vec<_> = Vec::with_capacity(actor.states.len());
            for st in &actor.states {
                let Some(r) = &st.lending else {
                    states.push(None);
                    continue;
                };
                let mut specs = self.protocols.clone();
                for (q, spec) in &r.specs {
                    specs[*q as usize].clone_from(spec);
                }
                specs[p].collateral[a] = None;
                let terms = Terms {
                    assets: &self.assets,
                    protocols: &specs,
                };
                let book = self.book.with_params(terms)?;
                states.push(revision((&self.protocols, &self.book), (&specs, &book)));
            }
            fill_footprint(&mut states, (&self.protocols, &self.book));
            for (st, r) in actor.states.iter_mut().zip(states) {
                st.lending = r;
            }
        }
        Ok(())
    }

    /// The scenario of path `path`: itself, or for a family whose book is
    /// drawn per path (docs/model.md §19) that path's.
    pub fn for_path(&self, path: u32) -> Result<std::borrow::Cow<'_, Scenario>, ScenarioError> {
        if self.resolved.overlapping_portfolios.is_none() || path == 0 {
            return Ok(std::borrow::Cow::Borrowed(self));
        }
        let raw = crate::scenario::family::expand(&self.resolved, path)?;
        Ok(std::borrow::Cow::Owned(Self::from_raw_on(
            raw,
            Path::new(""),
            None,
        )?))
    }

    /// The assets and protocols a book is built and valued against.
    pub fn terms(&self) -> crate::mechanism::lending::book::Terms<'_> {
        crate::mechanism::lending::book::Terms {
            assets: &self.assets,
            protocols: &self.protocols,
        }
    }

    /// Asset indices of the receipt tokens.
    pub fn receipts(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.assets
            .iter()
            .enumerate()
            .filter_map(|(a, asset)| asset.receipt_of.map(|p| (a, p)))
    }

    /// `dt` in years (8,760 hours).
    pub fn dt_years(&self) -> f64 {
        self.dt_hours / HOURS_PER_YEAR
    }

    /// Index of an asset by symbol.
    pub fn asset_index(&self, symbol: &str) -> Option<usize> {
        self.assets.iter().position(|a| a.symbol == symbol)
    }

    /// Index of a protocol by name.
    pub fn protocol_index(&self, name: &str) -> Option<usize> {
        self.protocols.iter().position(|p| p.name == name)
    }

    /// The largest oracle lag of any protocol.
    pub fn max_lag(&self) -> u32 {
        self.protocols
            .iter()
            .map(|p| p.oracle.history_steps())
            .chain(self.perps.iter().map(|p| p.index_lag_steps))
            .max()
            .unwrap_or(0)
    }

    /// Whether path `p` keeps full time series.
    pub fn records_path(&self, path: u32) -> bool {
        path < self.record_paths
    }

    /// Whether step `t` of a recorded path is written.
    pub fn records_step(&self, step: u32) -> bool {
        step.is_multiple_of(self.record_every)
    }
}

/// The book under `simulation.unhealthy_positions`: positions below health
/// factor 1 at step 0 kept, refused, or dropped; and what they were.
fn apply_unhealthy_policy(
    book: Book,
    terms: Terms<'_>,
    policy: UnhealthyPolicy,
) -> Result<(Book, Unhealthy), ScenarioError> {
    let u = book.unhealthy(terms);
    if u.positions == 0 {
        return Ok((book, u));
    }
    match policy {
        UnhealthyPolicy::Keep => Ok((book, u)),
        UnhealthyPolicy::Refuse => Err(ScenarioError::invalid(
            "simulation.unhealthy_positions",
            format!(
                "{} positions ({:.0} USD of debt) are below health factor 1 at step 0; set \"keep\" to simulate them or \"drop\" to leave them out",
                u.positions, u.debt_usd
            ),
        )),
        UnhealthyPolicy::Drop => {
            let kept = book.without(terms, |i| book.initial_hf(terms, i) < 1.0);
            Ok((kept, u))
        }
    }
}

/// Every name and symbol of a scenario, checked by `check_name`, and
/// unique within its kind.
fn check_names(raw: &RawScenario) -> Result<(), ScenarioError> {
    check_name("simulation.name", &raw.simulation.name)?;
    let kinds: [(&str, Vec<&str>); 7] = [
        (
            "assets.symbol",
            raw.assets.iter().map(|a| a.symbol.as_str()).collect(),
        ),
        (
            "protocols.name",
            raw.protocols.iter().map(|p| p.name.as_str()).collect(),
        ),
        (
            "liquidators.name",
            raw.liquidators.iter().map(|l| l.name.as_str()).collect(),
        ),
        (
            "lenders.name",
            raw.lenders.iter().map(|l| l.name.as_str()).collect(),
        ),
        (
            "perps.name",
            raw.perps.iter().map(|p| p.name.as_str()).collect(),
        ),
        (
            "hedgers.name",
            raw.hedgers.iter().map(|h| h.name.as_str()).collect(),
        ),
        (
            "option_vaults.name",
            raw.option_vaults.iter().map(|v| v.name.as_str()).collect(),
        ),
    ];
    for (field, names) in &kinds {
        let mut seen = std::collections::HashSet::with_capacity(names.len());
        for n in names {
            check_name(field, n)?;
            // Folder and file names may meet on a case-insensitive disk.
            if !seen.insert(n.to_ascii_lowercase()) {
                let kind = field.split('.').next().unwrap_or(field);
                return Err(ScenarioError::invalid(
                    format!("{kind}.{n}"),
                    format!("`{n}` is listed twice (names are compared ignoring case)"),
                ));
            }
        }
    }
    Ok(())
}

/// `[simulation]`'s counts and horizon.
fn check_simulation(sim: &crate::scenario::raw::RawSimulation) -> Result<(), ScenarioError> {
    for (field, n) in [
        ("simulation.steps", sim.steps),
        ("simulation.paths", sim.paths),
        ("simulation.max_cascade_rounds", sim.max_cascade_rounds),
        ("simulation.record_every", sim.record_every),
    ] {
        if n == 0 {
            return Err(ScenarioError::invalid(field, "must be at least 1"));
        }
    }
    positive("simulation.dt_hours", sim.dt_hours)?;
    if sim.dt_hours * sim.steps as f64 > MAX_HORIZON_HOURS {
        return Err(ScenarioError::invalid(
            "simulation.dt_hours",
            format!(
                "{} steps of {} hours run for more than a thousand years",
                sim.steps, sim.dt_hours
            ),
        ));
    }
    Ok(())
}

/// A scenario's governance actors validated against it (docs/model.md
/// §18): each configuration they can put in force is the scenario as
/// written with their values set, validated whole against the same book.
fn governance(sc: &Scenario, base_dir: &Path) -> Result<GovernanceSpec, ScenarioError> {
    use crate::mechanism::governance::build::{Base, Config, build};
    let r = &sc.resolved;
    if r.governance.is_empty()
        && r.proposals.is_empty()
        && r.risk_agents.is_empty()
        && r.guardians.is_empty()
    {
        return Ok(GovernanceSpec {
            lending_owner: vec![None; sc.protocols.len()],
            guarded: vec![false; sc.protocols.len()],
            ..Default::default()
        });
    }
    let mut raw = r.clone();
    raw.governance.clear();
    raw.proposals.clear();
    raw.risk_agents.clear();
    raw.guardians.clear();
    raw.simulation.unhealthy_positions = UnhealthyPolicy::Keep;
    let cdps = |s: &Scenario| -> Vec<_> { s.cdps.iter().map(|c| c.terms()).collect() };
    let base = Base {
        raw: &raw,
        terms: sc.terms(),
        protocols: &sc.protocols,
        book: &sc.book,
        perps: &sc.perps,
        cdps: cdps(sc),
        steps: sc.steps,
        dt_hours: sc.dt_hours,
    };
    let mut validate = |next: RawScenario| -> Result<Config, ScenarioError> {
        let s = Scenario::from_raw_on_book(next, base_dir, &sc.book)?;
        Ok(Config {
            cdps: cdps(&s),
            protocols: s.protocols,
            book: s.book,
            perps: s.perps,
        })
    };
    build(
        &base,
        &r.governance,
        &r.proposals,
        &r.risk_agents,
        &r.guardians,
        &mut validate,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_model_has_its_kink() {
        // Aave-like stablecoin curve: 0% base, 4% at the 90% kink, +60% to 100%.
        let m = RateModel {
            base: 0.0,
            slope1: 0.04,
            kink: 0.9,
            slope2: 0.6,
            reserve_factor: 0.1,
        };
        assert_eq!(m.borrow_rate(0.0), 0.0);
        assert!((m.borrow_rate(0.45) - 0.02).abs() < 1e-15);
        assert!((m.borrow_rate(0.9) - 0.04).abs() < 1e-15);
        assert!((m.borrow_rate(0.95) - 0.34).abs() < 1e-12);
        assert!((m.borrow_rate(1.0) - 0.64).abs() < 1e-12);
        assert_eq!(m.borrow_rate(1.5), m.borrow_rate(1.0));
    }

    #[test]
    fn the_notes_are_the_leading_comment_block() {
        let text = "#:schema ../schema/scenario.json\n\n# Title\n#\n#   indented\n#no space\n\n[simulation] # not a note\n# nor this\n";
        assert_eq!(leading_comments(text), "Title\n\n  indented\nno space");
        assert_eq!(leading_comments("[simulation]\n# late\n"), "");
        assert_eq!(leading_comments("# one\n#\n#\n"), "one");
        assert_eq!(leading_comments("# one\n\n# two\n"), "one");
    }

    #[test]
    fn gas_grows_with_the_liquidations_already_executed() {
        let n = Network {
            gas_usd: 20.0,
            congestion: 0.1,
        };
        assert_eq!(n.gas(0), 20.0);
        assert!((n.gas(5) - 30.0).abs() < 1e-12);
        assert!((n.gas(30) - 80.0).abs() < 1e-12);
        let flat = Network {
            gas_usd: 3.0,
            congestion: 0.0,
        };
        assert_eq!(flat.gas(1000), 3.0);
    }
}
