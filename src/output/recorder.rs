//! What a path leaves behind: columnar row buffers for the time-series tables
//! (filled only for recorded paths and steps) and the path's summary row,
//! always. The engine writes here; it never sees a file.

use crate::error::EngineError;
use crate::market::MarketRows;
use crate::mechanism::cdp::table::{AuctionRows, CdpRows};
use crate::mechanism::lending::table::{LiquidationRows, ProtocolRows};
use crate::mechanism::options::table::GreekRows;
use crate::mechanism::oracle::table::OracleRows;
use crate::mechanism::perp::table::PerpRows;

/// The first non-finite value of `values` (rows keyed by `steps`), as the
/// error that names it.
fn first_bad<'a>(
    table: &'static str,
    path: u32,
    steps: &[u32],
    columns: impl IntoIterator<Item = (&'a str, Box<dyn Iterator<Item = f64> + 'a>)>,
) -> Result<(), EngineError> {
    for (column, values) in columns {
        for (row, v) in values.enumerate() {
            if !v.is_finite() {
                let at = match steps.get(row) {
                    Some(t) => format!("path {path}, step {t}"),
                    None => format!("path {path}"),
                };
                return Err(EngineError::NonFiniteOutput {
                    table,
                    column: column.to_string(),
                    at,
                    value: v,
                });
            }
        }
    }
    Ok(())
}

/// A plain column as a boxed iterator.
fn col(v: &[f64]) -> Box<dyn Iterator<Item = f64> + '_> {
    Box::new(v.iter().copied())
}

/// One row of `paths.parquet`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathSummary {
    /// Path index.
    pub path: u32,
    /// Bad debt written off over the path, all protocols, USD.
    pub bad_debt: f64,
    /// The part of it that came through receipt-token collateral.
    pub bad_debt_contagion: f64,
    /// Insolvent debt at the last step, all protocols, USD.
    pub insolvent_debt: f64,
    /// Liquidations executed.
    pub liquidations: u32,
    /// Positions liquidated at least once (a forced sale's rows count one).
    pub positions_liquidated: u32,
    /// Collateral seized, USD at the oracle ("liquidated value").
    pub liquidated_value: f64,
    /// Deepest cascade of any step, in rounds.
    pub max_cascade_rounds: u32,
    /// Steps whose cascade hit `max_cascade_rounds`.
    pub capped_steps: u32,
    /// Largest peak-to-trough fall of any asset's fundamental price, in [0, 1].
    pub max_drawdown: f64,
    /// Bad debt written off over the path, per protocol, USD.
    pub protocol_bad_debt: Vec<f64>,
    /// Collateral seized over the path, per protocol, USD.
    pub protocol_liquidated: Vec<f64>,
    /// The contagion part of `protocol_bad_debt`.
    pub protocol_bad_debt_contagion: Vec<f64>,
    /// Liquidations executed over the path, per protocol.
    pub protocol_liquidations: Vec<u32>,
    /// Insolvent debt at the last step, per protocol, USD.
    pub protocol_insolvent: Vec<f64>,
    /// Per perp market: the path's outcome.
    pub perp_markets: Vec<PerpOutcome>,
    /// DebtRank of the path's direct losses on the protocol network
    /// (docs/model.md §13); `None` when no protocol has a supply side.
    pub debtrank: Option<f64>,
    /// Eisenberg–Noe clearing at the end of the path: suppliers' shortfall,
    /// USD, and the protocols that default; `None` without a supply side.
    pub clearing: Option<(f64, u32)>,
    /// Perp positions liquidated (a cross account counts once per market
    /// where it still held a position): the sum of `perps.parquet`'s
    /// `liquidations` over markets and steps.
    pub perp_liquidations: u32,
    /// Positions auto-deleveraged.
    pub perp_adl_events: u32,
    /// Drawn from the insurance funds, USD.
    pub perp_fund_drawn: f64,
    /// Deficits absorbed by the perp vaults, USD.
    pub perp_vault_bad_debt: f64,
    /// Attackers' profit over holding their collateral, USD (None without
    /// attackers; docs/model.md §16).
    pub attack_pnl: Option<f64>,
    /// What attackers borrowed, USD.
    pub attack_borrowed: Option<f64>,
    /// Bad debt attackers' accounts leave, USD.
    pub attack_bad_debt: Option<f64>,
    /// Raiders' profit, USD (None without raiders; docs/model.md §16).
    pub raid_pnl: Option<f64>,
    /// Debt repaid by liquidations in the raided protocol during raids, USD.
    pub raid_liquidated: Option<f64>,
    /// Bad debt written off in the raided protocol during raids, USD.
    pub raid_bad_debt: Option<f64>,
    /// Per CDP: the path's outcome (docs/model.md §17).
    pub cdps: Vec<CdpOutcome>,
    /// Per governance actor: the path's outcome (docs/model.md §18).
    pub actors: Vec<crate::mechanism::governance::table::ActorOutcome>,
}

