//! The CDP tables `cdp.parquet` (per step) and `auctions.parquet` (per
//! auction), declared once (`output::table`); `path_table.rs` has the per
//! path one.

use crate::scenario::validated::Scenario;

crate::step_table! {
    /// `cdp.parquet` rows of one path: one per CDP and recorded step.
    pub struct CdpRows in "cdp" of cdp, written if |sc| !sc.cdps.is_empty() => {
        /// Step.
        "step" step: u32 as index,
        /// CDP name.
        "cdp" cdp: u32 as name(cdps),
        /// Vaults' debt, stablecoin (normalised debt × rate index).
        "debt" debt: f64 as value,
        /// Stablecoin in circulation: vaults' debt plus `unbacked`.
        "supply" supply: f64 as value,
        /// Surplus buffer, stablecoin.
        "surplus" surplus: f64 as value,
        /// Confiscated debt not yet cancelled by surplus or debt auctions.
        "unbacked" unbacked: f64 as value,
        /// max(0, unbacked − surplus).
        "deficit" deficit: f64 as value,
        /// Governance tokens minted by debt auctions so far.
        "gov_minted" gov_minted: f64 as value,
        /// Collateral left in vaults, USD at the CDP's oracle.
        "collateral_value" collateral_value: f64 as value,
        /// The stablecoin's price, USD (its main venue, else fundamental).
        "stablecoin_price" stablecoin_price: f64 as value,
        /// Auctions running at the end of the step.
        "auctions_live" auctions_live: u32 as count,
        /// Auctions started in the step.
        "kicks" kicks: u32 as count,
        /// Bids and takes in the step.
        "bids" bids: u32 as count,
        /// English auctions settled in the step.
        "settled" settled: u32 as count,
        /// Stablecoin the auctions raised in the step.
        "raised" raised: f64 as value,
        /// Σ max(0, debt confiscated − raised) over auctions finished so far.
        "shortfall_cum" shortfall_cum: f64 as value,
        /// Gem held by the peg stability module (= stablecoin minted
        /// against it; 0 without one).
        "psm_gem" psm_gem: f64 as value,
        /// Gem into the module in the step (negative: out of it).
        "psm_flow" psm_flow: f64 as value,
        /// Stablecoin vault owners bought and repaid in the step.
        "repaid" repaid: f64 as value,
    }
}

crate::step_table! {
    /// `auctions.parquet` rows of one path: one per auction, at the step it
    /// finished (or the last step, if it was still running).
    pub struct AuctionRows in "auctions" of auctions, written if |sc| !sc.cdps.is_empty() => {
        /// Step it finished (the last step if `finished` is false).
        "step" step: u32 as index,
        /// CDP name.
        "cdp" cdp: u32 as name(cdps),
        /// Auction number within the path and CDP, from 0.
        "auction" auction: u32 as index,
        /// Vault number within the CDP (explicit vaults, then `vaults_file`'s
        /// rows, then populations').
        "vault" vault: u32 as index,
        /// Collateral asset.
        "collateral" collateral: u32 as name(assets),
        /// Step it started.
        "start_step" start_step: u32 as index,
        /// Whether it finished within the run.
        "finished" finished: bool as flag,
        /// Collateral units at the start.
        "lot" lot: f64 as value,
        /// Stablecoin it had to raise (debt × (1 + penalty)).
        "tab" tab: f64 as value,
        /// Debt confiscated, stablecoin.
        "debt" debt: f64 as value,
        /// Stablecoin raised.
        "raised" raised: f64 as value,
        /// Units that went to keepers.
        "sold" sold: f64 as value,
        /// Units that went back to the vault.
        "returned" returned: f64 as value,
        /// Bids (English) or takes (Dutch).
        "bids" bids: u32 as count,
        /// Restarts (English `tick`, Dutch `redo`).
        "resets" resets: u32 as count,
        /// raised ÷ sold ÷ the oracle's price at the end (null: nothing sold).
        "price_to_oracle" price_to_oracle: Option<f64> as maybe,
        /// Raised below a millionth of the tab.
        "zero_bid" zero_bid: bool as flag,
        /// max(0, debt − raised), stablecoin.
        "shortfall" shortfall: f64 as value,
        /// Keeper of the last bid or take (empty: none).
        "keeper" keeper: u32 as name(keepers),
        /// Whether a parameter change caused it: the vault was safe under
        /// the scenario's own liquidation ratio when it was sent to auction.
        "by_change" by_change: bool as flag,
    }
}

/// A keeper's index in `Names::keepers`: every CDP's keepers in order,
/// then one empty name for "none".
pub fn keeper_index(sc: &Scenario, c: usize, k: Option<usize>) -> u32 {
    let before: usize = sc.cdps[..c].iter().map(|x| x.keepers.len()).sum();
    match k {
        Some(k) => (before + k) as u32,
        None => sc.cdps.iter().map(|x| x.keepers.len()).sum::<usize>() as u32,
    }
}

/// `Names::keepers` of a scenario (see `keeper_index`).
pub fn keeper_names(sc: &Scenario) -> Vec<String> {
    sc.cdps
        .iter()
        .flat_map(|c| c.keepers.iter().map(|k| k.name.clone()))
        .chain(std::iter::once(String::new()))
        .collect()
}
