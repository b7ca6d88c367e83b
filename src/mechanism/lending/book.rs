//! The initial book: every position of every protocol, as struct-of-arrays,
//! built once per run from explicit `[[positions]]`, the `positions_file`
//! snapshot and the `[[populations]]` (drawn from the scenario seed), in that
//! order. A position's id is its place in creation order (docs/model.md §5:
//! ids are global); positions left out later (debt ceilings, `--cut`, unhealthy
//! ones dropped) keep the ids of those that stay, so ids may have gaps.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use crate::error::ScenarioError;
use crate::market::spec::Asset;
use crate::market::spec::Symbols;
use crate::mechanism::lending::index::{LiquidationIndex, Positions};
use crate::mechanism::lending::snapshot::{BookRow, read_book_file};
use crate::mechanism::lending::spec::LendingSpec;
use crate::montecarlo::seed::book_rng;
use crate::scenario::check::{MAX_USD, non_negative};
use crate::scenario::population::{check_health, check_size, draw_health, draw_size};
use crate::scenario::raw::RawScenario;

/// What a book is built and checked against: the scenario's assets and
/// lending protocols, validated before it.
#[derive(Debug, Clone, Copy)]
pub struct Terms<'a> {
    /// Assets in scenario order.
    pub assets: &'a [Asset],
    /// Lending protocols in scenario order.
    pub protocols: &'a [LendingSpec],
}

impl Terms<'_> {
    /// Index of an asset by symbol.
    pub fn asset_index(&self, symbol: &str) -> Option<usize> {
        self.assets.iter().position(|a| a.symbol == symbol)
    }

    /// Index of a protocol by name.
    pub fn protocol_index(&self, name: &str) -> Option<usize> {
        self.protocols.iter().position(|p| p.name == name)
    }
}

/// All positions at step 0, shared read-only by every path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Book {
    /// Protocol index of each position.
    pub protocol: Vec<u32>,
    /// Debt (units of the protocol's debt asset) of each position.
    pub debt: Vec<f64>,
    /// Position i's collateral entries are `coll_start[i]..coll_start[i+1]`.
    pub coll_start: Vec<u32>,
    /// Asset index of each collateral entry (ascending within a position).
    pub coll_asset: Vec<u32>,
    /// Units of each collateral entry.
    pub coll_units: Vec<f64>,
    /// Liquidation threshold of each entry (copied from its protocol).
    pub coll_lt: Vec<f64>,
    /// Liquidation bonus of each entry.
    pub coll_lb: Vec<f64>,
    /// Positions ordered by liquidation price, built once per run.
    pub index: LiquidationIndex,
    /// Positions left out because an isolated collateral's debt ceiling was
    /// reached (docs/model.md §12).
    pub over_ceiling: u64,
    /// Where each position came from: an index into `origins`.
    pub origin: Vec<u32>,
    /// Origin labels: `positions`, `positions_file`, `populations[i]`.
    pub origins: Vec<String>,
    /// Each position's id: its place in creation order, kept when other
    /// positions are left out (book.parquet and liquidations.parquet).
    pub id: Vec<u64>,
}

/// Positions already below health factor 1 at step 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Unhealthy {
    /// How many.
    pub positions: u64,
    /// Their debt, USD at initial prices.
    pub debt_usd: f64,
}

/// The rows of one id in a snapshot: protocol, debt, (asset, units) entries.
type SnapshotGroup = (String, f64, Vec<(usize, f64)>);

impl Book {
    /// Number of positions.
    pub fn len(&self) -> usize {
        self.protocol.len()
    }

    /// Whether the book has no position.
    pub fn is_empty(&self) -> bool {
        self.protocol.is_empty()
    }