/// One perp market's outcome over a path (`path_perps.parquet`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PerpOutcome {
    /// Accounts liquidated.
    pub liquidations: u32,
    /// Positions auto-deleveraged.
    pub adl_events: u32,
    /// Drawn from the market's insurance fund, USD.
    pub fund_drawn: f64,
    /// Deficits the market's vault absorbed, USD.
    pub vault_bad_debt: f64,
}

/// One CDP's outcome over a path (`path_cdps.parquet`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CdpOutcome {
    /// Auctions started.
    pub auctions: u32,
    /// Auctions finished.
    pub finished: u32,
    /// Finished auctions whose collateral went for less than a millionth
    /// of their tab.
    pub zero_bid_auctions: u32,
    /// Stablecoin the auctions raised.
    pub raised: f64,
    /// Σ max(0, debt confiscated − stablecoin raised) over finished
    /// auctions, stablecoin.
    pub shortfall: f64,
    /// Confiscated debt the surplus had not cancelled at the end, less the
    /// surplus left, when positive (stablecoin).
    pub deficit: f64,
    /// Governance tokens minted by debt auctions.
    pub gov_minted: f64,
    /// Debt auctions held.
    pub debt_auctions: u32,
    /// Gem held by the peg stability module at the end.
    pub psm_gem: f64,
    /// The module's gem below par at its worst over the path: the largest
    /// end-of-step gem held × max(0, 1 − its USD price), USD.
    pub psm_impairment: f64,
    /// Stablecoin vault owners bought and repaid.
    pub repaid: f64,
}

/// Everything one path produced.
#[derive(Debug, Clone, Default)]
pub struct PathRecord {
    /// Whether the time series were kept.
    pub recorded: bool,
    /// Market rows.
    pub market: MarketRows,
    /// Protocol rows.
    pub protocols: ProtocolRows,
    /// Liquidation rows.
    pub liquidations: LiquidationRows,
    /// Perp rows.
    pub perps: PerpRows,
    /// Option agents' rows.
    pub greeks: GreekRows,
    /// Push feeds' rows.
    pub oracles: OracleRows,
    /// CDP rows.
    pub cdp: CdpRows,
    /// Auction rows.
    pub auctions: AuctionRows,
    /// Parameter changes.
    pub parameters: crate::mechanism::governance::table::ParameterRows,
    /// The summary row.
    pub summary: PathSummary,
    /// Files holding this path's earlier liquidation rows, in order, when
    /// it spilled them (`output::spill`); `liquidations` holds the rest.
    pub spilled: Vec<std::path::PathBuf>,
}

impl PathRecord {
    /// Check every value this path will write: an `Err` names the table,
    /// column, path and step of the first NaN or infinity.
    pub fn check_finite(&self) -> Result<(), EngineError> {
        let path = self.summary.path;
        self.market.check_finite(path)?;
        self.protocols.check_finite(path)?;
        self.liquidations.check_finite(path)?;
        self.perps.check_finite(path)?;
        self.greeks.check_finite(path)?;
        self.oracles.check_finite(path)?;
        self.cdp.check_finite(path)?;
        self.auctions.check_finite(path)?;
        self.parameters.check_finite(path)?;
        self.summary.check_finite()
    }
}

