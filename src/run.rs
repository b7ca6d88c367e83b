//! One run, end to end: simulate every path in parallel, stream the rows to
//! Parquet, then write the paths table, summary, charts and manifest, and
//! move the finished folder into place.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::engine::CandidateSearch;
use crate::error::{OutputError, RunError};
use crate::graph::collateral::CollateralGraph;
use crate::mechanism::lending::LiquidationRows;
use crate::montecarlo::run_paths;
use crate::output::charts::{Canvas, ChartData, Figure, ProtocolLoss, draw_all, draw_graph};
use crate::output::manifest::Manifest;
use crate::output::parquet::{
    Names, TableWriter, attribution_frame, book_frame, graph_edges_frame, graph_nodes_frame,
    path_tables, write_frame,
};
use crate::output::run_folder::RunFolder;
use crate::output::spill::{Spill, take_spilled};
pub use crate::output::summary::{
    Attribution, Headline, PerpMarketOutcomes, PerpSummary, ProtocolAttribution, ProtocolOutcomes,
    Summary, Systemic, SystemicProtocol, TailCi, UnhealthyAtStart, initial_debts,
};
use crate::output::table::{StepTable, step_tables};
use crate::output::{PathRecord, PathSummary};
use crate::scenario::validated::Scenario;

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
    /// Links to cut for counterfactual attribution: (protocol, asset) pairs;
    /// empty for none.
    pub cuts: Vec<(String, String)>,
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

/// Run `f` on `pool`, or on rayon's global pool when there is none.
fn in_pool<R: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// Run a scenario into `opts.out`.
pub fn run(sc: &Scenario, opts: &RunOptions) -> Result<RunReport, RunError> {
    let started = Instant::now();
    // The counterfactual world is input too: check it before writing anything.
    let cut_world = cut_world(sc, &opts.cuts)?;
    let folder = RunFolder::prepare(&opts.out, opts.force)?;
    let dir = folder.path().to_path_buf();
    let mut manifest = Manifest::new(sc);
    manifest.cuts = opts.cuts.iter().map(|(p, a)| format!("{p}:{a}")).collect();
    let meta = manifest.to_json();
    let names = Names::of(sc);

    // Every per-step table the scenario writes (output::table), in order.
    let mut writers = Vec::new();
    for t in step_tables().into_iter().filter(|t| (t.written)(sc)) {
        let w = TableWriter::create(&dir.join(t.file()), &(t.frame)(&names, &[]), &meta)?;
        writers.push((t, w));
    }

    let passes = if cut_world.is_some() { 2 } else { 1 };
    let bar = progress_bar(sc, opts.progress, passes);
    // One worker pool for both passes (rayon's global pool without --threads).
    let pool = thread_pool(opts.threads)?;
    // Recorded paths' liquidation rows go to disk as they grow, and come
    // back in order in the writer.
    let spill = std::sync::Arc::new(Spill::new(sc, &dir));
    let (summaries, charts, mut parquet_bytes) = std::thread::scope(|scope| {
        // The recorded paths' rows are written on a thread of their own
        // while the next block of paths is simulated. The hand-over waits
        // for the writer, so at most two blocks are held at once.
        let (blocks, received) = std::sync::mpsc::sync_channel::<Vec<PathRecord>>(0);
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn_scoped(scope, || write_blocks(sc, received, writers, &names))
            .map_err(|e| RunError::Threads(e.to_string()))?;
        let work = || {
            run_paths(
                sc,
                opts.search,
                Some(spill.clone()),
                |block| {
                    let recorded: Vec<PathRecord> =
                        block.into_iter().filter(|r| r.recorded).collect();
                    if recorded.is_empty() {
                        return Ok(());
                    }
                    // A closed channel means the writer failed: its error is
                    // the one reported below.
                    blocks.send(recorded).map_err(|_| RunError::WriterStopped)
                },
                |n| bar.inc(n),
            )
        };
        let simulated = in_pool(pool.as_ref(), work);
        drop(blocks);
        let written = writer.join().expect("the writer thread does not panic");
        let (charts, bytes) = written?;
        Ok::<_, RunError>((simulated?, charts, bytes))
    })?;
    let attribution = match &cut_world {
        None => None,
        Some(w) => Some(in_pool(pool.as_ref(), || {
            run_paths(w, opts.search, None, |_| Ok(()), |n| bar.inc(n))
        })?),
    };
    bar.finish_and_clear();

    let graph = CollateralGraph::build(sc);
    let end = EndOfRun {
        dir: &dir,
        meta: &meta,
        names: &names,
        summaries: &summaries,
        attribution: attribution.as_deref(),
    };
    parquet_bytes += end.write_tables(sc, &graph)?;
    let mut summary = Summary::of(sc, &summaries);
    if let Some(cut) = &attribution {
        summary.attribution = Some(Attribution::of(sc, &opts.cuts, &summaries, cut));
    }
    write_json(&dir.join("summary.json"), &summary)?;
    let figures = end.draw_charts(&charts, &summary, &graph)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    manifest.wall_seconds = Some(wall_seconds);
    write_json(&dir.join("manifest.json"), &manifest)?;
    let page = crate::report::run_report(sc, &summary, &manifest, &figures);
    let report = dir.join("report.html");
    std::fs::write(&report, page).map_err(|e| OutputError::io(&report, e))?;
    let out = folder.commit()?;
    Ok(RunReport {
        out,
        summary,
        wall_seconds,
        parquet_bytes,
    })
}

