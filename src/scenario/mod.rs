//! Scenarios: the TOML file (`raw`), its checked, typed form (`validated`) and
//! the initial book of positions it describes (`book`).

pub mod check;
pub mod family;
pub mod fields;
pub mod limits;
pub mod population;
pub mod raw;
pub mod schema;
pub mod snapshot;
pub mod validated;

pub use crate::market::spec::{Asset, LpToken, Peg, PoolSpec};
pub use crate::mechanism::lending::book::{Book, Terms, Unhealthy};
pub use crate::mechanism::lending::spec::{
    CollateralParams, Deleverage, Emode, LenderSpec, LendingSpec, LiquidatorSpec, Network, Oracle,
    RateModel, SupplySpec,
};
pub use crate::mechanism::options::spec::{HedgerSpec, OptionLine, VaultSpec};
pub use crate::mechanism::perp::spec::{MarginModel, PerpBook, PerpSpec};
pub use raw::{OracleSource, RawScenario};
pub use validated::{Overrides, Scenario};

/// The default scenario, embedded so the binary runs it from any folder.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/default.toml");
