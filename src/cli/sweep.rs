//! `contagion sweep` and `contagion recommend`: parameter sweeps, their
//! shards (flags or Slurm arrays), and the recommendation from a merged
//! sweep.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use contagion::{RunError, ScenarioError};

use crate::{RecommendArgs, SweepArgs};

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

pub(crate) fn sweep(args: SweepArgs) -> Result<(), RunError> {
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

pub(crate) fn recommend(args: RecommendArgs) -> Result<ExitCode, RunError> {
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
