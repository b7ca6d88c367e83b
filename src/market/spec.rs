//! The shared market of a scenario: assets (prices, processes, pegs,
//! correlation) and pools, validated (docs/model.md §2, §3, §12).

use std::collections::{HashMap, HashSet};

use crate::error::ScenarioError;
use crate::market::{Process, cholesky_psd};
use crate::scenario::check::{
    HOURS_PER_YEAR, MAX_LOG_GROWTH, MAX_PRICE, at_most, finite, non_negative, positive,
};
use crate::scenario::raw::{RawAsset, RawCorrelation, RawProcess, RawScenario, RawSimulation};

/// A token with a price in USD.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Ticker.
    pub symbol: String,
    /// Initial price F₀ (USD).
    pub initial_price: f64,
    /// How F moves by itself.
    pub process: Process,
    /// For a receipt token: the lending protocol whose shares it is.
    pub receipt_of: Option<usize>,
    /// For a derivative token: its peg to an underlying.
    pub peg: Option<Peg>,
    /// For an LP token: its pool.
    pub lp_of: Option<LpToken>,
}

/// An LP token: a share of a pool's reserves (docs/model.md §12).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LpToken {
    /// Pool index.
    pub pool: usize,
    /// Shares outstanding at step 0: the pool's value ÷ the token's price.
    pub supply: f64,
}

/// A derivative token's link to its underlying (docs/model.md §12):
/// `F = ratio × F_underlying × e^δ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peg {
    /// Underlying asset index.
    pub to: usize,
    /// Units of the underlying one token redeems for.
    pub ratio: f64,
    /// Per-step factor on δ: `0.5^(dt / half-life)`, 1 without reversion.
    pub keep: f64,
    /// δ at step 0: `ln(price / (ratio × F_underlying))`.
    pub initial_discount: f64,
}

/// A constant-product pool, by asset index.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    /// Its name (`BASE/QUOTE` unless given).
    pub name: String,
    /// Most quote value (USD) arbitrage trades through it in a step:
    /// infinite for a pool arbitraged to the fundamental every step.
    pub arbitrage_usd: f64,
    /// Base asset index.
    pub base: usize,
    /// Quote asset index.
    pub quote: usize,
    /// Initial base reserve.
    pub base_reserve: f64,
    /// Swap fee φ.
    pub fee: f64,
    /// Impact persistence ρ in [0, 1].
    pub impact_persistence: f64,
    /// α of an exponential venue; 0 for a constant-product pool.
    pub impact: f64,
}

/// The index of the asset named `symbol`, or an error on `field`: a scan,
/// for a lookup or two (`Symbols` for a step that makes many).
pub(crate) fn asset_index(
    raw: &RawScenario,
    field: &str,
    symbol: &str,
) -> Result<usize, ScenarioError> {
    raw.assets
        .iter()
        .position(|a| a.symbol == symbol)
        .ok_or_else(|| ScenarioError::invalid(field, format!("unknown asset `{symbol}`")))
}

/// The assets of a scenario by symbol, built once for a validation step
/// that looks many up: a scenario may list 10⁵ assets (a family's, §19),
/// and a scan per lookup made validating one quadratic in them.
pub(crate) struct Symbols<'a>(HashMap<&'a str, usize>);

impl<'a> Symbols<'a> {
    /// The first asset of each symbol (one listed twice is refused by
    /// `assets_from_raw`).
    pub(crate) fn of(raw: &'a RawScenario) -> Self {
        let mut by = HashMap::with_capacity(raw.assets.len());
        for (i, a) in raw.assets.iter().enumerate() {
            by.entry(a.symbol.as_str()).or_insert(i);
        }
        Symbols(by)
    }

    /// The same map over validated assets (what a book's positions name).
    pub(crate) fn of_assets(assets: &'a [Asset]) -> Self {
        Symbols(
            assets
                .iter()
                .enumerate()
                .map(|(i, a)| (a.symbol.as_str(), i))
                .collect(),
        )
    }

