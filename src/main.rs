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
    if let Some(line) = unhealthy_line(&sc)
        && !args.quiet
    {
        eprintln!("{line}");
    }
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
        if !s.protocols.is_empty() {
            println!(
                "bad debt: mean {:.0} USD, VaR95 {:.0}, VaR99 {:.0}, P(>0) {:.1}%; insolvent debt VaR95 {:.0}; liquidated value LaR95 {:.0}",
                s.bad_debt.mean,
                s.bad_debt.var95,
                s.bad_debt.var99,
                100.0 * s.bad_debt.prob_positive,
                s.headline.var95_insolvent_debt,
                s.headline.lar95_liquidated_value
            );
        }
        if !s.protocols.is_empty() {
            let c = &s.tail_ci.bad_debt;
            println!(
                "  bad debt VaR99 95% interval {:.0}–{:.0}, ES99 {:.0}–{:.0} (bootstrap; the 1% tail is {} paths)",
                c.var.lo, c.var.hi, c.es.lo, c.es.hi, c.tail_paths
            );
            if s.tail_ci.thin() {
                eprintln!(
                    "contagion: warning: VaR99 and ES99 rest on {} paths; run at least {} paths for a tail of {}",
                    c.tail_paths,
                    100 * contagion::montecarlo::bootstrap::MIN_TAIL_PATHS,
                    contagion::montecarlo::bootstrap::MIN_TAIL_PATHS
                );
            }
        }
        if s.protocols.len() > 1 {
            for p in &s.protocols {
                println!(
                    "  {}: bad debt mean {:.0} USD, VaR99 {:.0} ({:.3}% of its {:.0} USD of debt); liquidated value mean {:.0}; insolvent debt VaR95 {:.0}",
                    p.protocol,
                    p.bad_debt.mean,
                    p.bad_debt.var99,
                    100.0 * p.bad_debt.var99 / p.initial_debt_usd.max(f64::MIN_POSITIVE),
                    p.initial_debt_usd,
                    p.liquidated_value.mean,
                    p.insolvent_debt.var95
                );
            }
        }
        if let Some(p) = &s.perps {
            println!(
                "perps: {:.0} accounts liquidated and {:.0} positions auto-deleveraged per path on average; insurance funds drawn {:.0} USD, vault bad debt {:.0} USD (mean), {:.0} (VaR99)",
                p.liquidations.mean,
                p.adl_events.mean,
                p.fund_drawn.mean,
                p.vault_bad_debt.mean,
                p.vault_bad_debt.var99
            );
            if p.markets.len() > 1 {
                for m in &p.markets {
                    println!(
                        "  {}: {:.0} liquidated and {:.0} auto-deleveraged per path; fund drawn {:.0} USD, vault bad debt {:.0} (mean), {:.0} (VaR99)",
                        m.market,
                        m.liquidations.mean,
                        m.adl_events.mean,
                        m.fund_drawn.mean,
                        m.vault_bad_debt.mean,
                        m.vault_bad_debt.var99
                    );
                }
            }
        }
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

/// `--shard I/N`, or the Slurm array variables when it is absent.
fn shard(arg: Option<&str>) -> Result<Option<(u32, u32)>, RunError> {
    let bad =
        |v: &str| ScenarioError::invalid("--shard", format!("`{v}` is not I/N with 0 ≤ I < N"));
    if let Some(a) = arg {
        let (i, n) = a.split_once('/').ok_or_else(|| bad(a))?;
        let (i, n): (u32, u32) = (
            i.parse().map_err(|_| bad(a))?,
            n.parse().map_err(|_| bad(a))?,
        );
        if n == 0 || i >= n {
            return Err(bad(a).into());
        }
        return Ok(Some((i, n)));
    }
    let var = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    match (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT")) {
        (Some(id), Some(n)) => {
            let i = id
                .checked_sub(var("SLURM_ARRAY_TASK_MIN").unwrap_or(0))
                .unwrap_or(id);
            if n == 0 || i >= n {
                return Err(ScenarioError::invalid(
                    "SLURM_ARRAY_TASK_ID",
                    format!("task {id} is outside an array of {n}"),
                )
                .into());
            }
            Ok(Some((i, n)))
        }
        _ => Ok(None),
    }
}