    /// Health factor of position `i` at the scenario's initial prices (∞
    /// without debt).
    pub fn initial_hf(&self, sc: Terms<'_>, i: usize) -> f64 {
        let spec = &sc.protocols[self.protocol[i] as usize];
        let debt = self.debt[i] * sc.assets[spec.debt_asset].initial_price;
        if debt <= 0.0 {
            return f64::INFINITY;
        }
        let weighted: f64 = self
            .coll_range(i)
            .map(|k| {
                self.coll_units[k]
                    * sc.assets[self.coll_asset[k] as usize].initial_price
                    * self.coll_lt[k]
            })
            .sum();
        weighted / debt
    }

    /// The positions below health factor 1 at step 0.
    pub fn unhealthy(&self, sc: Terms<'_>) -> Unhealthy {
        let mut u = Unhealthy::default();
        for i in 0..self.len() {
            if self.initial_hf(sc, i) < 1.0 {
                let spec = &sc.protocols[self.protocol[i] as usize];
                u.positions += 1;
                u.debt_usd += self.debt[i] * sc.assets[spec.debt_asset].initial_price;
            }
        }
        u
    }

    fn origin_of(&mut self, label: &str) -> u32 {
        match self.origins.iter().position(|o| o == label) {
            Some(k) => k as u32,
            None => {
                self.origins.push(label.to_string());
                (self.origins.len() - 1) as u32
            }
        }
    }

    /// The collateral entries of position `i`.
    pub fn coll_range(&self, i: usize) -> Range<usize> {
        self.coll_start[i] as usize..self.coll_start[i + 1] as usize
    }

    /// The book without the positions `drop` selects (the others keep their
    /// ids and order; the index is rebuilt).
    pub fn without(&self, sc: Terms<'_>, drop: impl Fn(usize) -> bool) -> Book {
        let mut out = Book {
            coll_start: vec![0],
            over_ceiling: self.over_ceiling,
            origins: self.origins.clone(),
            ..Book::default()
        };
        for i in (0..self.len()).filter(|&i| !drop(i)) {
            let r = self.coll_range(i);
            out.origin.push(self.origin[i]);
            out.id.push(self.id[i]);
            out.protocol.push(self.protocol[i]);
            out.debt.push(self.debt[i]);
            out.coll_asset
                .extend_from_slice(&self.coll_asset[r.clone()]);
            out.coll_units
                .extend_from_slice(&self.coll_units[r.clone()]);
            out.coll_lt.extend_from_slice(&self.coll_lt[r.clone()]);
            out.coll_lb.extend_from_slice(&self.coll_lb[r]);
            out.coll_start.push(out.coll_asset.len() as u32);
        }
        out.index = index_of(&out, sc);
        out
    }

    /// The same positions (units and debt) under `sc`'s risk parameters:
    /// each entry's LT and LB are read again from its protocol (with
    /// e-mode), and the index is rebuilt. A sweep holds its base book fixed
    /// this way while the rules change. Errors if a protocol of `sc` no
    /// longer accepts an asset the book holds.
    pub fn with_params(&self, sc: Terms<'_>) -> Result<Book, ScenarioError> {
        let mut out = self.clone();
        for i in 0..self.len() {
            let p = self.protocol[i] as usize;
            let spec = sc.protocols.get(p).ok_or_else(|| {
                ScenarioError::invalid("protocols", "the base book names a protocol that is gone")
            })?;
            let r = self.coll_range(i);
            let held: Vec<usize> = r.clone().map(|k| self.coll_asset[k] as usize).collect();
            for k in r {
                let a = self.coll_asset[k] as usize;
                let params = spec.params_for(a, &held).ok_or_else(|| {
                    ScenarioError::invalid(
                        format!("protocols.{}.collateral.{}", spec.name, sc.assets[a].symbol),
                        "the base book holds it, so it must stay accepted",
                    )
                })?;
                out.coll_lt[k] = params.liquidation_threshold;
                out.coll_lb[k] = params.liquidation_bonus;
            }
        }
        out.index = index_of(&out, sc);
        Ok(out)
    }