    /// The index of `symbol`, or an error naming `field`.
    pub(crate) fn index(&self, field: &str, symbol: &str) -> Result<usize, ScenarioError> {
        self.0
            .get(symbol)
            .copied()
            .ok_or_else(|| ScenarioError::invalid(field, format!("unknown asset `{symbol}`")))
    }
}

/// The validated assets of a scenario.
pub(crate) struct MarketAssets {
    /// Every asset, in file order.
    pub assets: Vec<Asset>,
    /// The stochastic ones, in file order.
    pub stochastic: Vec<usize>,
    /// Cholesky factor of their correlation.
    pub cholesky: Vec<Vec<f64>>,
}

/// The assets of a scenario, the stochastic ones among them and the
/// Cholesky factor of their correlation. Every price is known here: given,
/// at a peg, or a receipt token's issuer's debt asset's (share value 1).
pub(crate) fn assets_from_raw(raw: &RawScenario) -> Result<MarketAssets, ScenarioError> {
    if raw.assets.is_empty() {
        return Err(ScenarioError::invalid(
            "assets",
            "at least one asset is needed",
        ));
    }
    let mut prices = Vec::with_capacity(raw.assets.len());
    let mut processes = Vec::with_capacity(raw.assets.len());
    let mut seen = HashSet::with_capacity(raw.assets.len());
    for a in &raw.assets {
        let field = format!("assets.{}", a.symbol);
        if a.symbol.trim().is_empty() {
            return Err(ScenarioError::invalid("assets.symbol", "must not be empty"));
        }
        if !seen.insert(a.symbol.as_str()) {
            return Err(ScenarioError::invalid(field, "symbol is listed twice"));
        }
        prices.push(given_price(&field, a)?);
        processes.push(process_from_raw(&field, a, &raw.simulation)?);
    }
    let pegs = pegs_from_raw(raw, &mut prices)?;
    let receipt_of = receipts_from_raw(raw, &mut prices)?;
    let assets: Vec<Asset> = raw
        .assets
        .iter()
        .zip(processes)
        .enumerate()
        .map(|(a, (r, process))| Asset {
            symbol: r.symbol.clone(),
            initial_price: prices[a].expect("given, at the peg or the issuer's: resolved above"),
            process,
            receipt_of: receipt_of[a],
            peg: pegs[a],
            lp_of: None,
        })
        .collect();
    let stochastic: Vec<usize> = (0..assets.len())
        .filter(|&i| assets[i].process.is_stochastic())
        .collect();
    let cholesky = correlation(raw.correlation.as_ref(), &assets, &stochastic)?;
    Ok(MarketAssets {
        assets,
        stochastic,
        cholesky,
    })
}

/// An asset's kind checked (LP token, pegged or receipt token: one at
/// most, none with a process of its own) and its price as given: `None`
/// for a pegged token without one (it starts at the peg) and for a receipt
/// token (its issuer's).
fn given_price(field: &str, a: &RawAsset) -> Result<Option<f64>, ScenarioError> {
    if a.lp_of.is_some() {
        if a.receipt_of.is_some() || a.peg.is_some() {
            return Err(ScenarioError::invalid(
                format!("{field}.lp_of"),
                "an LP token cannot also be a receipt token or have a peg",
            ));
        }
        if !matches!(a.process, RawProcess::Fixed) {
            return Err(ScenarioError::invalid(
                format!("{field}.process"),
                "an LP token is priced off its pool; remove its process",
            ));
        }
    }
    if a.peg.is_some() {
        if a.receipt_of.is_some() {
            return Err(ScenarioError::invalid(
                format!("{field}.peg"),
                "a receipt token follows its issuer; it cannot also have a peg",
            ));
        }
        if !matches!(a.process, RawProcess::Fixed) {
            return Err(ScenarioError::invalid(
                format!("{field}.process"),
                "a pegged token moves with its underlying and its discount; remove its process",
            ));
        }
    }
    let price = match (&a.receipt_of, a.price) {
        (Some(_), Some(_)) => {
            return Err(ScenarioError::invalid(
                format!("{field}.price"),
                "a receipt token's price follows its issuer's share value; remove it",
            ));
        }
        (Some(_), None) => {
            if !matches!(a.process, RawProcess::Fixed) {
                return Err(ScenarioError::invalid(
                    format!("{field}.process"),
                    "a receipt token has no price process of its own",
                ));
            }
            None // its issuer's, in `receipts_from_raw`
        }
        (None, Some(p)) => {
            positive(&format!("{field}.price"), p)?;
            Some(at_most(
                &format!("{field}.price"),
                p,
                MAX_PRICE,
                "USD per unit",
            )?)
        }
        (None, None) if a.peg.is_some() => None, // at the peg, in `pegs_from_raw`
        (None, None) => {
            return Err(ScenarioError::invalid(
                format!("{field}.price"),
                "is missing",
            ));
        }
    };
    Ok(price)
}

