//! The `contagion` command line. With no arguments it runs the embedded
//! default scenario into `output/default/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use contagion::scenario::DEFAULT_SCENARIO;
use contagion::{Overrides, RunError, Scenario, ScenarioError};

mod cli;
use cli::run::run;
use cli::sweep::{recommend, sweep};
use cli::validate::validate;

/// Simulate liquidation cascades across DeFi lending markets.
///
/// With no subcommand, runs the built-in default scenario (an ETH crash on an
/// Aave-like market) into output/default/.
#[derive(Parser, Debug)]
#[command(name = "contagion", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario and write its run folder (Parquet tables, summary.json,
    /// charts, manifest.json).
    ///
    /// The folder is built under a temporary name and renamed when complete;
    /// an existing folder is only replaced with --force.
    Run(RunArgs),
    /// Check a scenario file (and the snapshot files it names) without
    /// running it.
    ///
    /// Exits 0 and prints a one-line description when valid; exits 2 with a
    /// one-line error naming the field otherwise.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Also write the scenario's initial book (generated populations
        /// included) as a snapshot that `positions_file` reads back:
        /// Parquet for a `.parquet` name (the columns of book.parquet), CSV
        /// otherwise (id, protocol, asset, units, debt).
        #[arg(long, value_name = "FILE")]
        export_book: Option<PathBuf>,
        /// Replace an existing --export-book file.
        #[arg(long)]
        force: bool,
    },
    /// Run a parameter sweep: every run of the sweep file's design, written
    /// as one dataset: a folder per table, a folder per run (docs/sweeps.md).
    ///
    /// Rerunning the same command skips completed units. Under a Slurm
    /// array it runs only its task's shard (SLURM_ARRAY_TASK_ID, counted
    /// from SLURM_ARRAY_TASK_MIN, of SLURM_ARRAY_TASK_COUNT).
    Sweep(SweepArgs),
    /// Check a risk budget for every combination of a sweep's parameters in
    /// every listed sweep (one per scenario), and recommend the most
    /// permissive value of a parameter within it.
    ///
    /// Exits 0 when something is within budget, 1 when nothing is, 2 on bad
    /// input.
    Recommend(RecommendArgs),
    /// Print the JSON Schema of scenario files (or of sweep files), for
    /// editors and validators. The repository keeps a copy in schema/.
    Schema {
        /// Which file's schema.
        #[arg(value_enum, default_value = "scenario")]
        kind: SchemaFile,
    },
}

/// `contagion schema`'s argument.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum SchemaFile {
    /// Scenario files.
    Scenario,
    /// Sweep files.
    Sweep,
}

#[derive(Args, Debug)]
struct SweepArgs {
    /// Sweep file (TOML).
    sweep: PathBuf,
    /// Sweep folder (default: output/sweeps/<sweep name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads per process (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the run table (run id and parameter values) and exit.
    #[arg(long)]
    list: bool,
    /// Run only shard I of N (I counts from 0): unit k belongs to shard k mod N.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Write runs.parquet and the sweep charts from the completed units.
    #[arg(long)]
    merge: bool,
    /// Write Slurm scripts for this sweep into <out> and exit: sweep.sbatch
    /// (the array), merge.sbatch (the merge) and submit.sh, which submits
    /// the array and then the merge with --dependency=afterok on it.
    #[arg(long)]
    emit_slurm: bool,
    /// Array tasks for --emit-slurm (default: one per unit, at most 100).
    #[arg(long)]
    shards: Option<u32>,
    /// With --emit-slurm: wall-clock limit of each job (#SBATCH --time).
    #[arg(long, value_name = "LIMIT")]
    time: Option<String>,
    /// With --emit-slurm: memory of each job (#SBATCH --mem), e.g. 8G.
    #[arg(long, value_name = "SIZE")]
    mem: Option<String>,
    /// With --emit-slurm: partition (#SBATCH --partition).
    #[arg(long)]
    partition: Option<String>,
    /// With --emit-slurm: account charged (#SBATCH --account).
    #[arg(long)]
    account: Option<String>,
    /// Replace a folder that holds a different sweep (only what that sweep
    /// wrote is removed; a folder that holds no sweep is never touched).
    #[arg(long)]
    force: bool,
    /// No progress bar and no summary on stdout.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct RecommendArgs {
    /// Sweep folders (each with runs.parquet), one per scenario.
    #[arg(required = true)]
    sweeps: Vec<PathBuf>,
    /// Column of runs.parquet the budget applies to.
    #[arg(long, default_value = "bad_debt_var99")]
    metric: String,
    /// Budget as a share of the run's initial debt (0.01 = 1%).
    #[arg(long)]
    max_share_of_debt: Option<f64>,
    /// Budget in USD.
    #[arg(long)]
    max_usd: Option<f64>,
    /// The parameter to recommend a value of, at each setting of the other
    /// parameters (default: the first, when the sweep has one dimension;
    /// otherwise the combinations within budget are listed).
    #[arg(long)]
    field: Option<String>,
    /// Which way is more permissive: `high` (a threshold, a cap) or `low`.
    #[arg(long, default_value = "high")]
    permissive: String,
}

