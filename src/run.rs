//! One run, end to end: simulate every path in parallel, stream the rows to
//! Parquet, then write the paths table, summary, charts and manifest, and
//! move the finished folder into place.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::engine::CandidateSearch;
use crate::error::{OutputError, RunError};
use crate::graph::collateral::CollateralGraph;
use crate::montecarlo::metrics::{LossMetrics, loss_metrics};
use crate::montecarlo::run_paths;
use crate::output::PathSummary;
use crate::output::charts::{ChartData, draw_all, draw_graph};
use crate::output::manifest::Manifest;
use crate::output::parquet::{
    Names, TableWriter, graph_edges_frame, graph_nodes_frame, liquidations_frame, market_frame,
    paths_frame, protocols_frame, write_frame,
};
use crate::output::run_folder::RunFolder;
use crate::scenario::Scenario;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run folder to create.
    pub out: PathBuf,
    /// Replace an existing folder.
    pub force: bool,
    /// Worker threads (default: rayon's, one per core).
    pub threads: Option<usize>,
    /// Show a progress bar (only drawn on a terminal).
    pub progress: bool,
    /// How the cascade finds liquidatable positions (same results either way).
    pub search: CandidateSearch,
}

/// The headline figures under the names the field uses (MODEL.md §7).
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// Gauntlet's "VaR": 95% quantile of insolvent debt.
    pub var95_insolvent_debt: f64,
    /// Gauntlet's "LaR": 95% quantile of liquidated value.
    pub lar95_liquidated_value: f64,
    /// Chaos Labs' "extreme VaR": 99% quantile of insolvent debt.
    pub extreme_var99_insolvent_debt: f64,
    /// 95% and 99% quantiles of bad debt.
    pub var95_bad_debt: f64,
    /// 99% quantile of bad debt.
    pub var99_bad_debt: f64,
}

/// `summary.json`: the §7 metrics of the paths table.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Paths.
    pub paths: u32,
    /// Steps per path.
    pub steps: u32,
    /// Positions in the book.
    pub positions: usize,
    /// Bad debt written off over a path.
    pub bad_debt: LossMetrics,
    /// Insolvent debt at the last step.
    pub insolvent_debt: LossMetrics,
    /// Collateral value liquidated over a path.
    pub liquidated_value: LossMetrics,
    /// Liquidations per path.
    pub liquidations: LossMetrics,
    /// Path-steps whose cascade hit `max_cascade_rounds`, over all paths.
    pub capped_steps: u64,
    /// The figures under their industry names.
    pub headline: Headline,
}

impl Summary {
    /// The summary of a run's paths.
    pub fn of(sc: &Scenario, rows: &[PathSummary]) -> Self {
        let m = |f: fn(&PathSummary) -> f64| loss_metrics(&rows.iter().map(f).collect::<Vec<_>>());
        let bad_debt = m(|s| s.bad_debt);
        let insolvent_debt = m(|s| s.insolvent_debt);
        let liquidated_value = m(|s| s.liquidated_value);
        Summary {
            scenario: sc.name.clone(),
            paths: sc.paths,
            steps: sc.steps,
            positions: sc.book.len(),
            headline: Headline {
                var95_insolvent_debt: insolvent_debt.var95,
                lar95_liquidated_value: liquidated_value.var95,
                extreme_var99_insolvent_debt: insolvent_debt.var99,
                var95_bad_debt: bad_debt.var95,
                var99_bad_debt: bad_debt.var99,
            },
            bad_debt,
            insolvent_debt,
            liquidated_value,
            liquidations: m(|s| s.liquidations as f64),
            capped_steps: rows.iter().map(|s| s.capped_steps as u64).sum(),
        }
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run folder.
    pub out: PathBuf,
    /// The summary written to `summary.json`.
    pub summary: Summary,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// Bytes of Parquet written.
    pub parquet_bytes: u64,
}

fn write_json(path: &std::path::Path, value: &impl Serialize) -> Result<(), OutputError> {
    let text = serde_json::to_string_pretty(value).expect("serialisable");
    std::fs::write(path, text + "\n").map_err(|e| OutputError::io(path, e))
}

/// Run a scenario into `opts.out`.
pub fn run(sc: &Scenario, opts: &RunOptions) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let folder = RunFolder::prepare(&opts.out, opts.force)?;
    let dir = folder.path().to_path_buf();
    let mut manifest = Manifest::new(sc);
    let meta = manifest.to_json();
    let names = Names::of(sc);

    let mut market = TableWriter::create(
        &dir.join("market.parquet"),
        &market_frame(&names, &[]),
        &meta,
    )?;
    let mut protocols = TableWriter::create(
        &dir.join("protocols.parquet"),
        &protocols_frame(&names, &[]),
        &meta,
    )?;
    let mut liquidations = TableWriter::create(
        &dir.join("liquidations.parquet"),
        &liquidations_frame(&names, &[]),
        &meta,
    )?;
    let mut charts = ChartData::new(sc);
    let (n_assets, n_protocols) = (sc.assets.len(), sc.protocols.len());

    let bar = if opts.progress {
        let bar =
            ProgressBar::with_draw_target(Some(sc.paths as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} paths ({per_sec}, ETA {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(sc.name.clone());
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut work = || {
        run_paths(
            sc,
            opts.search,
            |block| {
                // One path at a time, each freed once its rows are framed.
                for record in block.into_iter().filter(|r| r.recorded) {
                    let one = std::slice::from_ref(&record);
                    charts.add(one, n_assets, n_protocols);
                    market.append(market_frame(&names, one))?;
                    protocols.append(protocols_frame(&names, one))?;
                    liquidations.append(liquidations_frame(&names, one))?;
                }
                Ok(())
            },
            |n| bar.inc(n),
        )
    };
    let summaries = match opts.threads {
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map_err(|e| RunError::Threads(e.to_string()))?
            .install(work),
        None => work(),
    }?;
    bar.finish_and_clear();

    let mut parquet_bytes = market.finish()? + protocols.finish()? + liquidations.finish()?;
    parquet_bytes += write_frame(&dir.join("paths.parquet"), paths_frame(&summaries), &meta)?;
    let graph = CollateralGraph::build(sc);
    parquet_bytes += write_frame(
        &dir.join("graph_nodes.parquet"),
        graph_nodes_frame(&graph),
        &meta,
    )?;
    parquet_bytes += write_frame(
        &dir.join("graph_edges.parquet"),
        graph_edges_frame(&graph),
        &meta,
    )?;
    let summary = Summary::of(sc, &summaries);
    write_json(&dir.join("summary.json"), &summary)?;
    draw_all(&dir.join("charts"), &charts, &summaries, &summary.bad_debt)?;
    draw_graph(
        &dir.join("charts/collateral_graph.png"),
        &graph,
        &charts.mean_loss_ratio(),
    )?;
    let wall_seconds = started.elapsed().as_secs_f64();
    manifest.wall_seconds = Some(wall_seconds);
    write_json(&dir.join("manifest.json"), &manifest)?;
    let out = folder.commit()?;
    Ok(RunReport {
        out,
        summary,
        wall_seconds,
        parquet_bytes,
    })
}
