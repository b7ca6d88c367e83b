//! A sweep's `report.html`: what was swept, each run's metrics with their
//! intervals, each metric against each parameter with its band and the
//! risk budget's line, the heatmap, and the `recommend` table for the
//! sweep's own budget.

use std::path::Path;

use crate::output::charts::Figure;
use crate::output::manifest::GIT_COMMIT;
use crate::report::html::{Page, count, usd};
use crate::sweep::files::as_text;
use crate::sweep::merge::RunRow;
use crate::sweep::recommend::{Budget, Permissive, recommend};
use crate::sweep::spec::Sweep;

/// The metric the sweep's budget (`budget_share_of_debt`) holds, as its
/// charts draw it.
pub const BUDGET_METRIC: &str = "bad_debt_var99";

/// The report of the merged sweep in `out`, from its runs and charts
/// (drawn in the folder `charts`). Reads `runs.parquet` back for the
/// recommendation when the sweep sets a budget.
pub fn sweep_report(
    sw: &Sweep,
    out: &Path,
    rows: &[RunRow],
    figures: &[Figure],
) -> Result<String, crate::error::RunError> {
    let s = &sw.raw.sweep;
    let mut p = Page::new();
    p.heading(1, &format!("contagion sweep: {}", s.name));
    p.para(
        &format!(
            "{} runs of scenario `{}` ({}), {} paths each, seed {}, design {:?}.",
            sw.runs.len(),
            sw.base.name,
            sw.scenario_file.display(),
            sw.base.paths,
            sw.base.seed,
            s.design
        ),
        Some("muted"),
    );
    if !sw.notes.is_empty() {
        p.pre(&sw.notes, None);
    }
    let fields = sw.fields();
    let axes: Vec<Vec<String>> = sw
        .raw
        .axes
        .iter()
        .map(|a| {
            let values: Vec<String> = sw
                .runs
                .iter()
                .map(|r| {
                    let i = fields.iter().position(|f| f == &a.field).unwrap_or(0);
                    as_text(&r.values[i])
                })
                .collect();
            let mut distinct = values.clone();
            distinct.dedup();
            vec![
                a.field.clone(),
                a.zip.clone().unwrap_or_default(),
                distinct.join(", "),
            ]
        })
        .collect();
    p.heading(2, "Parameters");
    p.table("axes", &["field", "zipped with", "values"], &axes);

    runs_section(&mut p, sw, rows);

    p.heading(2, "Charts");
    if figures.is_empty() {
        p.para("No numeric parameter to chart.", None);
    }
    for f in figures {
        p.figure("charts", f);
    }

    recommendation_section(&mut p, sw, out)?;

    p.heading(2, "Provenance");
    p.table(
        "provenance",
        &["", "value"],
        &[
            vec![
                "tool".into(),
                format!("contagion {}", env!("CARGO_PKG_VERSION")),
            ],
            vec!["git commit".into(), GIT_COMMIT.into()],
            vec!["sweep hash".into(), sw.hash.clone()],
            vec!["sweep file".into(), sw.file.display().to_string()],
        ],
    );
    Ok(p.finish(&format!("contagion sweep: {}", s.name)))
}

/// One row per run: its parameters and its metrics with intervals.
fn runs_section(p: &mut Page, sw: &Sweep, rows: &[RunRow]) {
    let fields = sw.fields();
    p.heading(2, "Runs");
    let mut header: Vec<&str> = vec!["run"];
    header.extend(fields.iter().map(String::as_str));
    header.extend([
        "debt at step 0",
        "mean bad debt",
        "VaR99 bad debt [95% CI]",
        "ES99 bad debt [95% CI]",
        "mean insolvent debt",
        "mean liquidated value",
        "mean liquidations",
    ]);
    let table: Vec<Vec<String>> = sw
        .runs
        .iter()
        .zip(rows)
        .map(|(run, r)| {
            let mut row = vec![format!("{:05}", run.id)];
            row.extend(run.values.iter().map(as_text));
            let b = &r.intervals[0];
            row.extend([
                usd(r.initial_debt_usd),
                usd(r.metrics[0][0]),
                format!(
                    "{} [{}, {}]",
                    usd(r.metrics[0][4]),
                    usd(b.var.lo),
                    usd(b.var.hi)
                ),
                format!(
                    "{} [{}, {}]",
                    usd(r.metrics[0][5]),
                    usd(b.es.lo),
                    usd(b.es.hi)
                ),
                usd(r.metrics[2][0]),
                usd(r.metrics[3][0]),
                count(r.metrics[4][0]),
            ]);
            row
        })
        .collect();
    p.table("runs", &header, &table);
    p.para(
        "Every run uses the same path seeds (common random numbers): the differences between \
         runs are the settings, not the noise. Intervals: 95% percentile bootstrap. Amounts in USD. \
         runs.parquet holds every statistic of every metric.",
        Some("muted"),
    );
}

/// The `recommend` table for the sweep's own budget, when it sets one.
fn recommendation_section(
    p: &mut Page,
    sw: &Sweep,
    out: &Path,
) -> Result<(), crate::error::RunError> {
    let s = &sw.raw.sweep;
    p.heading(2, "Recommendation");
    match s.budget_share_of_debt {
        None => p.para(
            "The sweep sets no budget (`budget_share_of_debt`): run `contagion recommend` on this folder with one.",
            Some("muted"),
        ),
        Some(share) => {
            let budget = Budget {
                metric: BUDGET_METRIC.into(),
                share_of_debt: Some(share),
                usd: None,
            };
            let r = recommend(&[out.to_path_buf()], None, &budget, Permissive::High)?;
            p.para(
                &format!(
                    "Budget: {BUDGET_METRIC} at most {}% of each run's debt at step 0. {} of {} combinations are within it.",
                    100.0 * share,
                    r.passing.len(),
                    r.combinations
                ),
                None,
            );
            let mut header: Vec<&str> = r.parameters.iter().map(String::as_str).collect();
            header.extend([BUDGET_METRIC, "95% CI", "limit", "within"]);
            let lines: Vec<Vec<String>> = r
                .lines
                .iter()
                .map(|l| {
                    let mut row = l.params.clone();
                    row.extend([
                        usd(l.metric),
                        l.interval
                            .map_or("-".into(), |i| format!("[{}, {}]", usd(i.lo), usd(i.hi))),
                        usd(l.limit),
                        if l.pass { "yes" } else { "no" }.into(),
                    ]);
                    row
                })
                .collect();
            p.table("recommend", &header, &lines);
            for w in &r.warnings {
                p.para(w, Some("warn"));
            }
        }
    }
    Ok(())
}