    /// Build the book of a scenario whose other parts are already validated.
    pub fn build(
        sc: Terms<'_>,
        raw: &RawScenario,
        seed: u64,
        file: Option<&Path>,
    ) -> Result<Book, ScenarioError> {
        let mut book = Book {
            coll_start: vec![0],
            ..Book::default()
        };
        // Looked up once per collateral entry: a map, not a scan (a
        // generated family has 10⁵ assets and as many positions).
        let symbols = Symbols::of_assets(sc.assets);
        for (i, p) in raw.positions.iter().enumerate() {
            let field = format!("positions[{i}]");
            let proto = sc.protocol_index(&p.protocol).ok_or_else(|| {
                ScenarioError::invalid(
                    format!("{field}.protocol"),
                    format!("unknown protocol `{}`", p.protocol),
                )
            })?;
            non_negative(&format!("{field}.debt"), p.debt)?;
            let mut entries = Vec::new();
            for (symbol, &units) in &p.collateral {
                let cf = format!("{field}.collateral.{symbol}");
                let a = symbols.index(&cf, symbol)?;
                non_negative(&cf, units)?;
                entries.push((a, units));
            }
            book.push(sc, &field, proto, p.debt, entries)?;
        }

        if let Some(path) = file {
            let rows = read_book_file(path)?;
            book.push_snapshot(sc, &symbols, path, rows)?;
        }

        let mut rng = book_rng(seed);
        for (i, pop) in raw.populations.iter().enumerate() {
            let field = format!("populations[{i}]");
            let proto = sc.protocol_index(&pop.protocol).ok_or_else(|| {
                ScenarioError::invalid(
                    format!("{field}.protocol"),
                    format!("unknown protocol `{}`", pop.protocol),
                )
            })?;
            let spec = &sc.protocols[proto];
            let a = symbols.index(&format!("{field}.collateral_asset"), &pop.collateral_asset)?;
            let params = spec.params_for(a, &[a]).ok_or_else(|| {
                ScenarioError::invalid(
                    format!("{field}.collateral_asset"),
                    format!(
                        "`{}` is not collateral in `{}`",
                        pop.collateral_asset, spec.name
                    ),
                )
            })?;
            if pop.count == 0 {
                return Err(ScenarioError::invalid(
                    format!("{field}.count"),
                    "must be at least 1",
                ));
            }
            check_size(&format!("{field}.size_usd"), &pop.size_usd)?;
            let hf_min = check_health(&format!("{field}.health_factor"), &pop.health_factor)?;
            // max_ltv bounds the loan at origination: LTV = LT / HF ≤ max_ltv.
            let hf_floor = params.liquidation_threshold / params.max_ltv;
            if hf_min < hf_floor * (1.0 - 1e-12) {
                return Err(ScenarioError::invalid(
                    format!("{field}.health_factor"),
                    format!(
                        "lowest value {hf_min} is below LT/max_ltv = {hf_floor:.4}: such loans exceed max_ltv"
                    ),
                ));
            }
            let p_coll = sc.assets[a].initial_price;
            let p_debt = sc.assets[spec.debt_asset].initial_price;
            for _ in 0..pop.count {
                let size = draw_size(&pop.size_usd, &mut rng);
                if size.is_nan() || size > MAX_USD {
                    return Err(ScenarioError::invalid(
                        format!("{field}.size_usd"),
                        format!(
                            "drew a position of {size:e} USD, more than {MAX_USD:e}: the distribution's tail is too heavy"
                        ),
                    ));
                }
                let hf = draw_health(&pop.health_factor, &mut rng);
                let units = size / p_coll;
                let debt = size * params.liquidation_threshold / (hf * p_debt);
                book.push(sc, &field, proto, debt, vec![(a, units)])?;
            }
        }
        let book = book.within_ceilings(sc);
        book.check_default_ids(sc)?;
        Ok(book)
    }

