//! Protocols. Lending markets first (docs/model.md §5); CDPs, perps and option
//! vaults follow.

pub mod lending;
pub mod option_vault;
pub mod perp;
