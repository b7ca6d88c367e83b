//! A run's `report.html`: the scenario and its sources, the headline and
//! each protocol's and perp market's risk metrics with 95% intervals, the
//! charts inline, and provenance.

use crate::montecarlo::bootstrap::{Interval, TailIntervals};
use crate::montecarlo::metrics::LossMetrics;
use crate::output::charts::Figure;
use crate::output::manifest::Manifest;
use crate::output::summary::Summary;
use crate::report::html::{Page, count, pct, usd};
use crate::scenario::validated::Scenario;

/// z of a two-sided 95% normal interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95% interval of a mean over n paths, normal approximation:
/// mean ± z · std / √n.
pub fn mean_interval(m: &LossMetrics) -> Interval {
    let half = if m.n > 1 {
        Z95 * m.std / (m.n as f64).sqrt()
    } else {
        f64::NAN
    };
    Interval {
        lo: m.mean - half,
        hi: m.mean + half,
    }
}

fn with_interval(v: f64, i: Option<Interval>, fmt: fn(f64) -> String) -> String {
    match i {
        Some(i) if i.lo.is_finite() && i.hi.is_finite() => {
            format!("{} [{}, {}]", fmt(v), fmt(i.lo), fmt(i.hi))
        }
        _ => fmt(v),
    }
}

/// One row of a metrics table: the mean with its interval, median, VaR95,
/// VaR99 and ES99 (with their bootstrap intervals when given), max and
/// P(> 0).
fn metric_row(
    name: &str,
    m: &LossMetrics,
    tail: Option<&TailIntervals>,
    fmt: fn(f64) -> String,
) -> Vec<String> {
    vec![
        name.to_string(),
        with_interval(m.mean, Some(mean_interval(m)), fmt),
        fmt(m.p50),
        fmt(m.var95),
        with_interval(m.var99, tail.map(|t| t.var), fmt),
        with_interval(m.es99, tail.map(|t| t.es), fmt),
        fmt(m.max),
        pct(m.prob_positive),
    ]
}

const METRIC_HEADER: [&str; 8] = [
    "metric",
    "mean [95% CI]",
    "median",
    "VaR95",
    "VaR99 [95% CI]",
    "ES99 [95% CI]",
    "max",
    "P(> 0)",
];

/// The report of a run of `sc`, from its summary, manifest and charts
/// (drawn in the folder `charts`).
pub fn run_report(
    sc: &Scenario,
    summary: &Summary,
    manifest: &Manifest,
    figures: &[Figure],
) -> String {
    let mut p = Page::new();
    p.heading(1, &format!("contagion run: {}", sc.name));
    p.para(
        &format!(
            "{} paths × {} steps of {} h, {} positions, seed {}.",
            summary.paths, summary.steps, sc.dt_hours, summary.positions, sc.seed
        ),
        Some("muted"),
    );

    tail_sections(&mut p, summary);
    mechanism_sections(&mut p, summary);
    network_sections(&mut p, summary);
    closing_sections(&mut p, sc, manifest, figures);
    p.finish(&format!("contagion: {}", sc.name))
}

