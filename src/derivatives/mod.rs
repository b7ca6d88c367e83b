//! The derivatives layer (docs/model.md §14): Black–Scholes prices and
//! Greeks on a crypto calendar, a volatility surface, and the option books
//! of hedgers.

pub mod black_scholes;
pub mod surface;

pub use black_scholes::{Greeks, Kind, greeks, payoff, price};
pub use surface::VolSurface;
