//! The `contagion` command line. With no arguments it runs the embedded
//! default scenario into `output/default/`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use contagion::engine::CandidateSearch;
use contagion::scenario::DEFAULT_SCENARIO;
use contagion::{Overrides, RunError, RunOptions, Scenario, ScenarioError};

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
    /// Check a scenario file (and its positions_file) without running it.
    ///
    /// Exits 0 and prints a one-line description when valid; exits 2 with a
    /// one-line error naming the field otherwise.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
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

fn run(args: RunArgs) -> Result<(), RunError> {
    if args.threads == Some(0) {
        return Err(ScenarioError::invalid("--threads", "must be at least 1").into());
    }
    if args.paths == Some(0) {
        return Err(ScenarioError::invalid("--paths", "must be at least 1").into());
    }
    let overrides = Overrides {
        paths: args.paths,
        seed: args.seed,
    };
    let mut cuts = Vec::new();
    for c in &args.cut {
        match c.split_once(':') {
            Some((p, a)) if !p.is_empty() && !a.is_empty() => {
                cuts.push((p.to_string(), a.to_string()))
            }
            _ => {
                return Err(ScenarioError::invalid(
                    "--cut",
                    format!("`{c}` is not PROTOCOL:ASSET"),
                )
                .into());
            }
        }
    }
    let sc = load(args.scenario.as_deref(), &overrides)?;
    let out = args
        .out
        .unwrap_or_else(|| Path::new("output").join(&sc.name));
    let opts = RunOptions {
        out,
        force: args.force,
        threads: args.threads,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        search: if args.full_scan {
            CandidateSearch::FullScan
        } else {
            CandidateSearch::Indexed
        },
        cuts,
    };
    let report = contagion::run(&sc, &opts)?;
    if !args.quiet {
        let s = &report.summary;
        println!(
            "{}: {} paths × {} steps, {} positions in {:.1} s → {}",
            sc.name,
            s.paths,
            s.steps,
            s.positions,
            report.wall_seconds,
            report.out.display()
        );
        println!(
            "bad debt: mean {:.0} USD, VaR95 {:.0}, VaR99 {:.0}, P(>0) {:.1}%; insolvent debt VaR95 {:.0}; liquidated value LaR95 {:.0}",
            s.bad_debt.mean,
            s.bad_debt.var95,
            s.bad_debt.var99,
            100.0 * s.bad_debt.prob_positive,
            s.headline.var95_insolvent_debt,
            s.headline.lar95_liquidated_value
        );
        if let Some(a) = &s.attribution {
            for p in &a.protocols {
                println!(
                    "{}: mean bad debt {:.0} USD as run, {:.0} with {} cut: {:.0} came through it; liquidated value {:.0} via it",
                    p.protocol,
                    p.bad_debt,
                    p.bad_debt_cut,
                    a.cuts.join(", "),
                    p.bad_debt_via_links,
                    p.liquidated_value_via_links
                );
            }
        }
    }
    Ok(())
}

fn validate(path: &Path) -> Result<(), RunError> {
    let sc = Scenario::load(path, &Overrides::default())?;
    println!(
        "{}: valid — scenario `{}`, {} assets, {} pools, {} protocols, {} positions, {} liquidators, {} steps × {} paths",
        path.display(),
        sc.name,
        sc.assets.len(),
        sc.pools.len(),
        sc.protocols.len(),
        sc.book.len(),
        sc.liquidators.len(),
        sc.steps,
        sc.paths
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => run(RunArgs::default()),
        Some(Command::Run(args)) => run(args),
        Some(Command::Validate { scenario }) => validate(&scenario),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("contagion: error: {e}");
            ExitCode::from(if e.is_input_error() { 2 } else { 1 })
        }
    }
}
