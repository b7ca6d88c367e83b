//! `oracles.parquet`: each push feed at the end of every recorded step.

crate::step_table! {
    /// One row per recorded step, protocol with a push feed, and asset: the
    /// answer on chain against its source.
    pub struct OracleRows in "oracles" of oracles, written if |sc| sc.protocols.iter().any(|p| p.oracle.has_state()) => {
        /// Step.
        "step" step: u32 as index,
        /// Protocol name.
        "protocol" protocol: u32 as name(protocols),
        /// Asset symbol.
        "asset" asset: u32 as name(assets),
        /// The feed's answer on chain, USD.
        "oracle_price" oracle_price: f64 as value,
        /// What the feed observed at its last read (its source, lagged as
        /// configured), USD.
        "source_price" source_price: f64 as value,
        /// Hours since the answer was last updated.
        "staleness_hours" staleness_hours: f64 as value,
        /// Whether a read during this step updated it.
        "updated" updated: bool as flag,
        /// Whether the protocol's guard paused liquidations at the step's
        /// last read.
        "liquidations_paused" liquidations_paused: bool as flag,
    }
}