impl PathSummary {
    /// Check the path's row of `paths.parquet` and its per-protocol outcomes.
    pub fn check_finite(&self) -> Result<(), EngineError> {
        let s = self;
        let one = |v: f64| -> Box<dyn Iterator<Item = f64>> { Box::new(std::iter::once(v)) };
        first_bad(
            "paths.parquet",
            s.path,
            &[],
            [
                ("bad_debt", one(s.bad_debt)),
                ("bad_debt_contagion", one(s.bad_debt_contagion)),
                ("insolvent_debt", one(s.insolvent_debt)),
                ("liquidated_value", one(s.liquidated_value)),
                ("max_drawdown", one(s.max_drawdown)),
                ("debtrank", one(s.debtrank.unwrap_or(0.0))),
                ("clearing_shortfall", one(s.clearing.map_or(0.0, |c| c.0))),
                ("perp_fund_drawn", one(s.perp_fund_drawn)),
                ("perp_vault_bad_debt", one(s.perp_vault_bad_debt)),
                ("attack_pnl", one(s.attack_pnl.unwrap_or(0.0))),
                ("attack_borrowed", one(s.attack_borrowed.unwrap_or(0.0))),
                ("raid_pnl", one(s.raid_pnl.unwrap_or(0.0))),
                ("raid_liquidated", one(s.raid_liquidated.unwrap_or(0.0))),
                ("raid_bad_debt", one(s.raid_bad_debt.unwrap_or(0.0))),
                ("attack_bad_debt", one(s.attack_bad_debt.unwrap_or(0.0))),
            ],
        )?;
        first_bad(
            "path_protocols.parquet",
            s.path,
            &[],
            [
                ("bad_debt", col(&s.protocol_bad_debt)),
                ("liquidated_value", col(&s.protocol_liquidated)),
                ("bad_debt_contagion", col(&s.protocol_bad_debt_contagion)),
                ("insolvent_debt", col(&s.protocol_insolvent)),
            ],
        )?;
        let fund: Vec<f64> = s.perp_markets.iter().map(|m| m.fund_drawn).collect();
        let vault: Vec<f64> = s.perp_markets.iter().map(|m| m.vault_bad_debt).collect();
        first_bad(
            "path_perps.parquet",
            s.path,
            &[],
            [("fund_drawn", col(&fund)), ("vault_bad_debt", col(&vault))],
        )?;
        let cdp = |g: fn(&CdpOutcome) -> f64| s.cdps.iter().map(g).collect::<Vec<f64>>();
        let (raised, shortfall, deficit, minted) = (
            cdp(|o| o.raised),
            cdp(|o| o.shortfall),
            cdp(|o| o.deficit),
            cdp(|o| o.gov_minted),
        );
        first_bad(
            "path_cdps.parquet",
            s.path,
            &[],
            [
                ("raised", col(&raised)),
                ("shortfall", col(&shortfall)),
                ("deficit", col(&deficit)),
                ("gov_minted", col(&minted)),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recorded path of two steps of one protocol, all values finite.
    fn record() -> PathRecord {
        let mut r = PathRecord {
            recorded: true,
            ..Default::default()
        };
        r.summary.path = 7;
        r.summary.protocol_bad_debt = vec![0.0];
        r.summary.protocol_liquidated = vec![0.0];
        r.summary.protocol_bad_debt_contagion = vec![0.0];
        r.summary.protocol_insolvent = vec![0.0];
        r.summary.perp_markets = vec![PerpOutcome::default()];
        let p = &mut r.protocols;
        for t in [0, 1] {
            p.step.push(t);
            p.protocol.push(0);
            p.collateral_value.push(100.0);
            p.debt_value.push(50.0);
            p.liquidations.push(0);
            for v in [
                &mut p.repaid_value,
                &mut p.seized_value,
                &mut p.bad_debt,
                &mut p.bad_debt_contagion,
                &mut p.bad_debt_cum,
                &mut p.insolvent_debt,
            ] {
                v.push(0.0);
            }
            p.cascade_rounds.push(0);
            p.cascade_capped.push(false);
            for v in [
                &mut p.share_value,
                &mut p.cash_value,
                &mut p.reserve_value,
                &mut p.socialised_cum,
                &mut p.utilisation,
                &mut p.borrow_rate,
                &mut p.withdrawn_value,
                &mut p.deleveraged_value,
            ] {
                v.push(None);
            }
        }
        r.market.step = vec![0, 1];
        r.market.asset = vec![0, 0];
        r.market.fundamental = vec![2000.0, 1900.0];
        r.market.pool_price = vec![None, Some(1890.0)];
        r
    }

    fn names(e: EngineError) -> (String, String, String) {
        match e {
            EngineError::NonFiniteOutput {
                table, column, at, ..
            } => (table.to_string(), column, at),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_finite_record_passes() {
        assert!(record().check_finite().is_ok());
    }

    #[test]
    fn the_first_non_finite_value_is_named_by_table_column_path_and_step() {
        let mut r = record();
        r.protocols.debt_value[1] = f64::NAN;
        let (table, column, at) = names(r.check_finite().unwrap_err());
        assert_eq!(
            (table.as_str(), column.as_str(), at.as_str()),
            ("protocols.parquet", "debt_value", "path 7, step 1")
        );
        // A nullable column: a null is fine, an infinity is not.
        let mut r = record();
        r.protocols.share_value[0] = Some(f64::INFINITY);
        let (_, column, at) = names(r.check_finite().unwrap_err());
        assert_eq!(
            (column.as_str(), at.as_str()),
            ("share_value", "path 7, step 0")
        );
        let mut r = record();
        r.market.pool_price[1] = Some(f64::NEG_INFINITY);
        let (table, column, _) = names(r.check_finite().unwrap_err());
        assert_eq!(
            (table.as_str(), column.as_str()),
            ("market.parquet", "pool_price")
        );
    }

    #[test]
    fn the_summary_row_and_the_per_protocol_and_market_outcomes_are_checked() {
        let mut r = record();
        r.summary.bad_debt = f64::INFINITY;
        let (table, column, at) = names(r.check_finite().unwrap_err());
        assert_eq!(
            (table.as_str(), column.as_str(), at.as_str()),
            ("paths.parquet", "bad_debt", "path 7")
        );
        let mut r = record();
        r.summary.protocol_insolvent[0] = f64::NAN;
        let (table, column, _) = names(r.summary.check_finite().unwrap_err());
        assert_eq!(
            (table.as_str(), column.as_str()),
            ("path_protocols.parquet", "insolvent_debt")
        );
        let mut r = record();
        r.summary.perp_markets[0].vault_bad_debt = f64::NAN;
        let (table, column, _) = names(r.summary.check_finite().unwrap_err());
        assert_eq!(
            (table.as_str(), column.as_str()),
            ("path_perps.parquet", "vault_bad_debt")
        );
    }
}
