//! Scenarios: the TOML file (`raw`), its checked, typed form (`validated`) and
//! the initial book of positions it describes (`book`).

pub mod book;
pub mod fields;
mod lending;
pub mod limits;
mod market;
pub mod options;
pub mod perps;
pub mod raw;
pub mod validated;

pub use book::Book;
pub use options::{HedgerSpec, OptionLine, VaultSpec};
pub use perps::{MarginModel, PerpBook, PerpSpec};
pub use raw::{OracleSource, RawScenario};
pub use validated::{
    Asset, CollateralParams, Deleverage, Emode, LenderSpec, LendingSpec, LiquidatorSpec, LpToken,
    Network, Oracle, Overrides, Peg, PoolSpec, RateModel, Scenario, SupplySpec,
};

/// The default scenario, embedded so the binary runs it from any folder.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/default.toml");
