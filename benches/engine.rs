//! Engine throughput (run with `cargo bench`; prints, asserts nothing).
//!
//! For each benchmark scenario in `scenarios/bench/` (calm and crash markets
//! at 10⁴, 10⁵ and 10⁶ positions, 720 hourly steps) and for 1 and 2 threads:
//! effective position-steps per second (positions × steps × paths ÷ wall
//! seconds), paths per second, nanoseconds per executed liquidation, and the
//! time per step split by stage (from a second, timed pass: the clock reads
//! are left out of the throughput figures): the main columns group the phases (prices,
//! arbitrage, agents, cascade, record), and a line under each scenario
//! splits them by phase and mechanism (`engine::Stage`). Then one full run with Parquet output
//! (record_paths = 10) for bytes written per second, and the peak RSS.
//!
//! Arguments (after `--`): a substring to select scenarios (e.g. `calm`,
//! `1e5`), and `--paths N` to override the path count (by default 8,192
//! calm paths at every size, and 64, 16 and 4 crash paths at 10⁴, 10⁵ and
//! 10⁶ positions).

use std::path::Path;
use std::time::Instant;

use contagion::engine::{Stage, StageNanos, World};
use contagion::{Overrides, RunOptions, Scenario};
use rayon::prelude::*;

struct Measured {
    wall: f64,
    liquidations: u64,
    stages: StageNanos,
}

