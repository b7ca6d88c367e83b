//! The collateral graph and its contagion metrics (docs/model.md §9):
//! Eisenberg–Noe clearing of inter-protocol liabilities (`clearing`) and
//! DebtRank (`debtrank`), and both applied to a scenario's protocols
//! (`systemic`).

pub mod chart;
pub mod clearing;
pub mod collateral;
pub mod debtrank;
pub mod systemic;
