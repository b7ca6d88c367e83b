//! Markets: price processes and their correlation (§2), constant-product
//! pools (§3) and the oracle price history (§4).

pub mod bridge;
pub mod charts;
mod exponential;
pub mod oracle;
pub mod pool;
pub mod pool_spec;
pub mod process;
pub mod raw;
pub mod source;
pub mod spec;
pub mod state;
pub mod table;

pub use table::MarketRows;

pub use oracle::PriceHistory;
pub use pool::Pool;
pub use process::{Process, cholesky_psd};