/// Run every path of `sc` on `threads` workers; with `timed`, split the
/// time by stage (reading the clock at every stage costs tens of ns a step,
/// so throughput is measured untimed).
fn engine_only(sc: &Scenario, threads: usize, timed: bool) -> Measured {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let start = Instant::now();
    let per_path: Vec<(u64, StageNanos)> = pool.install(|| {
        (0..sc.paths)
            .into_par_iter()
            .map_init(
                || {
                    let mut w = World::new(sc);
                    if timed {
                        w.enable_timing();
                    }
                    w
                },
                |w, p| {
                    let before = w.stage_nanos().unwrap_or_default();
                    let rec = w.run_path(p).expect("benchmark scenarios are sound");
                    let after = w.stage_nanos().unwrap_or_default();
                    (rec.summary.liquidations as u64, after.since(&before))
                },
            )
            .collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let mut stages = StageNanos::default();
    for (_, s) in &per_path {
        stages.add(s);
    }
    Measured {
        wall,
        liquidations: per_path.iter().map(|p| p.0).sum(),
        stages,
    }
}

/// Cost of one standard normal draw with the paths' generator.
fn normal_draws() {
    use rand::RngExt;
    let mut rng = contagion::montecarlo::seed::path_rng(1, 0);
    let n = 50_000_000u64;
    let start = Instant::now();
    let mut acc = 0.0f64;
    for _ in 0..n {
        let z: f64 = rng.sample(rand_distr::StandardNormal);
        acc += z;
    }
    let ns = start.elapsed().as_secs_f64() * 1e9 / n as f64;
    println!(
        "standard normal (Xoshiro256++, ziggurat): {ns:.2} ns per draw (mean of {n} draws: {:.5})",
        acc / n as f64
    );
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut filter = String::new();
    let mut paths_override = None;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--paths" {
            paths_override = args.get(i + 1).and_then(|v| v.parse::<u32>().ok());
            i += 2;
        } else {
            filter = args[i].clone();
            i += 1;
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench");
    if filter == "spill" {
        spill_memory(&dir, paths_override.unwrap_or(8));
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| p.to_string_lossy().contains(&filter))
        .collect();
    files.sort_by_key(|p| {
        let s = p.file_stem().unwrap().to_string_lossy().into_owned();
        (
            s.starts_with("crash"),
            s.rsplit('-').next().map(str::to_string),
        )
    });

    println!(
        "{:<16} {:>3} {:>6} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "scenario",
        "thr",
        "paths",
        "wall s",
        "pos-steps/s",
        "paths/s",
        "ns/liq",
        "prices",
        "arbitr.",
        "agents",
        "cascade",
        "record"
    );
    for file in files {
        let probe = Scenario::load(&file, &Overrides::default()).expect("valid bench scenario");
        let n = probe.book.len();
        // Enough paths for a second or more of work per setting: calm paths
        // cost almost nothing, crash paths cost their liquidations.
        let calm = probe.name.contains("calm");
        let default_paths = match (calm, n) {
            (true, _) => 8192,
            (false, 0..=20_000) => 64,
            (false, 20_001..=200_000) => 16,
            (false, _) => 4,
        };
        let paths = paths_override.unwrap_or(default_paths);
        let sc = Scenario::load(
            &file,
            &Overrides {
                paths: Some(paths),
                seed: None,
            },
        )
        .unwrap();
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        for threads in [1, 2] {
            let m = engine_only(&sc, threads, false);
            let timed = engine_only(&sc, threads, true);
            let steps = sc.steps as f64;
            let pos_steps = n as f64 * steps * paths as f64 / m.wall;
            let per_step = |ns: u64| ns as f64 / (steps * paths as f64) / 1e3; // µs per step
            let ns_per_liq = if m.liquidations > 0 {
                format!(
                    "{:.0}",
                    m.wall * threads as f64 * 1e9 / m.liquidations as f64
                )
            } else {
                "-".to_string()
            };
            println!(
                "{:<16} {:>3} {:>6} {:>9.3} {:>10.3e} {:>9.1} {:>10} {:>8.2}µ {:>8.2}µ {:>8.2}µ {:>8.2}µ {:>8.2}µ",
                name,
                threads,
                paths,
                m.wall,
                pos_steps,
                paths as f64 / m.wall,
                ns_per_liq,
                per_step(
                    timed.stages.get(Stage::AccrueLending) + timed.stages.get(Stage::MovePrices)
                ),
                per_step(timed.stages.get(Stage::Arbitrage)),
                per_step(
                    timed.stages.get(Stage::AgentsLending)
                        + timed.stages.get(Stage::AgentsPerps)
                        + timed.stages.get(Stage::AgentsOptions)
                ),
                per_step(
                    timed.stages.get(Stage::CascadeLending)
                        + timed.stages.get(Stage::CascadePerps)
                        + timed.stages.get(Stage::AfterCascadePerps)
                ),
                per_step(
                    timed.stages.get(Stage::Persist)
                        + timed.stages.get(Stage::Record)
                        + timed.stages.get(Stage::EndOfPath)
                ),
            );
            if threads == 1 {
                let split: Vec<String> = timed
                    .stages
                    .iter()
                    .filter(|&(_, ns)| ns > 0)
                    .map(|(s, ns)| format!("{} {:.2}µ", s.name(), per_step(ns)))
                    .collect();
                println!("    per step by phase/mechanism: {}", split.join(", "));
            }
        }
    }

    // Output throughput: a full run that writes Parquet for 10 recorded paths.
    let file = dir.join("crash-1e4.toml");
    if file.to_string_lossy().contains(&filter) || filter.is_empty() {
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("record_paths = 0", "record_paths = 10");
        let sc = Scenario::from_toml(
            &text,
            "crash-1e4",
            &dir,
            &Overrides {
                paths: Some(64),
                seed: None,
            },
        )
        .unwrap();
        let tmp = std::env::temp_dir().join(format!("contagion-bench-{}", std::process::id()));
        let report = contagion::run(
            &sc,
            &RunOptions {
                out: tmp.clone(),
                force: true,
                threads: None,
                progress: false,
                search: Default::default(),
                cuts: Vec::new(),
            },
        )
        .unwrap();
        println!(
            "\nfull run (crash-1e4, 64 paths, 10 recorded): {:.2} s, {:.1} MB of Parquet, {:.1} MB/s",
            report.wall_seconds,
            report.parquet_bytes as f64 / 1e6,
            report.parquet_bytes as f64 / 1e6 / report.wall_seconds
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }
    if filter.is_empty() || "recorded".contains(&filter) {
        recorded_paths_cost(&dir);
    }
    if filter.is_empty() || "perp".contains(&filter) {
        perp_index_cost(&dir);
    }
    if filter.is_empty() || "family".contains(&filter) {
        family_path_cost();
    }
    normal_draws();
    println!("peak RSS of this process: {:.0} MiB", peak_rss_mib());
}

/// A family's scenario is generated and validated again on every path
/// (docs/model.md §19): what that costs per path at 10⁴ and 10⁵ holders
/// and assets (the largest side). It should grow linearly with the side.
fn family_path_cost() {
    for side in [10_000u32, 100_000] {
        let text = format!(
            "[simulation]\nname = \"family\"\nsteps = 1\npaths = 2\nseed = 1\n\n\
             [overlapping_portfolios]\nholders = {side}\nassets = {side}\n\
             mean_degree = 2.0\nleverage = 10.0\n"
        );
        let sc =
            Scenario::from_toml(&text, "family", Path::new("."), &Overrides::default()).unwrap();
        let start = Instant::now();
        let path = sc.for_path(1).unwrap();
        let s = start.elapsed().as_secs_f64();
        println!(
            "family, {side} holders × {side} assets: a path's scenario in {s:.3} s \
             ({:.2} µs per asset, {} positions)",
            s * 1e6 / f64::from(side),
            path.book.len()
        );
    }
}

/// Peak memory of a crash on 10⁶ positions with every path recorded (issue
/// 12, target 4: under 500 MiB whatever the number of recorded paths, as
/// recorded paths move their liquidation rows to disk as they grow). Run
/// alone (`cargo bench --bench engine -- spill [--paths N]`): the peak is
/// this process's.
fn spill_memory(bench_dir: &Path, paths: u32) {
    let text = std::fs::read_to_string(bench_dir.join("crash-1e6.toml"))
        .unwrap()
        .replace("record_paths = 0", &format!("record_paths = {paths}"));
    let sc = Scenario::from_toml(
        &text,
        "crash-1e6",
        bench_dir,
        &Overrides {
            paths: Some(paths),
            seed: None,
        },
    )
    .unwrap();
    let tmp = std::env::temp_dir().join(format!("contagion-bench-spill-{}", std::process::id()));
    let report = contagion::run(
        &sc,
        &RunOptions {
            out: tmp.clone(),
            force: true,
            threads: None,
            progress: false,
            search: Default::default(),
            cuts: Vec::new(),
        },
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
    println!(
        "crash 10⁶ positions, {paths} paths, all recorded: {:.1} s, {:.0} MB of Parquet, peak RSS {:.0} MiB (target < 500 MiB)",
        report.wall_seconds,
        report.parquet_bytes as f64 / 1e6,
        peak_rss_mib()
    );
}

/// Fastest of three full runs (CLI-equivalent: Parquet, charts, summary) of
/// `text`, seconds.
fn full_run_seconds(text: &str, name: &str, dir: &Path, paths: Option<u32>) -> f64 {
    full_run_seconds_with(text, name, dir, paths, Default::default())
}

/// As `full_run_seconds`, with the given candidate search.
fn full_run_seconds_with(
    text: &str,
    name: &str,
    dir: &Path,
    paths: Option<u32>,
    search: contagion::engine::CandidateSearch,
) -> f64 {
    let sc = Scenario::from_toml(text, name, dir, &Overrides { paths, seed: None }).unwrap();
    let tmp = std::env::temp_dir().join(format!("contagion-bench-{}-{name}", std::process::id()));
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let opts = RunOptions {
            out: tmp.clone(),
            force: true,
            threads: None,
            progress: false,
            search,
            cuts: Vec::new(),
        };
        let started = std::time::Instant::now();
        contagion::run(&sc, &opts).unwrap();
        best = best.min(started.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_dir_all(&tmp);
    best
}

/// The perps' liquidation index (issue 12, target 6): `perp-adl` at its
/// 500 paths with the index and with every account checked in every
/// round (the search before the index).
fn perp_index_cost(bench_dir: &Path) {
    use contagion::engine::CandidateSearch;
    let root = bench_dir.parent().unwrap();
    let text = std::fs::read_to_string(root.join("perp-adl.toml")).unwrap();
    let run = |search| full_run_seconds_with(&text, "perp-adl", root, None, search);
    let indexed = run(CandidateSearch::Indexed);
    let scan = run(CandidateSearch::FullScan);
    println!(
        "
perp-adl, 500 paths: indexed {indexed:.2} s, full scan {scan:.2} s: {:.2}× faster",
        scan / indexed
    );
}

/// What recording costs (issue 12): the default scenario with every path
/// recorded against one recorded, and the calm 10⁶-position book over
/// 1,000 paths with 10 recorded.
fn recorded_paths_cost(bench_dir: &Path) {
    let root = bench_dir.parent().unwrap();
    let default = std::fs::read_to_string(root.join("default.toml")).unwrap();
    let with = |n: u32| {
        default.replace(
            "record_every = 1 ",
            &format!("record_paths = {n}\nrecord_every = 1 "),
        )
    };
    let all = full_run_seconds(&with(1000), "default-all", root, None);
    let one = full_run_seconds(&with(1), "default-one", root, None);
    println!(
        "\ndefault scenario, 1,000 paths: all recorded {all:.2} s, one recorded {one:.2} s: {:.1}×",
        all / one
    );
    let calm = std::fs::read_to_string(bench_dir.join("calm-1e6.toml"))
        .unwrap()
        .replace("record_paths = 0", "record_paths = 10");
    let calm = full_run_seconds(&calm, "calm-1e6", bench_dir, Some(1000));
    println!("calm 10⁶ positions, 1,000 paths, 10 recorded: {calm:.2} s");
}
