//! The checked scenario: names resolved to indices, every number checked, the
//! book built. `Scenario::from_raw` is the one place where input is validated;
//! everything downstream may assume a consistent scenario.

use std::path::{Path, PathBuf};

use crate::error::ScenarioError;
use crate::market::spec::{Asset, LpToken, PoolSpec};
use crate::mechanism::lending::book::Book;
use crate::mechanism::lending::spec::*;
use crate::mechanism::options::spec::{
    HedgerSpec, VaultSpec, attach_perp_hedges, options_from_raw,
};
use crate::mechanism::perp::spec::{PerpBook, PerpSpec, perps_from_raw};
use crate::scenario::check::*;
use crate::scenario::raw::{RawCapital, RawScenario, UnhealthyPolicy};

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
    /// Scripted log shocks by step: `shocks[t]` = [(asset, ln(1 + return))].
    pub shocks: Vec<Vec<(usize, f64)>>,
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
    pub unhealthy: crate::mechanism::lending::book::Unhealthy,
    /// The scenario as resolved (defaults and overrides applied).
    pub resolved: RawScenario,
}

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

    /// Parse and validate TOML text; `base_dir` resolves `positions_file`.
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
        Self::from_raw(raw, base_dir).map_err(|e| e.in_file(label))
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
        let sim = &raw.simulation;
        check_names(&raw)?;
        if sim.steps == 0 {
            return Err(ScenarioError::invalid(
                "simulation.steps",
                "must be at least 1",
            ));
        }
        if sim.paths == 0 {
            return Err(ScenarioError::invalid(
                "simulation.paths",
                "must be at least 1",
            ));
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
        if sim.max_cascade_rounds == 0 {
            return Err(ScenarioError::invalid(
                "simulation.max_cascade_rounds",
                "must be at least 1",
            ));
        }
        if sim.record_every == 0 {
            return Err(ScenarioError::invalid(
                "simulation.record_every",
                "must be at least 1",
            ));
        }
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
        let lookup =
            |field: &str, symbol: &str| crate::market::spec::asset_index(&raw, field, symbol);
        let (pools, pool_of) = crate::market::spec::pools_from_raw(&raw, &assets)?;
        let protocols = crate::mechanism::lending::validate::protocols_from_raw(&raw, &assets)?;

        // Receipt tokens, now that protocols are known.
        let mut receipt_links = Vec::new();
        for (a, raw_asset) in raw.assets.iter().enumerate() {
            let Some(issuer) = &raw_asset.receipt_of else {
                continue;
            };
            let field = format!("assets.{}.receipt_of", raw_asset.symbol);
            let p = protocols
                .iter()
                .position(|q| &q.name == issuer)
                .ok_or_else(|| {
                    ScenarioError::invalid(&field, format!("unknown protocol `{issuer}`"))
                })?;
            if protocols[p].supply.is_none() {
                return Err(ScenarioError::invalid(
                    field,
                    format!("protocol `{issuer}` has no supply side (add `supply = {{ ... }}`)"),
                ));
            }
            if protocols[p].collateral[a].is_some() {
                return Err(ScenarioError::invalid(
                    format!("protocols.{issuer}.collateral.{}", raw_asset.symbol),
                    "a protocol cannot accept its own receipt token",
                ));
            }
            let underlying = protocols[p].debt_asset;
            if raw.assets[underlying].receipt_of.is_some() {
                return Err(ScenarioError::invalid(
                    field,
                    "the issuer lends a receipt token itself: receipts of receipts are not supported",
                ));
            }
            receipt_links.push((a, p, underlying));
        }
        for p in &protocols {
            if raw.assets[p.debt_asset].receipt_of.is_some() {
                return Err(ScenarioError::invalid(
                    format!("protocols.{}.debt_asset", p.name),
                    "a receipt token cannot be borrowed",
                ));
            }
        }
        // LP tokens, now that pools are known.
        for (a, raw_asset) in raw.assets.iter().enumerate() {
            let Some(name) = &raw_asset.lp_of else {
                continue;
            };
            let field = format!("assets.{}.lp_of", raw_asset.symbol);
            let pool = (0..pools.len())
                .find(|&i| {
                    format!(
                        "{}/{}",
                        raw.assets[pools[i].base].symbol, raw.assets[pools[i].quote].symbol
                    ) == *name
                })
                .ok_or_else(|| {
                    ScenarioError::invalid(
                        &field,
                        format!("no pool `{name}` (pools are named BASE/QUOTE)"),
                    )
                })?;
            let p = &pools[pool];
            // Pools start at the fundamental ratio: both legs are worth the same.
            let value = 2.0 * p.base_reserve * assets[p.base].initial_price;
            assets[a].lp_of = Some(LpToken {
                pool,
                supply: value / assets[a].initial_price,
            });
        }
        for (i, p) in raw.protocols.iter().enumerate() {
            if raw.assets[protocols[i].debt_asset].lp_of.is_some() {
                return Err(ScenarioError::invalid(
                    format!("protocols.{}.debt_asset", p.name),
                    "an LP token cannot be borrowed",
                ));
            }
        }
        for pool in &pools {
            for a in [pool.base, pool.quote] {
                if raw.assets[a].lp_of.is_some() {
                    return Err(ScenarioError::invalid(
                        format!("pools.{}", assets[pool.base].symbol),
                        format!(
                            "`{}` is an LP token: LP tokens are not pooled",
                            assets[a].symbol
                        ),
                    ));
                }
                if raw.assets[a].receipt_of.is_some() {
                    return Err(ScenarioError::invalid(
                        format!("pools.{}", assets[pool.base].symbol),
                        format!(
                            "`{}` is a receipt token: receipts are redeemed at their issuer, not pooled",
                            assets[a].symbol
                        ),
                    ));
                }
            }
        }

        // Liquidators.
        let mut liquidators: Vec<LiquidatorSpec> = Vec::new();
        for l in &raw.liquidators {
            let field = format!("liquidators.{}", l.name);
            if liquidators.iter().any(|m| m.name == l.name) {
                return Err(ScenarioError::invalid(field, "name is listed twice"));
            }
            let capital = match &l.capital {
                RawCapital::Usd(v) => non_negative(&format!("{field}.capital"), *v)?,
                RawCapital::Word(w) if w == "unlimited" => f64::INFINITY,
                RawCapital::Word(w) => {
                    return Err(ScenarioError::invalid(
                        format!("{field}.capital"),
                        format!("`{w}` is neither a number nor \"unlimited\""),
                    ));
                }
            };
            liquidators.push(LiquidatorSpec {
                name: l.name.clone(),
                capital,
                min_profit: finite(&format!("{field}.min_profit"), l.min_profit)?,
            });
        }

        let network = Network {
            gas_usd: non_negative("network.gas_usd", raw.network.gas_usd)?,
            congestion: non_negative("network.congestion", raw.network.congestion)?,
        };

        // Shocks.
        let mut shocks = vec![Vec::new(); sim.steps as usize + 1];
        for (i, s) in raw.shocks.iter().enumerate() {
            let field = format!("shocks[{i}]");
            let a = lookup(&format!("{field}.asset"), &s.asset)?;
            if s.step == 0 || s.step > sim.steps {
                return Err(ScenarioError::invalid(
                    format!("{field}.step"),
                    format!("{} is outside 1..={}", s.step, sim.steps),
                ));
            }
            if raw.assets[a].receipt_of.is_some() || raw.assets[a].lp_of.is_some() {
                return Err(ScenarioError::invalid(
                    format!("{field}.asset"),
                    format!(
                        "`{}` is a receipt or LP token: its price follows its issuer or pool",
                        s.asset
                    ),
                ));
            }
            finite(&format!("{field}.return"), s.ret)?;
            at_most(
                &format!("{field}.return"),
                s.ret,
                1000.0,
                "a thousandfold rise in one step",
            )?;
            if s.ret <= -1.0 {
                return Err(ScenarioError::invalid(
                    format!("{field}.return"),
                    "must be above -1",
                ));
            }
            shocks[s.step as usize].push((a, s.ret.ln_1p()));
        }

        for (a, p, underlying) in receipt_links {
            assets[a].receipt_of = Some(p);
            assets[a].initial_price = assets[underlying].initial_price;
        }

        let (perps, perp_book) = perps_from_raw(&raw, &assets, &pool_of, sim.seed)?;
        let (mut hedgers, option_vaults) = options_from_raw(&raw, &assets, &pool_of)?;
        let mut perp_book = perp_book;
        attach_perp_hedges(&raw, &assets, &perps, &mut perp_book, &mut hedgers)?;
        let mut scenario = Scenario {
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
            lenders: Vec::new(),
            network,
            shocks,
            book: Book::default(),
            unhealthy: Default::default(),
            resolved: raw,
        };
        let file = scenario
            .resolved
            .positions_file
            .as_ref()
            .map(|f| resolve(base_dir, f));
        scenario.book = match fixed_book {
            Some(b) => b.with_params(scenario.terms())?,
            None => Book::build(
                scenario.terms(),
                &scenario.resolved,
                scenario.seed,
                file.as_deref(),
            )?,
        };
        scenario.unhealthy = scenario.book.unhealthy(scenario.terms());
        if scenario.unhealthy.positions > 0 {
            let u = scenario.unhealthy;
            match scenario.resolved.simulation.unhealthy_positions {
                UnhealthyPolicy::Keep => {}
                UnhealthyPolicy::Refuse => {
                    return Err(ScenarioError::invalid(
                        "simulation.unhealthy_positions",
                        format!(
                            "{} positions ({:.0} USD of debt) are below health factor 1 at step 0; set \"keep\" to simulate them or \"drop\" to leave them out",
                            u.positions, u.debt_usd
                        ),
                    ));
                }
                UnhealthyPolicy::Drop => {
                    let sc = &scenario;
                    let terms = sc.terms();
                    let book = sc
                        .book
                        .without(terms, |i| sc.book.initial_hf(terms, i) < 1.0);
                    scenario.book = book;
                }
            }
        }
        scenario.resolve_deposits()?;
        scenario.lenders = scenario.lenders_from_raw()?;
        Ok(scenario)
    }

    /// Fill in deposits given as a utilisation, and check that every supply
    /// side starts with non-negative cash (deposits ≥ the book's debt).
    fn resolve_deposits(&mut self) -> Result<(), ScenarioError> {
        let mut debt = vec![0.0; self.protocols.len()];
        for (i, &d) in self.book.debt.iter().enumerate() {
            debt[self.book.protocol[i] as usize] += d;
        }
        // Receipt units held as collateral are shares of the issuer.
        let mut held = vec![0.0; self.assets.len()];
        for (k, &a) in self.book.coll_asset.iter().enumerate() {
            held[a as usize] += self.book.coll_units[k];
        }
        for (p, spec) in self.protocols.iter_mut().enumerate() {
            let Some(supply) = spec.supply.as_mut() else {
                continue;
            };
            if let Some(u) = supply.utilisation {
                if debt[p] <= 0.0 {
                    return Err(ScenarioError::invalid(
                        format!("protocols.{}.supply.utilisation", spec.name),
                        "the book has no debt in this protocol: give `deposits` instead",
                    ));
                }
                supply.deposits = debt[p] / u;
            } else if supply.deposits < debt[p] {
                return Err(ScenarioError::invalid(
                    format!("protocols.{}.supply.deposits", spec.name),
                    format!(
                        "{} is below the book's debt {} (cash would be negative)",
                        supply.deposits, debt[p]
                    ),
                ));
            }
        }
        for (a, asset) in self.assets.iter().enumerate() {
            if let Some(lp) = asset.lp_of
                && held[a] >= lp.supply
            {
                return Err(ScenarioError::invalid(
                    format!("assets.{}.price", asset.symbol),
                    format!(
                        "positions hold {} units of `{}` but the pool's value at this price makes only {} (passive LPs must keep some)",
                        held[a], asset.symbol, lp.supply
                    ),
                ));
            }
            if let Some(p) = asset.receipt_of {
                let deposits = self.protocols[p].supply.expect("checked").deposits;
                if held[a] > deposits * (1.0 + 1e-12) {
                    return Err(ScenarioError::invalid(
                        format!("protocols.{}.supply", self.protocols[p].name),
                        format!(
                            "positions hold {} units of `{}` but its deposits (shares) are only {deposits}",
                            held[a], asset.symbol
                        ),
                    ));
                }
            }
        }
        Ok(())
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
        Ok(cut)
    }

    /// Validate `[[lenders]]` once deposits are known: their shares plus the
    /// receipt units the book holds cannot exceed a protocol's shares.
    fn lenders_from_raw(&self) -> Result<Vec<LenderSpec>, ScenarioError> {
        let mut held = vec![0.0; self.protocols.len()];
        for (k, &a) in self.book.coll_asset.iter().enumerate() {
            if let Some(p) = self.assets[a as usize].receipt_of {
                held[p] += self.book.coll_units[k];
            }
        }
        let mut out: Vec<LenderSpec> = Vec::new();
        for l in &self.resolved.lenders {
            let field = format!("lenders.{}", l.name);
            if out.iter().any(|m| m.name == l.name) {
                return Err(ScenarioError::invalid(field, "name is listed twice"));
            }
            let p = self.protocol_index(&l.protocol).ok_or_else(|| {
                ScenarioError::invalid(
                    format!("{field}.protocol"),
                    format!("unknown protocol `{}`", l.protocol),
                )
            })?;
            let Some(supply) = self.protocols[p].supply else {
                return Err(ScenarioError::invalid(
                    format!("{field}.protocol"),
                    format!("`{}` has no supply side to withdraw from", l.protocol),
                ));
            };
            unit_open_closed(&format!("{field}.share"), l.share)?;
            if l.sell && self.pool_of[self.protocols[p].debt_asset].is_none() {
                return Err(ScenarioError::invalid(
                    format!("{field}.sell"),
                    format!(
                        "`{}` has no pool to sell into",
                        self.assets[self.protocols[p].debt_asset].symbol
                    ),
                ));
            }
            unit_open_closed(&format!("{field}.withdraw"), l.withdraw)?;
            let shares = l.share * supply.deposits;
            held[p] += shares;
            if held[p] > supply.deposits * (1.0 + 1e-12) {
                return Err(ScenarioError::invalid(
                    format!("{field}.share"),
                    format!(
                        "lenders and receipt collateral would hold {} of `{}`'s {} shares",
                        held[p], l.protocol, supply.deposits
                    ),
                ));
            }
            let t = &l.trigger;
            let tf = format!("{field}.trigger");
            let drawdown = match t.share_value_drawdown {
                Some(d) => Some(unit_open_closed(&format!("{tf}.share_value_drawdown"), d)?),
                None => None,
            };
            let utilisation = match t.utilisation {
                Some(u) => Some(unit_open_closed(&format!("{tf}.utilisation"), u)?),
                None => None,
            };
            let peer_bad_debt = match (&t.peer, t.peer_bad_debt_usd) {
                (None, None) => None,
                (Some(peer), Some(usd)) => {
                    let q = self.protocol_index(peer).ok_or_else(|| {
                        ScenarioError::invalid(
                            format!("{tf}.peer"),
                            format!("unknown protocol `{peer}`"),
                        )
                    })?;
                    Some((q, positive(&format!("{tf}.peer_bad_debt_usd"), usd)?))
                }
                _ => {
                    return Err(ScenarioError::invalid(
                        tf,
                        "`peer` and `peer_bad_debt_usd` go together",
                    ));
                }
            };
            if let Some(step) = t.at_step
                && (step == 0 || step > self.steps)
            {
                return Err(ScenarioError::invalid(
                    format!("{tf}.at_step"),
                    format!("{step} is outside 1..={}", self.steps),
                ));
            }
            if drawdown.is_none()
                && utilisation.is_none()
                && peer_bad_debt.is_none()
                && t.at_step.is_none()
            {
                return Err(ScenarioError::invalid(tf, "names no signal"));
            }
            out.push(LenderSpec {
                name: l.name.clone(),
                protocol: p,
                shares,
                withdraw: l.withdraw,
                sell: l.sell,
                share_value_drawdown: drawdown,
                utilisation,
                peer_bad_debt,
                at_step: t.at_step,
            });
        }
        Ok(out)
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
            .map(|p| p.oracle.lag_steps)
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

fn resolve(base: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
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
