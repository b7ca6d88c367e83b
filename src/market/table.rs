//! `market.parquet`, declared once (`output::table`).

crate::step_table! {
    /// `market.parquet` rows of one path.
    pub struct MarketRows in "market" of market, written if |_| true => {
        /// Step.
        "step" step: u32 as index,
        /// Asset symbol.
        "asset" asset: u32 as name(assets),
        /// Fundamental price, USD.
        "fundamental" fundamental: f64 as value,
        /// Pool spot price, USD (null without a pool).
        "pool_price" pool_price: Option<f64> as maybe,
    }
}