/// An asset's price process, checked so its price stays finite over the
/// run.
fn process_from_raw(
    field: &str,
    a: &RawAsset,
    sim: &RawSimulation,
) -> Result<Process, ScenarioError> {
    let years = sim.dt_hours * sim.steps as f64 / HOURS_PER_YEAR;
    // How far a price's log may travel over the run: drift, Itô
    // term, ten standard deviations of diffusion and the jumps'
    // mean move and compensator. Past MAX_LOG_GROWTH the price could
    // leave f64's range.
    let budget = |drift: f64,
                  vol: f64,
                  jumps: Option<(f64, f64, f64)>|
     -> Result<(), ScenarioError> {
        let mut terms = vec![
            ("drift", drift.abs() * years),
            ("vol", 0.5 * vol * vol * years + 10.0 * vol * years.sqrt()),
        ];
        if let Some((lambda, m, sd)) = jumps {
            let kappa = (m + 0.5 * sd * sd).exp() - 1.0;
            terms.push((
                "jump_intensity",
                lambda * years * (m.abs() + sd).max(kappa.abs()),
            ));
        }
        let total: f64 = terms.iter().map(|t| t.1).sum();
        if total.is_nan() || total > MAX_LOG_GROWTH {
            let worst = terms
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map_or("vol", |t| t.0);
            return Err(ScenarioError::invalid(
                format!("{field}.process.{worst}"),
                format!(
                    "the price's log could move by {total:.3e} over the run's {years:.3} years; at most {MAX_LOG_GROWTH} keeps prices finite"
                ),
            ));
        }
        Ok(())
    };
    Ok(match a.process {
        RawProcess::Fixed => Process::Fixed,
        RawProcess::Gbm { drift, vol } => {
            finite(&format!("{field}.process.drift"), drift)?;
            non_negative(&format!("{field}.process.vol"), vol)?;
            budget(drift, vol, None)?;
            Process::Gbm { drift, vol }
        }
        RawProcess::Merton {
            drift,
            vol,
            jump_intensity,
            jump_mean,
            jump_std,
        } => {
            finite(&format!("{field}.process.drift"), drift)?;
            non_negative(&format!("{field}.process.vol"), vol)?;
            non_negative(&format!("{field}.process.jump_intensity"), jump_intensity)?;
            let per_step = jump_intensity * sim.dt_hours / HOURS_PER_YEAR;
            if per_step > crate::market::process::MAX_JUMPS_PER_STEP {
                return Err(ScenarioError::invalid(
                    format!("{field}.process.jump_intensity"),
                    format!(
                        "{jump_intensity} a year is {per_step:e} jumps a step; at most {:e} are supported",
                        crate::market::process::MAX_JUMPS_PER_STEP
                    ),
                ));
            }
            finite(&format!("{field}.process.jump_mean"), jump_mean)?;
            non_negative(&format!("{field}.process.jump_std"), jump_std)?;
            at_most(
                &format!("{field}.process.jump_std"),
                jump_std,
                5.0,
                "a one-sd jump of e^5",
            )?;
            at_most(
                &format!("{field}.process.jump_mean"),
                jump_mean.abs(),
                5.0,
                "a mean jump of e^±5",
            )?;
            budget(drift, vol, Some((jump_intensity, jump_mean, jump_std)))?;
            Process::Merton {
                drift,
                vol,
                jump_intensity,
                jump_mean,
                jump_std,
            }
        }
    })
}