/// The headline and the totals over paths, with their intervals.
fn tail_sections(p: &mut Page, summary: &Summary) {
    p.heading(2, "Headline");
    let t = &summary.tail_ci;
    let h = &summary.headline;
    p.table(
        "headline",
        &["figure", "value", "95% CI"],
        &[
            headline_row(
                "VaR95 of insolvent debt (Gauntlet's VaR)",
                h.var95_insolvent_debt,
                None,
            ),
            headline_row(
                "VaR95 of liquidated value (Gauntlet's LaR)",
                h.lar95_liquidated_value,
                None,
            ),
            headline_row(
                "VaR99 of insolvent debt (Chaos Labs' extreme VaR)",
                h.extreme_var99_insolvent_debt,
                Some(t.insolvent_debt.var),
            ),
            headline_row("VaR95 of bad debt", h.var95_bad_debt, None),
            headline_row("VaR99 of bad debt", h.var99_bad_debt, Some(t.bad_debt.var)),
            headline_row(
                "ES99 of bad debt",
                summary.bad_debt.es99,
                Some(t.bad_debt.es),
            ),
        ],
    );
    if summary.tail_ci.thin() {
        p.para(
            &format!(
                "VaR99 and ES99 rest on the worst {} of {} paths: too few to trust; run more paths.",
                t.bad_debt.tail_paths, summary.paths
            ),
            Some("warn"),
        );
    }
    p.para(
        "Means carry a normal 95% interval (mean ± 1.96 · std / √paths); VaR99 and ES99 a \
         95% percentile-bootstrap interval (1,000 resamples seeded from the scenario's seed). \
         Amounts in USD.",
        Some("muted"),
    );

    p.heading(2, "All protocols, per path");
    p.table(
        "totals",
        &METRIC_HEADER,
        &[
            metric_row("bad debt", &summary.bad_debt, Some(&t.bad_debt), usd),
            metric_row(
                "insolvent debt",
                &summary.insolvent_debt,
                Some(&t.insolvent_debt),
                usd,
            ),
            metric_row(
                "liquidated value",
                &summary.liquidated_value,
                Some(&t.liquidated_value),
                usd,
            ),
            metric_row("liquidations", &summary.liquidations, None, count),
        ],
    );
    if summary.capped_steps > 0 {
        p.para(
            &format!(
                "{} path-steps hit the cascade's round cap (max_cascade_rounds): their cascades were cut short.",
                summary.capped_steps
            ),
            Some("warn"),
        );
    }
}

/// Each protocol's and perp market's metrics.
fn mechanism_sections(p: &mut Page, summary: &Summary) {
    if !summary.protocols.is_empty() {
        p.heading(2, "Per protocol");
        for o in &summary.protocols {
            p.heading(
                3,
                &format!(
                    "{} (debt at step 0: {} USD)",
                    o.protocol,
                    usd(o.initial_debt_usd)
                ),
            );
            p.table(
                &format!("protocol-{}", o.protocol),
                &METRIC_HEADER,
                &[
                    metric_row("bad debt", &o.bad_debt, Some(&o.bad_debt_tail_ci), usd),
                    metric_row(
                        "bad debt via receipt collateral",
                        &o.bad_debt_contagion,
                        None,
                        usd,
                    ),
                    metric_row("insolvent debt", &o.insolvent_debt, None, usd),
                    metric_row("liquidated value", &o.liquidated_value, None, usd),
                    metric_row("liquidations", &o.liquidations, None, count),
                ],
            );
        }
    }

    if let Some(perps) = &summary.perps {
        p.heading(2, "Per perp market");
        for m in &perps.markets {
            p.heading(3, &m.market);
            p.table(
                &format!("perp-{}", m.market),
                &METRIC_HEADER,
                &[
                    metric_row("accounts liquidated", &m.liquidations, None, count),
                    metric_row("positions auto-deleveraged", &m.adl_events, None, count),
                    metric_row("insurance fund drawn", &m.fund_drawn, None, usd),
                    metric_row(
                        "deficit absorbed by the vault",
                        &m.vault_bad_debt,
                        Some(&m.vault_bad_debt_tail_ci),
                        usd,
                    ),
                ],
            );
        }
    }
}

