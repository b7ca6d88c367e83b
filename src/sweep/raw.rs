//! The sweep file as written: `[sweep]` and `[[axes]]` (serde structs
//! mirroring the TOML; checked in `spec.rs`).

use serde::{Deserialize, Serialize};

/// How runs are chosen.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Every combination of the axes' values (zipped axes move together).
    #[default]
    Grid,
    /// `count` independent uniform draws.
    Random,
    /// `count` runs, one in each of `count` equal slices of every axis.
    LatinHypercube,
}

/// Whether runs share the base scenario's book.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BookMode {
    /// The base scenario's positions (units and debt) in every run, under
    /// each run's risk parameters: the same borrowers under different rules.
    #[default]
    Base,
    /// Each run builds its own book from its own scenario.
    PerRun,
}

/// `[sweep]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// Name; also the default output folder (`output/sweeps/<name>`).
    pub name: String,
    /// Base scenario, relative to the sweep file.
    pub scenario: String,
    /// Design.
    #[serde(default)]
    pub design: Design,
    /// Runs of a random or Latin hypercube design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Seed of the design's draws (not of the paths).
    #[serde(default)]
    pub design_seed: u64,
    /// Paths per run (default: the base scenario's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<u32>,
    /// Master seed of every run (default: the base scenario's). Every run
    /// uses it: common random numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Paths per run with full time series (default 10).
    #[serde(default = "default_record_paths")]
    pub record_paths: u32,
    /// Paths per unit of work (default: all of a run's paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths_per_unit: Option<u32>,
    /// Shared or per-run book.
    #[serde(default)]
    pub book: BookMode,
    /// A risk budget as a share of each run's initial debt (0.01 = 1%):
    /// the sweep charts draw it beside VaR99, the figure `recommend` holds
    /// against such a budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_share_of_debt: Option<f64>,
}

fn default_record_paths() -> u32 {
    10
}

/// `[[axes]]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAxis {
    /// Dotted path of a scenario field, as error messages name it.
    pub field: String,
    /// Explicit values (grid; random and LHS pick among them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    pub values: Option<Vec<toml::Value>>,
    /// Lower bound (random, LHS, or a grid with `steps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Grid points between min and max, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u32>,
    /// Axes with the same `zip` name move together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
}

/// A whole sweep file.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSweepFile {
    /// `[sweep]`.
    pub sweep: RawSweep,
    /// `[[axes]]`.
    #[serde(default)]
    pub axes: Vec<RawAxis>,
}
