//! Integration tests: one binary, one module per concern. They run the
//! `contagion` binary or the library on small scenarios and read the Parquet
//! back with polars.

mod architecture;
mod attack;
mod bad_input;
mod cdp;
mod cdp_vaults;
mod cli;
mod common;
mod contagion;
mod contract;
mod defaults;
mod determinism;
mod governance;
mod governance_actors;
mod governance_caused;
mod governance_independent;
mod governance_oracles;
mod governance_scenario;
mod graph;
mod hand_cascade;
mod hostile;
mod index;
mod interest;
mod mechanisms;
mod metamorphic;
mod options;
mod oracle;
mod oracle_crosscheck;
mod oracle_reference;
mod perp_index;
mod perps;
mod properties;
mod raid;
mod report;
mod rules;
mod runs;
mod scenario_claims;
mod schema;
mod seeding;
mod spill;
mod statistics;
mod sweeps;
mod systemic;
mod trust;
mod venues;