/// The protocol network, and what came through cut links.
fn network_sections(p: &mut Page, summary: &Summary) {
    if let Some(sys) = &summary.systemic {
        p.heading(2, "Protocol network");
        let rows: Vec<Vec<String>> = sys
            .protocols
            .iter()
            .map(|s| {
                vec![
                    s.protocol.clone(),
                    usd(s.capital_usd),
                    s.debtrank_of_default
                        .map_or("-".into(), |d| format!("{d:.3}")),
                ]
            })
            .collect();
        p.table(
            "systemic",
            &["protocol", "capital (USD)", "DebtRank of its default alone"],
            &rows,
        );
        p.table(
            "systemic-paths",
            &METRIC_HEADER,
            &[
                metric_row("DebtRank of the path's losses", &sys.debtrank, None, |v| {
                    format!("{v:.4}")
                }),
                metric_row(
                    "suppliers' shortfall under clearing",
                    &sys.clearing_shortfall,
                    None,
                    usd,
                ),
            ],
        );
        p.para(
            &format!(
                "Some protocol defaults under end-of-path clearing on {} of paths.",
                pct(sys.prob_clearing_default)
            ),
            None,
        );
    }

    if let Some(a) = &summary.attribution {
        p.heading(2, &format!("Through the cut links ({})", a.cuts.join(", ")));
        let rows: Vec<Vec<String>> = a
            .protocols
            .iter()
            .map(|x| {
                vec![
                    x.protocol.clone(),
                    usd(x.bad_debt),
                    usd(x.bad_debt_cut),
                    usd(x.bad_debt_via_links),
                    usd(x.liquidated_value),
                    usd(x.liquidated_value_cut),
                    usd(x.liquidated_value_via_links),
                ]
            })
            .collect();
        p.table(
            "attribution",
            &[
                "protocol",
                "mean bad debt",
                "with links cut",
                "via the links",
                "mean liquidated",
                "with links cut",
                "via the links",
            ],
            &rows,
        );
    }
}

/// The charts, the scenario with its sources, and provenance.
fn closing_sections(p: &mut Page, sc: &Scenario, manifest: &Manifest, figures: &[Figure]) {
    p.heading(2, "Charts");
    if figures.is_empty() {
        p.para("This run drew no charts.", None);
    }
    for f in figures {
        p.figure("charts", f);
    }

    p.heading(2, "Scenario");
    if sc.notes.is_empty() {
        p.para("The scenario file has no comment block.", Some("muted"));
    } else {
        p.pre(&sc.notes, None);
    }
    let resolved = toml::to_string(&sc.resolved)
        .unwrap_or_else(|_| serde_json::to_string_pretty(&manifest.scenario).unwrap_or_default());
    p.pre(
        &resolved,
        Some("The scenario as run (defaults and overrides applied)"),
    );

    p.heading(2, "Provenance");
    let mut rows = vec![
        vec![
            "tool".into(),
            format!("{} {}", manifest.tool, manifest.version),
        ],
        vec!["git commit".into(), manifest.git_commit.to_string()],
        vec!["created".into(), manifest.created_at.clone()],
        vec!["seed".into(), manifest.seed.to_string()],
        vec![
            "paths recorded in full".into(),
            manifest.record_paths.min(manifest.paths).to_string(),
        ],
    ];
    if !manifest.cuts.is_empty() {
        rows.push(vec!["links cut".into(), manifest.cuts.join(", ")]);
    }
    p.table("provenance", &["", "value"], &rows);
    p.para(
        "manifest.json holds the same and the run's wall time (left out here, so that a run's \
         report is the same bytes for the same scenario, seed and SOURCE_DATE_EPOCH); every \
         Parquet file of this folder carries it in its metadata.",
        Some("muted"),
    );
}

fn headline_row(name: &str, v: f64, ci: Option<Interval>) -> Vec<String> {
    vec![
        name.to_string(),
        usd(v),
        ci.filter(|i| i.lo.is_finite() && i.hi.is_finite())
            .map_or("-".into(), |i| format!("[{}, {}]", usd(i.lo), usd(i.hi))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_interval_is_the_normal_one() {
        let m = crate::montecarlo::metrics::loss_metrics(&[1.0, 2.0, 3.0, 4.0]);
        // std of 1..4 (n − 1) = √(5/3); half-width 1.96 · √(5/3) / 2.
        let i = mean_interval(&m);
        let half = Z95 * (5.0f64 / 3.0).sqrt() / 2.0;
        assert!((i.lo - (2.5 - half)).abs() < 1e-12 && (i.hi - (2.5 + half)).abs() < 1e-12);
        let one = crate::montecarlo::metrics::loss_metrics(&[7.0]);
        assert!(mean_interval(&one).lo.is_nan(), "one path has no interval");
    }
}