#[derive(Args, Debug, Default)]
struct RunArgs {
    /// Scenario file (TOML); the built-in default scenario when omitted.
    scenario: Option<PathBuf>,
    /// Number of Monte Carlo paths (overrides simulation.paths).
    #[arg(long)]
    paths: Option<u32>,
    /// Master seed (overrides simulation.seed; also redraws generated books).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Run folder (default: output/<scenario name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the run folder if it exists.
    #[arg(long)]
    force: bool,
    /// No progress bar and no summary on stdout.
    #[arg(long, short)]
    quiet: bool,
    /// Find liquidatable positions by scanning the whole book every round
    /// instead of through the liquidation index (a reference for checking;
    /// the results are identical, only slower).
    #[arg(long, hide = true)]
    full_scan: bool,
    /// Counterfactual attribution: rerun the same paths in a world where
    /// PROTOCOL does not accept ASSET as collateral (its positions holding it
    /// never existed), and write attribution.parquet with the per-path
    /// difference. Repeat to cut several links at once.
    #[arg(long, value_name = "PROTOCOL:ASSET")]
    cut: Vec<String>,
}

fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Scenario, ScenarioError> {
    match path {
        Some(p) => Scenario::load(p, overrides),
        None => Scenario::from_toml(
            DEFAULT_SCENARIO,
            "default.toml (built in)",
            Path::new("."),
            overrides,
        ),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C, SIGTERM and SIGHUP remove the unfinished run folder or sweep
    // files before exiting (src/output/run_folder.rs).
    if let Err(e) = contagion::output::run_folder::install_signal_cleanup() {
        eprintln!("contagion: warning: {e}; an interrupted run may leave its temporary folder");
    }
    let ok = |r: Result<(), RunError>| r.map(|()| ExitCode::SUCCESS);
    let result = match cli.command {
        None => ok(run(RunArgs::default())),
        Some(Command::Run(args)) => ok(run(args)),
        Some(Command::Validate {
            scenario,
            export_book,
            force,
        }) => ok(validate(&scenario, export_book.as_deref(), force)),
        Some(Command::Sweep(args)) => ok(sweep(args)),
        Some(Command::Recommend(args)) => recommend(args),
        Some(Command::Schema { kind }) => {
            use contagion::scenario::schema::{SchemaKind, schema_json};
            print!(
                "{}",
                schema_json(match kind {
                    SchemaFile::Scenario => SchemaKind::Scenario,
                    SchemaFile::Sweep => SchemaKind::Sweep,
                })
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    contagion::output::run_folder::wait_if_signalled();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("contagion: error: {e}");
            ExitCode::from(if e.is_input_error() { 2 } else { 1 })
        }
    }
}