/// Each pegged token's peg; a pegged token given no price starts at the
/// peg (its price is filled in `prices`).
fn pegs_from_raw(
    raw: &RawScenario,
    prices: &mut [Option<f64>],
) -> Result<Vec<Option<Peg>>, ScenarioError> {
    let sim = &raw.simulation;
    let symbols = Symbols::of(raw);
    let lookup = |field: &str, symbol: &str| symbols.index(field, symbol);
    let mut pegs = vec![None; raw.assets.len()];
    for (a, raw_asset) in raw.assets.iter().enumerate() {
        let Some(peg) = &raw_asset.peg else { continue };
        let field = format!("assets.{}.peg", raw_asset.symbol);
        let to = lookup(&format!("{field}.to"), &peg.to)?;
        if to == a {
            return Err(ScenarioError::invalid(
                format!("{field}.to"),
                "a token cannot be pegged to itself",
            ));
        }
        let under = &raw.assets[to];
        if under.peg.is_some() || under.receipt_of.is_some() || under.lp_of.is_some() {
            return Err(ScenarioError::invalid(
                format!("{field}.to"),
                format!(
                    "`{}` is itself derived (a peg, a receipt or an LP token): peg to a priced asset",
                    peg.to
                ),
            ));
        }
        // Not derived, so its price was given (`given_price`).
        let under = prices[to].expect("a priced asset's price is given");
        let ratio = positive(&format!("{field}.ratio"), peg.ratio)?;
        at_most(
            &format!("{field}.ratio"),
            ratio * under,
            MAX_PRICE,
            "USD per unit at the peg",
        )?;
        let keep = match peg.reversion_half_life_hours {
            None => 1.0,
            Some(h) => {
                let h = positive(&format!("{field}.reversion_half_life_hours"), h)?;
                0.5f64.powf(sim.dt_hours / h)
            }
        };
        let at_peg = ratio * under;
        let price = prices[a].unwrap_or(at_peg);
        pegs[a] = Some(Peg {
            to,
            ratio,
            keep,
            initial_discount: (price / at_peg).ln(),
        });
        prices[a] = Some(price);
    }
    Ok(pegs)
}

/// Each receipt token's issuer (a protocol index), and its price at step 0:
/// a share is worth one unit of what the issuer lends (filled in `prices`).
fn receipts_from_raw(
    raw: &RawScenario,
    prices: &mut [Option<f64>],
) -> Result<Vec<Option<usize>>, ScenarioError> {
    let mut receipt_of = vec![None; raw.assets.len()];
    for (a, asset) in raw.assets.iter().enumerate() {
        let Some(issuer) = &asset.receipt_of else {
            continue;
        };
        let field = format!("assets.{}.receipt_of", asset.symbol);
        let p = raw
            .protocols
            .iter()
            .position(|q| &q.name == issuer)
            .ok_or_else(|| {
                ScenarioError::invalid(&field, format!("unknown protocol `{issuer}`"))
            })?;
        let debt = &raw.protocols[p].debt_asset;
        let underlying = asset_index(raw, &format!("protocols.{issuer}.debt_asset"), debt)?;
        if raw.assets[underlying].receipt_of.is_some() {
            return Err(ScenarioError::invalid(
                field,
                "the issuer lends a receipt token itself: receipts of receipts are not supported",
            ));
        }
        receipt_of[a] = Some(p);
        prices[a] = prices[underlying];
    }
    Ok(receipt_of)
}

/// Scripted shocks by step: on assets, `assets[t]` = [(asset, ln(1 +
/// return))]; on pools, `pools[t]` = [(pool, ln(1 + return))].
#[derive(Debug, Clone, Default)]
pub struct Shocks {
    /// Shocks to fundamental prices, by step.
    pub assets: Vec<Vec<(usize, f64)>>,
    /// Shocks to pools' prices, by step.
    pub pools: Vec<Vec<(usize, f64)>>,
}

