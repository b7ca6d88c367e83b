//! `greeks.parquet`, declared once (`output::table`).

crate::step_table! {
    /// `greeks.parquet` rows of one path: one per step and option agent
    /// (hedgers, then option vaults).
    pub struct GreekRows in "greeks" of greeks, written if |sc| !sc.hedgers.is_empty() || !sc.option_vaults.is_empty() => {
        /// Step.
        "step" step: u32 as index,
        /// Hedger or option vault name.
        "agent" agent: u32 as name(option_agents),
        /// `hedger` or `vault`.
        "kind" kind: u32 as name(option_kinds),
        /// Net delta after the step's hedge, units of the underlying.
        "delta" delta: f64 as value,
        /// Gamma.
        "gamma" gamma: f64 as value,
        /// Vega (per unit of volatility).
        "vega" vega: f64 as value,
        /// Theta (per year).
        "theta" theta: f64 as value,
        /// Units of the underlying traded this step (+ bought).
        "hedge_trade" hedge_trade: f64 as value,
        /// Value now less value at step 0, USD.
        "pnl" pnl: f64 as value,
        /// Vaults: depositors' equity, USD.
        "equity" equity: Option<f64> as maybe,
        /// Vaults: premium received this step, USD.
        "premium" premium: Option<f64> as maybe,
        /// Vaults: paid at settlement this step, USD.
        "payout" payout: Option<f64> as maybe,
        /// Vaults: strike of the open options.
        "strike" strike: Option<f64> as maybe,
    }
}
