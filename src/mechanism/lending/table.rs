//! The lending tables, `protocols.parquet` and `liquidations.parquet`,
//! declared once (`output::table`).

crate::step_table! {
    /// `protocols.parquet` rows of one path.
    pub struct ProtocolRows in "protocols" of protocols, written if |_| true => {
        /// Step.
        "step" step: u32 as index,
        /// Protocol name.
        "protocol" protocol: u32 as name(protocols),
        /// Σ_a p_a·U_a: each collateral asset's oracle price times the units
        /// the protocol's positions hold (summed exactly, model §8).
        "collateral_value" collateral_value: f64 as value,
        /// Σ d·p_d: the scaled debt (summed exactly) × debt index × p_d.
        "debt_value" debt_value: f64 as value,
        /// Liquidations executed in the step.
        "liquidations" liquidations: u32 as count,
        /// USD repaid by liquidators in the step.
        "repaid_value" repaid_value: f64 as value,
        /// USD of collateral seized in the step (at oracle prices).
        "seized_value" seized_value: f64 as value,
        /// Bad debt written off in the step.
        "bad_debt" bad_debt: f64 as value,
        /// Part of `bad_debt` from receipt-token collateral (contagion).
        "bad_debt_contagion" bad_debt_contagion: f64 as value,
        /// Bad debt written off up to and including the step.
        "bad_debt_cum" bad_debt_cum: f64 as value,
        /// Σ max(0, d·p_d − Σ c·p) over open positions at the end of the step.
        "insolvent_debt" insolvent_debt: f64 as value,
        /// Rounds of the step's cascade that executed a liquidation.
        "cascade_rounds" cascade_rounds: u32 as count,
        /// Whether the cascade was stopped by `max_cascade_rounds`.
        "cascade_capped" cascade_capped: bool as flag,
        /// Supply side: share value (units of the debt asset per receipt token).
        "share_value" share_value: Option<f64> as maybe,
        /// Supply side: cash, USD.
        "cash_value" cash_value: Option<f64> as maybe,
        /// Supply side: reserve fund, USD.
        "reserve_value" reserve_value: Option<f64> as maybe,
        /// Supply side: bad debt borne by suppliers so far, USD.
        "socialised_cum" socialised_cum: Option<f64> as maybe,
        /// Supply side: borrowed ÷ (borrowed + cash) at the end of the step.
        "utilisation" utilisation: Option<f64> as maybe,
        /// With a rate model: the annual borrow rate applied in the step.
        "borrow_rate" borrow_rate: Option<f64> as maybe,
        /// Supply side: USD lenders withdrew in the step (runs).
        "withdrawn_value" withdrawn_value: Option<f64> as maybe,
        /// With `deleverage`: debt repaid by deleveraging borrowers, USD.
        "deleveraged_value" deleveraged_value: Option<f64> as maybe,
    }
}

crate::step_table! {
    /// `liquidations.parquet` rows of one path: one per executed liquidation.
    pub struct LiquidationRows in "liquidations" of liquidations, written if |_| true => {
        /// Step.
        "step" step: u32 as index,
        /// Round within the step.
        "round" round: u32 as index,
        /// Protocol name.
        "protocol" protocol: u32 as name(protocols),
        /// Position id (as in `book.parquet`).
        "position" position: u64 as index,
        /// Liquidator name.
        "liquidator" liquidator: u32 as name(liquidators),
        /// Seized collateral asset symbol.
        "asset" asset: u32 as name(assets),
        /// Debt repaid, units of the debt asset.
        "repaid" repaid: f64 as value,
        /// Debt repaid, USD at the oracle.
        "repaid_value" repaid_value: f64 as value,
        /// Collateral seized, units.
        "seized" seized: f64 as value,
        /// Collateral seized, USD at the oracle.
        "seized_value" seized_value: f64 as value,
        /// Oracle price of the seized asset.
        "oracle_price" oracle_price: f64 as value,
        /// Health factor at the round's start.
        "health_factor" health_factor: f64 as value,
        /// Gas paid, USD.
        "gas" gas: f64 as value,
        /// Bad debt written off by this liquidation, USD.
        "bad_debt" bad_debt: f64 as value,
        /// USD the liquidator got for the seized units (pool sale or
        /// redemption; 0 when it kept them).
        "proceeds_value" proceeds_value: f64 as value,
        /// Part of `bad_debt` from receipt-token collateral (contagion).
        "bad_debt_contagion" bad_debt_contagion: f64 as value,
        /// Whether a parameter change caused it: the position was at or
        /// above health factor 1 under the scenario's own thresholds
        /// (docs/model.md §18).
        "by_change" by_change: bool as flag,
    }
}