fn sweep(args: SweepArgs) -> Result<(), RunError> {
    if args.threads == Some(0) {
        return Err(ScenarioError::invalid("--threads", "must be at least 1").into());
    }
    let sw = contagion::sweep::Sweep::load(&args.sweep)?;
    if args.list {
        print!("{}", contagion::sweep::exec::list(&sw));
        return Ok(());
    }
    let out = args
        .out
        .unwrap_or_else(|| Path::new("output/sweeps").join(&sw.raw.sweep.name));
    let resources = contagion::sweep::exec::SlurmResources {
        time: args.time,
        mem: args.mem,
        partition: args.partition,
        account: args.account,
    };
    if !args.emit_slurm {
        for (flag, given) in [
            ("--time", resources.time.is_some()),
            ("--mem", resources.mem.is_some()),
            ("--partition", resources.partition.is_some()),
            ("--account", resources.account.is_some()),
            ("--shards", args.shards.is_some()),
        ] {
            if given {
                return Err(ScenarioError::invalid(flag, "only applies with --emit-slurm").into());
            }
        }
    }
    if args.emit_slurm {
        resources.check()?;
        let units = contagion::sweep::exec::units(&sw).len() as u32;
        if args.shards == Some(0) {
            return Err(ScenarioError::invalid("--shards", "must be at least 1").into());
        }
        let shards = args.shards.unwrap_or(units.min(100));
        let binary =
            std::env::current_exe().map_err(|e| contagion::OutputError::io("contagion", e))?;
        let scripts = contagion::sweep::exec::slurm_scripts(
            &sw,
            &out,
            shards,
            args.threads.unwrap_or(1) as u32,
            &binary,
            &resources,
        );
        contagion::sweep::exec::prepare(
            &sw,
            &contagion::sweep::SweepOptions {
                out: out.clone(),
                shard: Some((0, 1)),
                force: args.force,
                ..Default::default()
            },
        )?;
        std::fs::create_dir_all(out.join("logs"))
            .map_err(|e| contagion::OutputError::io(&out, e))?;
        for (name, text, exec) in [
            ("sweep.sbatch", &scripts.array, false),
            ("merge.sbatch", &scripts.merge, false),
            ("submit.sh", &scripts.submit, true),
        ] {
            let path = out.join(name);
            std::fs::write(&path, text).map_err(|e| contagion::OutputError::io(&path, e))?;
            #[cfg(unix)]
            if exec {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| contagion::OutputError::io(&path, e))?;
            }
            #[cfg(not(unix))]
            let _ = exec;
            println!("{}", path.display());
        }
        return Ok(());
    }
    if args.merge {
        let rows = contagion::sweep::merge(&sw, &out)?;
        warn_thin_tail(&sw);
        if !args.quiet {
            println!(
                "{}: {} runs merged → {}",
                sw.raw.sweep.name,
                rows.len(),
                out.join("runs.parquet").display()
            );
        }
        return Ok(());
    }
    let opts = contagion::sweep::SweepOptions {
        out: out.clone(),
        threads: args.threads,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        shard: shard(args.shard.as_deref())?,
        force: args.force,
    };
    let report = contagion::sweep::run_sweep(&sw, &opts)?;
    if report.merged {
        warn_thin_tail(&sw);
    }
    if !args.quiet {
        println!(
            "{}: {} units run, {} already complete, {} in the sweep{} → {}",
            sw.raw.sweep.name,
            report.ran,
            report.skipped,
            report.total,
            if report.merged {
                "; merged"
            } else {
                "; merge with --merge when every shard is done"
            },
            out.display()
        );
    }
    Ok(())
}

/// Say so when VaR99 and ES99 of each run rest on too few paths.
fn warn_thin_tail(sw: &contagion::sweep::Sweep) {
    use contagion::montecarlo::bootstrap::{MIN_TAIL_PATHS, tail_paths};
    let n = sw.base.paths as usize;
    let k = tail_paths(n, 0.99);
    if k < MIN_TAIL_PATHS {
        eprintln!(
            "contagion: warning: VaR99 and ES99 of each run rest on its worst {k} of {n} paths; runs.parquet has their bootstrap intervals (_lo, _hi); {} paths or more give {MIN_TAIL_PATHS}",
            100 * MIN_TAIL_PATHS
        );
    }
}

