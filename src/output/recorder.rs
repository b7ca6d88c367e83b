//! What a path leaves behind: columnar row buffers for the time-series tables
//! (filled only for recorded paths and steps) and the path's summary row,
//! always. The engine writes here; it never sees a file.

use crate::error::EngineError;

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

/// A nullable column as a boxed iterator over its values (nulls skipped
/// but rows kept in step with the step column: a null reads as 0).
fn opt(v: &[Option<f64>]) -> Box<dyn Iterator<Item = f64> + '_> {
    Box::new(v.iter().map(|x| x.unwrap_or(0.0)))
}

/// `market.parquet` rows of one path.
#[derive(Debug, Clone, Default)]
pub struct MarketRows {
    /// Step.
    pub step: Vec<u32>,
    /// Asset index.
    pub asset: Vec<u32>,
    /// Fundamental price, USD.
    pub fundamental: Vec<f64>,
    /// Pool spot price, USD (None without a pool).
    pub pool_price: Vec<Option<f64>>,
}

/// `protocols.parquet` rows of one path.
#[derive(Debug, Clone, Default)]
pub struct ProtocolRows {
    /// Step.
    pub step: Vec<u32>,
    /// Protocol index.
    pub protocol: Vec<u32>,
    /// Σ c·p over positions, at the protocol's oracle prices.
    pub collateral_value: Vec<f64>,
    /// Σ d·p_d.
    pub debt_value: Vec<f64>,
    /// Liquidations executed in the step.
    pub liquidations: Vec<u32>,
    /// USD repaid by liquidators in the step.
    pub repaid_value: Vec<f64>,
    /// USD of collateral seized in the step (at oracle prices).
    pub seized_value: Vec<f64>,
    /// Bad debt written off in the step.
    pub bad_debt: Vec<f64>,
    /// Part of `bad_debt` from receipt-token collateral (contagion).
    pub bad_debt_contagion: Vec<f64>,
    /// Bad debt written off up to and including the step.
    pub bad_debt_cum: Vec<f64>,
    /// Σ max(0, d·p_d − Σ c·p) over open positions at the end of the step.
    pub insolvent_debt: Vec<f64>,
    /// Rounds of the step's cascade that executed a liquidation.
    pub cascade_rounds: Vec<u32>,
    /// Whether the cascade was stopped by `max_cascade_rounds`.
    pub cascade_capped: Vec<bool>,
    /// Supply side: share value (units of the debt asset per receipt token).
    pub share_value: Vec<Option<f64>>,
    /// Supply side: cash, USD.
    pub cash_value: Vec<Option<f64>>,
    /// Supply side: reserve fund, USD.
    pub reserve_value: Vec<Option<f64>>,
    /// Supply side: bad debt borne by suppliers so far, USD.
    pub socialised_cum: Vec<Option<f64>>,
    /// Supply side: borrowed ÷ (borrowed + cash) at the end of the step.
    pub utilisation: Vec<Option<f64>>,
    /// With a rate model: the annual borrow rate applied in the step.
    pub borrow_rate: Vec<Option<f64>>,
    /// Supply side: USD lenders withdrew in the step (runs).
    pub withdrawn_value: Vec<Option<f64>>,
    /// With `deleverage`: debt repaid by deleveraging borrowers, USD.
    pub deleveraged_value: Vec<Option<f64>>,
}

/// `perps.parquet` rows of one path: one per step and market.
#[derive(Debug, Clone, Default)]
pub struct PerpRows {
    /// Step.
    pub step: Vec<u32>,
    /// Market index.
    pub perp: Vec<u32>,
    /// Mark price (the pool's), USD.
    pub mark: Vec<f64>,
    /// Index price (the lagged fundamental), USD.
    pub index: Vec<f64>,
    /// Funding rate applied in the step (fraction of notional, longs pay).
    pub funding_rate: Vec<f64>,
    /// Long open interest, USD at the mark.
    pub oi_long: Vec<f64>,
    /// Short open interest, USD at the mark.
    pub oi_short: Vec<f64>,
    /// Liquidations in the step.
    pub liquidations: Vec<u32>,
    /// Notional liquidated in the step, USD.
    pub liquidated_notional: Vec<f64>,
    /// Insurance fund at the end of the step, USD.
    pub insurance_fund: Vec<f64>,
    /// Drawn from the fund in the step, USD.
    pub fund_drawn: Vec<f64>,
    /// Positions auto-deleveraged in the step.
    pub adl_events: Vec<u32>,
    /// The vault's position, USD at the mark (signed).
    pub vault_position: Vec<f64>,
    /// Deficits the vault absorbed so far, USD.
    pub vault_bad_debt_cum: Vec<f64>,
    /// Maintenance margin fraction in force.
    pub maintenance_margin: Vec<f64>,
}

/// `greeks.parquet` rows of one path: one per step and option agent
/// (hedgers, then option vaults).
#[derive(Debug, Clone, Default)]
pub struct GreekRows {
    /// Step.
    pub step: Vec<u32>,
    /// Agent index (hedgers first, then vaults).
    pub agent: Vec<u32>,
    /// Net delta after the step's hedge, units of the underlying.
    pub delta: Vec<f64>,
    /// Gamma.
    pub gamma: Vec<f64>,
    /// Vega (per unit of volatility).
    pub vega: Vec<f64>,
    /// Theta (per year).
    pub theta: Vec<f64>,
    /// Units of the underlying traded this step (+ bought).
    pub hedge_trade: Vec<f64>,
    /// Value now less value at step 0, USD.
    pub pnl: Vec<f64>,
    /// Vaults: depositors' equity, USD.
    pub equity: Vec<Option<f64>>,
    /// Vaults: premium received this step, USD.
    pub premium: Vec<Option<f64>>,
    /// Vaults: paid at settlement this step, USD.
    pub payout: Vec<Option<f64>>,
    /// Vaults: strike of the open options.
    pub strike: Vec<Option<f64>>,
}

