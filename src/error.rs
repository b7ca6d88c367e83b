//! Typed errors, one enum per area. Every message is a single line that names
//! the offending field or file, so the CLI can print it as is.

use std::path::PathBuf;

/// A scenario that cannot be read, parsed or validated.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The scenario file (or a file it names) could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file as the user named it.
        file: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key, or a value of the wrong type.
    #[error("{file}:{line}: {message}")]
    Parse {
        /// The scenario file.
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// What the parser said, on one line.
        message: String,
    },
    /// A value is out of range or inconsistent with the rest of the scenario.
    #[error("{}{field}: {problem}", file_prefix(file))]
    Invalid {
        /// The scenario file.
        file: String,
        /// Dotted path of the field, e.g. `protocols.lend.collateral.ETH.max_ltv`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// `file: `, or nothing for errors that concern no file (flags).
fn file_prefix(file: &str) -> String {
    if file.is_empty() {
        String::new()
    } else {
        format!("{file}: ")
    }
}

impl ScenarioError {
    /// An invalid field; the file label is attached by the loader.
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ScenarioError::Invalid {
            file: String::new(),
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// Attach the scenario file's label to an error made without it.
    pub fn in_file(self, label: &str) -> Self {
        match self {
            ScenarioError::Invalid {
                file,
                field,
                problem,
            } if file.is_empty() => ScenarioError::Invalid {
                file: label.to_string(),
                field,
                problem,
            },
            other => other,
        }
    }

    /// The field an `Invalid` error names (for tests and tooling).
    pub fn field(&self) -> Option<&str> {
        match self {
            ScenarioError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A failure while a path is being simulated.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A price or reserve became NaN, infinite or non-positive: the step is
    /// quarantined and the run stops rather than write a meaningless number.
    #[error("path {path}, step {step}: {what} is {value} (not a finite positive number)")]
    NonFinite {
        /// Path index.
        path: u32,
        /// Step index.
        step: u32,
        /// Which quantity, e.g. `fundamental price of ETH`.
        what: String,
        /// The offending value.
        value: f64,
    },
    /// A value about to be written is NaN or infinite: the run stops rather
    /// than write it (docs/model.md §8: nothing non-finite is ever written).
    #[error("{table}, column {column}, {at}: {value} is not a finite number; nothing was written")]
    NonFiniteOutput {
        /// The table, e.g. `protocols.parquet`.
        table: &'static str,
        /// The column.
        column: String,
        /// Where: `path 3, step 12`, or `path 3`, or a node's name.
        at: String,
        /// The offending value.
        value: f64,
    },
    /// A recorded path's liquidation rows could not be moved to disk
    /// (`output::spill`).
    #[error("{0}")]
    Spill(OutputError),
    /// A path's own scenario (a family whose book is drawn per path) is
    /// invalid.
    #[error("path {path}: {source}")]
    PathScenario {
        /// Path index.
        path: u32,
        /// What is wrong with it.
        source: Box<ScenarioError>,
    },
}

/// A failure while writing a run folder.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The run folder exists and `--force` was not given.
    #[error("{0}: already exists; pass --force to replace it, or --out to write elsewhere")]
    Exists(PathBuf),
    /// The run folder's path names something that is not a folder (a file):
    /// it is never replaced, even with `--force`.
    #[error("{0}: exists and is not a folder; --out must name a folder (new or a previous run's)")]
    NotAFolder(PathBuf),
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// Polars failed to build or write a table.
    #[error("{path}: writing Parquet failed: {message}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// Polars' message.
        message: String,
    },
    /// A chart could not be drawn.
    #[error("{path}: drawing the chart failed: {message}")]
    Chart {
        /// The chart file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl OutputError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OutputError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Anything a run can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad input.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The simulation itself failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Writing the results failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The worker thread pool could not be built.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
    /// The thread writing the recorded paths stopped before the simulation
    /// ended (its own error is reported instead; this one is never shown).
    #[error("the output writer stopped")]
    WriterStopped,
}

impl RunError {
    /// Whether this error comes from the user's input (exit code 2) rather
    /// than from the run (exit code 1).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            RunError::Scenario(_)
                | RunError::Output(OutputError::Exists(_) | OutputError::NotAFolder(_))
        )
    }
}