    /// Each scripted default's position (docs/model.md §5) is in the book
    /// and in its protocol.
    fn check_default_ids(&self, sc: Terms<'_>) -> Result<(), ScenarioError> {
        for spec in sc.protocols {
            for (k, d) in spec.defaults.iter().enumerate() {
                let Some(id) = d.position else { continue };
                let found = self.id.binary_search(&id).ok();
                if found.is_none_or(|i| sc.protocols[self.protocol[i] as usize].name != spec.name) {
                    return Err(ScenarioError::invalid(
                        format!("protocols.{}.defaults[{k}].position", spec.name),
                        format!("no position {id} of `{}` in the book", spec.name),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Isolation mode (docs/model.md §12): positions holding a collateral
    /// with a debt ceiling are taken in id order, and each is admitted if
    /// its debt, in USD at initial prices, still fits under the ceiling with
    /// those admitted before it; a position that does not fit could not have
    /// borrowed and is left out (`over_ceiling` counts them), and later,
    /// smaller ones may still fit.
    fn within_ceilings(self, sc: Terms<'_>) -> Book {
        let mut used = vec![0.0; sc.protocols.len() * sc.assets.len()];
        let mut over = vec![false; self.len()];
        for (i, o) in over.iter_mut().enumerate() {
            let p = self.protocol[i] as usize;
            let spec = &sc.protocols[p];
            let value = self.debt[i] * sc.assets[spec.debt_asset].initial_price;
            for k in self.coll_range(i) {
                let a = self.coll_asset[k] as usize;
                if let Some(cap) = spec.collateral[a].and_then(|c| c.debt_ceiling_usd) {
                    let slot = &mut used[p * sc.assets.len() + a];
                    if *slot + value > cap * (1.0 + 1e-12) {
                        *o = true;
                    } else {
                        *slot += value;
                    }
                }
            }
        }
        let dropped = over.iter().filter(|&&o| o).count() as u64;
        let mut book = self.without(sc, |i| over[i]);
        book.over_ceiling = dropped;
        book
    }

    /// Append one position; entries are sorted into scenario asset order.
    fn push(
        &mut self,
        sc: Terms<'_>,
        field: &str,
        proto: usize,
        debt: f64,
        mut entries: Vec<(usize, f64)>,
    ) -> Result<(), ScenarioError> {
        let spec = &sc.protocols[proto];
        entries.sort_by_key(|e| e.0);
        if debt > 0.0 && entries.iter().all(|e| e.1 == 0.0) {
            return Err(ScenarioError::invalid(
                format!("{field}.collateral"),
                "a position with debt needs collateral",
            ));
        }
        let p_debt = sc.assets[spec.debt_asset].initial_price;
        if debt * p_debt > MAX_USD {
            return Err(ScenarioError::invalid(
                format!("{field}.debt"),
                format!(
                    "{debt} units are worth {:e} USD, more than the {MAX_USD:e} USD one position may hold",
                    debt * p_debt
                ),
            ));
        }
        for &(a, units) in &entries {
            let value = units * sc.assets[a].initial_price;
            if value > MAX_USD {
                return Err(ScenarioError::invalid(
                    format!("{field}.collateral.{}", sc.assets[a].symbol),
                    format!(
                        "{units} units are worth {value:e} USD, more than the {MAX_USD:e} USD one position may hold"
                    ),
                ));
            }
        }
        let held: Vec<usize> = entries.iter().map(|e| e.0).collect();
        for &(a, units) in &entries {
            if spec.collateral[a].is_some_and(|c| c.debt_ceiling_usd.is_some()) && held.len() > 1 {
                return Err(ScenarioError::invalid(
                    format!("{field}.collateral.{}", sc.assets[a].symbol),
                    format!(
                        "`{}` is isolated (it has a debt ceiling) and cannot be combined with other collateral",
                        sc.assets[a].symbol
                    ),
                ));
            }
            let params = spec.params_for(a, &held).ok_or_else(|| {
                ScenarioError::invalid(
                    format!("{field}.collateral.{}", sc.assets[a].symbol),
                    format!(
                        "`{}` is not collateral in `{}`",
                        sc.assets[a].symbol, spec.name
                    ),
                )
            })?;
            self.coll_asset.push(a as u32);
            self.coll_units.push(units);
            self.coll_lt.push(params.liquidation_threshold);
            self.coll_lb.push(params.liquidation_bonus);
        }
        // `positions[3]` and `positions_file X: id 7` group as their kind.
        let label = match field.split_once(['[', ' ']) {
            Some((kind, _)) if kind != "populations" => kind,
            _ => field,
        };
        let origin = self.origin_of(label);
        self.origin.push(origin);
        self.id.push(self.protocol.len() as u64);
        self.protocol.push(proto as u32);
        self.debt.push(debt);
        self.coll_start.push(self.coll_asset.len() as u32);
        Ok(())
    }

    /// Append the positions of a snapshot, grouped by id in order of first
    /// appearance. Rows of one id must agree on protocol and debt.
    fn push_snapshot(
        &mut self,
        sc: Terms<'_>,
        symbols: &Symbols<'_>,
        path: &Path,
        rows: Vec<BookRow>,
    ) -> Result<(), ScenarioError> {
        let label = format!("positions_file {}", path.display());
        let mut order: Vec<String> = Vec::new();
        let mut groups: BTreeMap<String, SnapshotGroup> = BTreeMap::new();
        for (i, r) in rows.into_iter().enumerate() {
            let field = format!("{label}: row {} (id {})", i + 1, r.id);
            let a = symbols.index(&format!("{field}.asset"), &r.asset)?;
            non_negative(&format!("{field}.units"), r.units)?;
            non_negative(&format!("{field}.debt"), r.debt)?;
            match groups.get_mut(&r.id) {
                None => {
                    order.push(r.id.clone());
                    groups.insert(r.id.clone(), (r.protocol, r.debt, vec![(a, r.units)]));
                }
                Some((protocol, debt, entries)) => {
                    if *protocol != r.protocol {
                        return Err(ScenarioError::invalid(
                            format!("{field}.protocol"),
                            format!(
                                "`{}` differs from `{protocol}` on an earlier row of this id",
                                r.protocol
                            ),
                        ));
                    }
                    if *debt != r.debt {
                        return Err(ScenarioError::invalid(
                            format!("{field}.debt"),
                            format!(
                                "{} differs from {debt} on an earlier row of this id",
                                r.debt
                            ),
                        ));
                    }
                    if entries.iter().any(|e| e.0 == a) {
                        return Err(ScenarioError::invalid(
                            format!("{field}.asset"),
                            format!("`{}` appears twice for this id", r.asset),
                        ));
                    }
                    entries.push((a, r.units));
                }
            }
        }
        for id in order {
            let (protocol, debt, entries) = groups.remove(&id).expect("grouped above");
            let field = format!("{label}: id {id}");
            let proto = sc.protocol_index(&protocol).ok_or_else(|| {
                ScenarioError::invalid(
                    format!("{field}.protocol"),
                    format!("unknown protocol `{protocol}`"),
                )
            })?;
            self.push(sc, &field, proto, debt, entries)?;
        }
        Ok(())
    }
}

impl Positions for Book {
    fn count(&self) -> usize {
        self.protocol.len()
    }
    fn protocol(&self, i: usize) -> u32 {
        self.protocol[i]
    }
    fn debt(&self, i: usize) -> f64 {
        self.debt[i]
    }
    fn entries(&self, i: usize) -> Range<usize> {
        self.coll_range(i)
    }
    fn entry(&self, k: usize) -> (u32, f64, f64) {
        (self.coll_asset[k], self.coll_units[k], self.coll_lt[k])
    }
}

/// The liquidation index of a book at the scenario's initial prices.
fn index_of(book: &Book, sc: Terms<'_>) -> LiquidationIndex {
    let prices: Vec<f64> = sc.assets.iter().map(|a| a.initial_price).collect();
    let debt: Vec<usize> = sc.protocols.iter().map(|p| p.debt_asset).collect();
    LiquidationIndex::build(book, &prices, &debt)
}
