//! `perps.parquet`, declared once (`output::table`).

crate::step_table! {
    /// `perps.parquet` rows of one path: one per step and market.
    pub struct PerpRows in "perps" of perps, written if |sc| !sc.perps.is_empty() => {
        /// Step.
        "step" step: u32 as index,
        /// Perp market name.
        "market" perp: u32 as name(perps),
        /// Mark price (the pool's), USD.
        "mark" mark: f64 as value,
        /// Index price (the lagged fundamental), USD.
        "index" index: f64 as value,
        /// Funding rate applied in the step (fraction of notional, longs pay).
        "funding_rate" funding_rate: f64 as value,
        /// Long open interest, USD at the mark.
        "oi_long" oi_long: f64 as value,
        /// Short open interest, USD at the mark.
        "oi_short" oi_short: f64 as value,
        /// Liquidations in the step.
        "liquidations" liquidations: u32 as count,
        /// Notional liquidated in the step, USD.
        "liquidated_notional" liquidated_notional: f64 as value,
        /// Insurance fund at the end of the step, USD.
        "insurance_fund" insurance_fund: f64 as value,
        /// Drawn from the fund in the step, USD.
        "fund_drawn" fund_drawn: f64 as value,
        /// Positions auto-deleveraged in the step.
        "adl_events" adl_events: u32 as count,
        /// The vault's position, USD at the mark (signed).
        "vault_position" vault_position: f64 as value,
        /// Deficits the vault absorbed so far, USD.
        "vault_bad_debt_cum" vault_bad_debt_cum: f64 as value,
        /// Maintenance margin fraction in force.
        "maintenance_margin" maintenance_margin: f64 as value,
    }
}