fn recommend(args: RecommendArgs) -> Result<ExitCode, RunError> {
    use contagion::sweep::recommend::{Budget, Permissive};
    let permissive = match args.permissive.as_str() {
        "high" => Permissive::High,
        "low" => Permissive::Low,
        other => {
            return Err(ScenarioError::invalid(
                "--permissive",
                format!("`{other}` is neither `high` nor `low`"),
            )
            .into());
        }
    };
    let budget = Budget {
        metric: args.metric,
        share_of_debt: args.max_share_of_debt,
        usd: args.max_usd,
    };
    let r = contagion::sweep::recommend::recommend(
        &args.sweeps,
        args.field.as_deref(),
        &budget,
        permissive,
    )?;
    for w in &r.warnings {
        eprintln!("contagion: warning: {w}");
    }
    print!("{}", r.render(&budget.metric));
    if r.qualifies() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("contagion: nothing is within the budget in every sweep");
        Ok(ExitCode::from(1))
    }
}

/// A line on positions already below health factor 1 at step 0, if any.
fn unhealthy_line(sc: &Scenario) -> Option<String> {
    use contagion::scenario::raw::UnhealthyPolicy;
    let u = sc.unhealthy;
    (u.positions > 0).then(|| {
        let what = match sc.resolved.simulation.unhealthy_positions {
            UnhealthyPolicy::Drop => "dropped from the book",
            _ => "kept: they are liquidated at step 1; set simulation.unhealthy_positions = \"refuse\" or \"drop\" to change that",
        };
        format!(
            "warning: {} positions ({:.0} USD of debt) are below health factor 1 at step 0 ({what})",
            u.positions, u.debt_usd
        )
    })
}

/// Write the book of `sc` to `file` (Parquet or CSV by extension), under a
/// temporary name renamed into place, never over an existing file without
/// `force`.
fn export_book(sc: &Scenario, file: &Path, force: bool) -> Result<(), RunError> {
    use contagion::OutputError;
    if file.is_dir() {
        return Err(ScenarioError::invalid(
            "--export-book",
            format!("{} is a folder; name a file", file.display()),
        )
        .into());
    }
    if file.exists() && !force {
        return Err(OutputError::Exists(file.to_path_buf()).into());
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "book".into());
    let tmp = file.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let parquet = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let written = if parquet {
        let meta = contagion::output::manifest::Manifest::new(sc).to_json();
        contagion::output::parquet::write_frame(
            &tmp,
            contagion::output::parquet::book_frame(sc),
            &meta,
        )
        .map(|_| ())
    } else {
        let mut text = String::from("id,protocol,asset,units,debt\n");
        let b = &sc.book;
        for i in 0..b.len() {
            let protocol = &sc.protocols[b.protocol[i] as usize].name;
            for k in b.coll_range(i) {
                let asset = &sc.assets[b.coll_asset[k] as usize].symbol;
                text.push_str(&format!(
                    "{i},{protocol},{asset},{},{}\n",
                    b.coll_units[k], b.debt[i]
                ));
            }
        }
        std::fs::write(&tmp, text).map_err(|e| OutputError::io(&tmp, e))
    };
    let done =
        written.and_then(|()| std::fs::rename(&tmp, file).map_err(|e| OutputError::io(file, e)));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(done?)
}

fn validate(path: &Path, export: Option<&Path>, force: bool) -> Result<(), RunError> {
    let sc = Scenario::load(path, &Overrides::default())?;
    if let Some(file) = export {
        export_book(&sc, file, force)?;
    }
    println!(
        "{}: valid — scenario `{}`, {} assets, {} pools, {} protocols, {} perp markets, {} positions, {} liquidators, {} steps × {} paths",
        path.display(),
        sc.name,
        sc.assets.len(),
        sc.pools.len(),
        sc.protocols.len(),
        sc.perps.len(),
        sc.book.len(),
        sc.liquidators.len(),
        sc.steps,
        sc.paths
    );
    if let Some(line) = unhealthy_line(&sc) {
        println!("{line}");
    }
    Ok(())
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