/// The scripted shocks of a scenario, by step.
pub(crate) fn shocks_from_raw(
    raw: &RawScenario,
    pools: &[PoolSpec],
) -> Result<Shocks, ScenarioError> {
    let sim = &raw.simulation;
    let symbols = Symbols::of(raw);
    let lookup = |field: &str, symbol: &str| symbols.index(field, symbol);
    let mut shocks = Shocks {
        assets: vec![Vec::new(); sim.steps as usize + 1],
        pools: vec![Vec::new(); sim.steps as usize + 1],
    };
    for (i, s) in raw.shocks.iter().enumerate() {
        let field = format!("shocks[{i}]");
        if s.step == 0 || s.step > sim.steps {
            return Err(ScenarioError::invalid(
                format!("{field}.step"),
                format!("{} is outside 1..={}", s.step, sim.steps),
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
        let log = s.ret.ln_1p();
        match (&s.asset, &s.pool) {
            (Some(asset), None) => {
                let a = lookup(&format!("{field}.asset"), asset)?;
                if raw.assets[a].receipt_of.is_some() || raw.assets[a].lp_of.is_some() {
                    return Err(ScenarioError::invalid(
                        format!("{field}.asset"),
                        format!(
                            "`{asset}` is a receipt or LP token: its price follows its issuer or pool"
                        ),
                    ));
                }
                shocks.assets[s.step as usize].push((a, log));
            }
            (None, Some(name)) => {
                let p = pools.iter().position(|p| p.name == *name).ok_or_else(|| {
                    ScenarioError::invalid(format!("{field}.pool"), format!("no pool `{name}`"))
                })?;
                shocks.pools[s.step as usize].push((p, log));
            }
            _ => {
                return Err(ScenarioError::invalid(
                    field,
                    "give `asset` (a move of its fundamental) or `pool` (a trade in that pool), not both",
                ));
            }
        }
    }

    Ok(shocks)
}

fn correlation(
    raw: Option<&RawCorrelation>,
    assets: &[Asset],
    stochastic: &[usize],
) -> Result<Vec<Vec<f64>>, ScenarioError> {
    let n = stochastic.len();
    let mut full = vec![vec![0.0; n]; n];
    for (i, row) in full.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    if let Some(c) = raw {
        let k = c.assets.len();
        if c.matrix.len() != k {
            return Err(ScenarioError::invalid(
                "correlation.matrix",
                format!("has {} rows for {k} assets", c.matrix.len()),
            ));
        }
        let mut slots = Vec::with_capacity(k);
        for (i, symbol) in c.assets.iter().enumerate() {
            let a = assets
                .iter()
                .position(|a| &a.symbol == symbol)
                .ok_or_else(|| {
                    ScenarioError::invalid(
                        format!("correlation.assets[{i}]"),
                        format!("unknown asset `{symbol}`"),
                    )
                })?;
            let slot = stochastic.iter().position(|&s| s == a).ok_or_else(|| {
                ScenarioError::invalid(
                    format!("correlation.assets[{i}]"),
                    format!("`{symbol}` has a fixed price; only stochastic assets are correlated"),
                )
            })?;
            if slots.contains(&slot) {
                return Err(ScenarioError::invalid(
                    format!("correlation.assets[{i}]"),
                    format!("`{symbol}` is listed twice"),
                ));
            }
            slots.push(slot);
        }
        for (i, row) in c.matrix.iter().enumerate() {
            if row.len() != k {
                return Err(ScenarioError::invalid(
                    "correlation.matrix",
                    format!("row {i} has {} entries for {k} assets", row.len()),
                ));
            }
            for (j, &v) in row.iter().enumerate() {
                full[slots[i]][slots[j]] = v;
            }
        }
        // Check the matrix as given, so the message speaks of its entries.
        cholesky_psd(&c.matrix).map_err(|e| ScenarioError::invalid("correlation.matrix", e))?;
    }
    cholesky_psd(&full).map_err(|e| ScenarioError::invalid("correlation.matrix", e))
}