/// Write the blocks of recorded paths `received` (in path order) to the
/// per-step tables' `writers`, one path at a time (each freed once its rows
/// are framed), and gather the charts' series. Returns the chart data and
/// the bytes of Parquet written once every table is finished.
fn write_blocks(
    sc: &Scenario,
    received: std::sync::mpsc::Receiver<Vec<PathRecord>>,
    mut writers: Vec<(StepTable, TableWriter)>,
    names: &Names,
) -> Result<(ChartData, u64), RunError> {
    let mut charts = ChartData::new(sc);
    for block in received {
        for record in block {
            let one = std::slice::from_ref(&record);
            charts.add(one);
            for (t, w) in writers.iter_mut() {
                if t.name == LiquidationRows::TABLE.name {
                    for file in &record.spilled {
                        w.append(take_spilled(file)?)?;
                    }
                }
                w.append((t.frame)(names, one))?;
            }
        }
    }
    let mut bytes = 0;
    for (_, w) in writers {
        bytes += w.finish()?;
    }
    Ok((charts, bytes))
}

/// The counterfactual world of `--cut` (no recorded paths), if any.
fn cut_world(sc: &Scenario, cuts: &[(String, String)]) -> Result<Option<Scenario>, RunError> {
    if cuts.is_empty() {
        return Ok(None);
    }
    // A family draws each path's book afresh (docs/model.md §19): a cut
    // of path 0's book would not reach the others.
    if sc.resolved.overlapping_portfolios.is_some() {
        return Err(crate::error::ScenarioError::invalid(
            "--cut",
            "[overlapping_portfolios] draws each path's book afresh: compare runs with other parameters instead",
        )
        .into());
    }
    let mut w = sc.clone();
    for (protocol, asset) in cuts {
        w = w.with_cut(protocol, asset)?;
    }
    w.record_paths = 0;
    Ok(Some(w))
}

/// A progress bar over `passes` passes of the scenario's paths, on stderr
/// (hidden unless `show`).
fn progress_bar(sc: &Scenario, show: bool, passes: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar =
        ProgressBar::with_draw_target(Some(passes * sc.paths as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} paths ({per_sec}, ETA {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(sc.name.clone());
    bar
}

/// A pool of `threads` workers, or none (rayon's global pool).
fn thread_pool(threads: Option<usize>) -> Result<Option<rayon::ThreadPool>, RunError> {
    threads
        .map(|t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| RunError::Threads(e.to_string()))
        })
        .transpose()
}

/// What a run writes once every path is done.
struct EndOfRun<'a> {
    dir: &'a Path,
    meta: &'a str,
    names: &'a Names,
    summaries: &'a [PathSummary],
    attribution: Option<&'a [PathSummary]>,
}

impl EndOfRun<'_> {
    /// The per-path tables, the book and the collateral graph; returns the
    /// bytes written.
    fn write_tables(&self, sc: &Scenario, graph: &CollateralGraph) -> Result<u64, RunError> {
        let mut parquet_bytes = 0;
        for t in path_tables().iter().filter(|t| (t.written)(sc)) {
            parquet_bytes += write_frame(
                &self.dir.join(format!("{}.parquet", t.name)),
                (t.frame)(self.names, self.summaries),
                self.meta,
            )?;
        }
        if !sc.book.is_empty() {
            parquet_bytes +=
                write_frame(&self.dir.join("book.parquet"), book_frame(sc), self.meta)?;
        }
        parquet_bytes += write_frame(
            &self.dir.join("graph_nodes.parquet"),
            graph_nodes_frame(graph),
            self.meta,
        )?;
        parquet_bytes += write_frame(
            &self.dir.join("graph_edges.parquet"),
            graph_edges_frame(graph),
            self.meta,
        )?;
        if let Some(cut) = self.attribution {
            parquet_bytes += write_frame(
                &self.dir.join("attribution.parquet"),
                attribution_frame(self.names, self.summaries, cut),
                self.meta,
            )?;
        }
        Ok(parquet_bytes)
    }

    /// The charts, and the collateral graph shaded by each protocol's
    /// losses; returns them as SVG for the report.
    fn draw_charts(
        &self,
        charts: &ChartData,
        summary: &Summary,
        graph: &CollateralGraph,
    ) -> Result<Vec<Figure>, RunError> {
        let protocol_losses: Vec<ProtocolLoss> = summary
            .protocols
            .iter()
            .map(|p| ProtocolLoss {
                name: p.protocol.clone(),
                initial_debt: p.initial_debt_usd,
                bad_debt: p.bad_debt,
            })
            .collect();
        let dir = self.dir.join("charts");
        let mut canvas = Canvas::new(&dir)?.keep_svg();
        draw_all(
            &mut canvas,
            charts,
            self.summaries,
            &summary.bad_debt,
            &protocol_losses,
        )?;
        let loss_ratio = charts.mean_loss_ratio();
        canvas.emit("collateral_graph.png", |t| {
            draw_graph(t, graph, &loss_ratio)
        })?;
        Ok(canvas.figures)
    }
}
