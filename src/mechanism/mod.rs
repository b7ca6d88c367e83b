//! The mechanisms, one folder (or file) each: its state on a path and the
//! phases of a step it takes part in (docs/model.md §1). They meet only in
//! the shared market (`crate::market::state::Market`) and through small
//! handles (a hedger's perp position). `engine::World` holds one of each
//! and runs them in order.

pub mod attack;
pub mod cdp;
pub mod exact;
pub mod governance;
pub mod lending;
pub mod options;
pub mod oracle;
pub mod perp;
pub mod systemic;
