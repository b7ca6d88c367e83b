//! Agents. Liquidators first; borrowers, hedgers, LPs, arbitrageurs,
//! attackers and governance follow.

pub mod hedger;
pub mod liquidator;