/// `liquidations.parquet` rows of one path: one per executed liquidation.
#[derive(Debug, Clone, Default)]
pub struct LiquidationRows {
    /// Step.
    pub step: Vec<u32>,
    /// Round within the step.
    pub round: Vec<u32>,
    /// Protocol index.
    pub protocol: Vec<u32>,
    /// Position id.
    pub position: Vec<u64>,
    /// Liquidator index.
    pub liquidator: Vec<u32>,
    /// Seized collateral asset index.
    pub asset: Vec<u32>,
    /// Debt repaid, units of the debt asset.
    pub repaid: Vec<f64>,
    /// Debt repaid, USD at the oracle.
    pub repaid_value: Vec<f64>,
    /// Collateral seized, units.
    pub seized: Vec<f64>,
    /// Collateral seized, USD at the oracle.
    pub seized_value: Vec<f64>,
    /// Oracle price of the seized asset.
    pub oracle_price: Vec<f64>,
    /// Health factor at the round's start.
    pub health_factor: Vec<f64>,
    /// Gas paid, USD.
    pub gas: Vec<f64>,
    /// Bad debt written off by this liquidation, USD.
    pub bad_debt: Vec<f64>,
    /// USD the liquidator got for the seized units (pool sale or
    /// redemption; 0 when it kept them).
    pub proceeds_value: Vec<f64>,
    /// Part of `bad_debt` from receipt-token collateral (contagion).
    pub bad_debt_contagion: Vec<f64>,
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
    /// The summary row.
    pub summary: PathSummary,
}

impl PathRecord {
    /// Check every value this path will write: an `Err` names the table,
    /// column, path and step of the first NaN or infinity.
    pub fn check_finite(&self) -> Result<(), EngineError> {
        let path = self.summary.path;
        let m = &self.market;
        first_bad(
            "market.parquet",
            path,
            &m.step,
            [
                ("fundamental", col(&m.fundamental)),
                ("pool_price", opt(&m.pool_price)),
            ],
        )?;
        let r = &self.protocols;
        first_bad(
            "protocols.parquet",
            path,
            &r.step,
            [
                ("collateral_value", col(&r.collateral_value)),
                ("debt_value", col(&r.debt_value)),
                ("repaid_value", col(&r.repaid_value)),
                ("seized_value", col(&r.seized_value)),
                ("bad_debt", col(&r.bad_debt)),
                ("bad_debt_contagion", col(&r.bad_debt_contagion)),
                ("bad_debt_cum", col(&r.bad_debt_cum)),
                ("insolvent_debt", col(&r.insolvent_debt)),
                ("share_value", opt(&r.share_value)),
                ("cash_value", opt(&r.cash_value)),
                ("reserve_value", opt(&r.reserve_value)),
                ("socialised_cum", opt(&r.socialised_cum)),
                ("utilisation", opt(&r.utilisation)),
                ("borrow_rate", opt(&r.borrow_rate)),
                ("withdrawn_value", opt(&r.withdrawn_value)),
                ("deleveraged_value", opt(&r.deleveraged_value)),
            ],
        )?;
        let l = &self.liquidations;
        first_bad(
            "liquidations.parquet",
            path,
            &l.step,
            [
                ("repaid", col(&l.repaid)),
                ("repaid_value", col(&l.repaid_value)),
                ("seized", col(&l.seized)),
                ("seized_value", col(&l.seized_value)),
                ("oracle_price", col(&l.oracle_price)),
                ("health_factor", col(&l.health_factor)),
                ("gas", col(&l.gas)),
                ("bad_debt", col(&l.bad_debt)),
                ("proceeds_value", col(&l.proceeds_value)),
                ("bad_debt_contagion", col(&l.bad_debt_contagion)),
            ],
        )?;
        let p = &self.perps;
        first_bad(
            "perps.parquet",
            path,
            &p.step,
            [
                ("mark", col(&p.mark)),
                ("index", col(&p.index)),
                ("funding_rate", col(&p.funding_rate)),
                ("oi_long", col(&p.oi_long)),
                ("oi_short", col(&p.oi_short)),
                ("liquidated_notional", col(&p.liquidated_notional)),
                ("insurance_fund", col(&p.insurance_fund)),
                ("fund_drawn", col(&p.fund_drawn)),
                ("vault_position", col(&p.vault_position)),
                ("vault_bad_debt_cum", col(&p.vault_bad_debt_cum)),
                ("maintenance_margin", col(&p.maintenance_margin)),
            ],
        )?;
        let g = &self.greeks;
        first_bad(
            "greeks.parquet",
            path,
            &g.step,
            [
                ("delta", col(&g.delta)),
                ("gamma", col(&g.gamma)),
                ("vega", col(&g.vega)),
                ("theta", col(&g.theta)),
                ("hedge_trade", col(&g.hedge_trade)),
                ("pnl", col(&g.pnl)),
                ("equity", opt(&g.equity)),
                ("premium", opt(&g.premium)),
                ("payout", opt(&g.payout)),
                ("strike", opt(&g.strike)),
            ],
        )?;
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
