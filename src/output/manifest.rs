//! The run manifest (docs/model.md §8): what ran, with which inputs, when.

use serde::Serialize;

use crate::scenario::validated::Scenario;

/// The git commit of this build (`build.rs`).
pub const GIT_COMMIT: &str = env!("CONTAGION_GIT_COMMIT");

/// `manifest.json`, also embedded in every Parquet file.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Always `contagion`.
    pub tool: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// The git commit the binary was built from (`-dirty` with local
    /// changes, `unknown` outside a git checkout).
    pub git_commit: &'static str,
    /// Scenario name.
    pub scenario_name: String,
    /// Master seed.
    pub seed: u64,
    /// Paths run.
    pub paths: u32,
    /// Steps per path.
    pub steps: u32,
    /// Positions in the initial book.
    pub positions: usize,
    /// Paths that kept full time series.
    pub record_paths: u32,
    /// Start of the run, RFC 3339 (`SOURCE_DATE_EPOCH` overrides the clock,
    /// for byte-reproducible files).
    pub created_at: String,
    /// Wall-clock seconds of the whole run (in `manifest.json` only: the
    /// Parquet files are written before it is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_seconds: Option<f64>,
    /// The scenario with defaults and command-line overrides applied.
    pub scenario: serde_json::Value,
    /// Links cut for counterfactual attribution (`--cut`), if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cuts: Vec<String>,
}

impl Manifest {
    /// The manifest of a run of `sc` starting now.
    pub fn new(sc: &Scenario) -> Self {
        let now = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s))
            .unwrap_or_else(std::time::SystemTime::now);
        Manifest {
            tool: "contagion",
            version: env!("CARGO_PKG_VERSION"),
            git_commit: GIT_COMMIT,
            scenario_name: sc.name.clone(),
            seed: sc.seed,
            paths: sc.paths,
            steps: sc.steps,
            positions: sc.book.len(),
            record_paths: sc.record_paths,
            created_at: humantime::format_rfc3339_seconds(now).to_string(),
            wall_seconds: None,
            scenario: serde_json::to_value(&sc.resolved).expect("a scenario serialises to JSON"),
            cuts: Vec::new(),
        }
    }

    /// Compact JSON, for Parquet metadata.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a manifest serialises to JSON")
    }
}
