//! Charts for people (PNG, drawn with plotters). Text is rendered with a
//! bundled font (DejaVu Sans, `assets/fonts`), so charts need no system
//! fonts or font libraries.
//!
//! Each mechanism draws its own charts (`market/charts.rs`,
//! `mechanism/*/charts.rs`) with the shared primitives of `draw`; this
//! module gathers their series as paths complete and draws them in order.
//! Time-series charts use the recorded paths (at most `CHART_PATHS`); the
//! bad-debt distribution uses every path.

pub mod draw;

pub use crate::graph::chart::draw_graph;
pub use crate::mechanism::lending::charts::{MATERIAL_SHARE, ProtocolLoss};
pub use draw::fmt_usd;

use crate::error::OutputError;
use crate::market::charts::MarketSeries;
use crate::mechanism::cdp::charts::CdpCharts;
use crate::mechanism::governance::charts::GovernanceCharts;
use crate::mechanism::lending::charts::LendingSeries;
use crate::mechanism::options::charts::OptionSeries;
use crate::mechanism::oracle::charts::OracleCharts;
use crate::mechanism::perp::charts::PerpCharts;
use crate::montecarlo::metrics::LossMetrics;
use crate::output::recorder::{PathRecord, PathSummary};
use crate::scenario::validated::Scenario;
use draw::TimeAxis;
pub use draw::{Canvas, Figure};

/// Recorded paths that feed the time-series charts, at most.
pub const CHART_PATHS: usize = 1000;

/// What the charts need, gathered block by block as paths complete: each
/// mechanism's series over the recorded steps.
#[derive(Debug, Clone)]
pub struct ChartData {
    axis: TimeAxis,
    market: MarketSeries,
    options: OptionSeries,
    perps: PerpCharts,
    oracles: OracleCharts,
    cdps: CdpCharts,
    governance: GovernanceCharts,
    lending: LendingSeries,
}

impl ChartData {
    /// Empty chart data for a scenario.
    pub fn new(sc: &Scenario) -> Self {
        let axis = TimeAxis {
            hours_per_step: sc.dt_hours,
            steps: (0..=sc.steps).filter(|&t| sc.records_step(t)).collect(),
            paths: 0,
        };
        ChartData {
            market: MarketSeries::new(sc, &axis),
            options: OptionSeries::new(sc, &axis),
            perps: PerpCharts::new(sc, &axis),
            oracles: OracleCharts::new(sc, &axis),
            cdps: CdpCharts::new(sc, &axis),
            governance: GovernanceCharts::new(sc, &axis),
            lending: LendingSeries::new(&axis, sc.protocols.len()),
            axis,
        }
    }

    /// Mean bad debt ÷ initial debt of each protocol over the recorded paths.
    pub fn mean_loss_ratio(&self) -> Vec<f64> {
        self.lending.mean_loss_ratio()
    }

    /// Add a block of completed paths.
    pub fn add(&mut self, records: &[PathRecord]) {
        for r in records.iter().filter(|r| r.recorded) {
            if self.axis.paths >= CHART_PATHS {
                return;
            }
            self.axis.paths += 1;
            self.market.add(r);
            self.options.add(r);
            self.perps.add(r);
            self.oracles.add(r);
            self.cdps.add(r);
            self.governance.add(r);
            self.lending.add(r);
        }
    }
}

/// Draw every chart on `canvas`.
pub fn draw_all(
    canvas: &mut Canvas<'_>,
    data: &ChartData,
    summaries: &[PathSummary],
    bad_debt: &LossMetrics,
    protocols: &[ProtocolLoss],
) -> Result<(), OutputError> {
    let axis = &data.axis;
    // Time series need recorded paths (`record_paths = 0` records none).
    if axis.paths > 0 {
        data.market.draw(axis, canvas)?;
        data.options.draw(axis, canvas)?;
        data.perps.draw(axis, canvas)?;
        data.oracles.draw(axis, canvas)?;
        data.cdps.draw(axis, canvas)?;
        data.governance.draw(axis, canvas)?;
    }
    data.lending
        .draw(axis, canvas, summaries, bad_debt, protocols)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::perp::charts::PerpSeries;
    use crate::output::charts::draw::{FileNames, fmt_usd};
    use crate::output::recorder::PathSummary;

    /// A scenario of `steps` steps with one lending market (so the lending
    /// charts are drawn), every step recorded.
    fn scenario(steps: u32) -> Scenario {
        let text = format!(
            r#"
[simulation]
name = "charts"
steps = {steps}
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7
"#
        );
        Scenario::from_toml(
            &text,
            "charts",
            std::path::Path::new("."),
            &Default::default(),
        )
        .unwrap()
    }

    /// Chart data of `paths` paths over `steps` steps whose every series
    /// takes the values `v(path, step)`.
    fn data(paths: usize, steps: usize, v: impl Fn(usize, usize) -> f64) -> ChartData {
        let series: Vec<Vec<f64>> = (0..steps)
            .map(|t| (0..paths).map(|p| v(p, t)).collect())
            .collect();
        let sc = scenario(steps as u32 - 1);
        let mut d = ChartData::new(&sc);
        assert_eq!(d.axis.steps.len(), steps);
        d.axis.paths = paths;
        d.market.prices = vec![("X".into(), series.clone())];
        d.options.hedgers = vec![("h".into(), series.clone(), series.clone())];
        d.perps.markets = vec![PerpSeries {
            name: "p".into(),
            fund: series.clone(),
            funding: series.clone(),
            premium: series.clone(),
        }];
        d.lending.liquidated = series;
        d.lending.depth = vec![3, 2, 1];
        d
    }

    fn summaries(values: &[f64]) -> Vec<PathSummary> {
        values
            .iter()
            .enumerate()
            .map(|(p, &v)| PathSummary {
                path: p as u32,
                bad_debt: v,
                ..Default::default()
            })
            .collect()
    }

    /// Draw every chart of `d` on another thread; fail if it takes longer
    /// than a minute (a hang) or errs.
    fn draws_in_time(d: ChartData, bad: Vec<f64>) {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            let rows = summaries(&bad);
            let m = crate::montecarlo::metrics::loss_metrics(&bad);
            let protocols = [ProtocolLoss {
                name: "lend".into(),
                initial_debt: 1e6,
                bad_debt: m,
            }];
            // Both backends: the PNG files and the report's SVG.
            let r = Canvas::new(dir.path()).and_then(|c| {
                let mut c = c.keep_svg();
                draw_all(&mut c, &d, &rows, &m, &protocols)?;
                Ok(c.figures.len())
            });
            let _ = tx.send(r.map_err(|e| e.to_string()));
        });
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(r) => assert!(r.is_ok(), "{r:?}"),
            Err(_) => panic!("drawing the charts did not finish within a minute"),
        }
    }

    #[test]
    fn charts_draw_extreme_but_finite_data_without_hanging() {
        type Case = (&'static str, Box<dyn Fn(usize, usize) -> f64>);
        let cases: Vec<Case> = vec![
            (
                "near f64::MAX",
                Box::new(|p, t| 1.7e308 - (p + t) as f64 * 1e292),
            ),
            ("huge and flat", Box::new(|_, _| 1e300)),
            (
                "flat at a magnitude finer than its floats",
                Box::new(|p, _| 1e20 + p as f64),
            ),
            ("tiny", Box::new(|p, t| 1e-300 * (1 + p + t) as f64)),
            (
                "both signs",
                Box::new(|p, _| if p % 2 == 0 { -1e308 } else { 1e308 }),
            ),
            ("zero", Box::new(|_, _| 0.0)),
        ];
        for (name, f) in cases {
            eprintln!("case: {name}");
            let bad: Vec<f64> = (0..5).map(|p| f(p, 0).abs()).collect();
            draws_in_time(data(5, 4, f), bad);
        }
    }

    #[test]
    fn no_recorded_paths_draws_only_the_distribution() {
        let dir = tempfile::tempdir().unwrap();
        let d = data(0, 4, |_, _| 1.0);
        let rows = summaries(&[1.0, 2.0]);
        let m = crate::montecarlo::metrics::loss_metrics(&[1.0, 2.0]);
        let protocols = [ProtocolLoss {
            name: "lend".into(),
            initial_debt: 1e6,
            bad_debt: m,
        }];
        let mut canvas = Canvas::new(dir.path()).unwrap();
        draw_all(&mut canvas, &d, &rows, &m, &protocols).unwrap();
        assert!(
            canvas.figures.is_empty(),
            "SVG is drawn only when asked for"
        );
        let names: Vec<String> = canvas
            .written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["bad_debt.png"]);
    }

    #[test]
    fn chart_file_names_are_unique_whatever_the_names() {
        let mut f = FileNames::default();
        let names: Vec<String> = ["A.B", "A_B", "A/B", "a_b", "A B"]
            .iter()
            .map(|n| f.unique("price_fan", n))
            .collect();
        let mut lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        lower.sort();
        lower.dedup();
        assert_eq!(lower.len(), names.len(), "{names:?}");
        assert_eq!(names[0], "price_fan_A.B.png");
    }

    #[test]
    fn usd_labels_keep_three_significant_digits() {
        assert_eq!(fmt_usd(0.0), "0");
        assert_eq!(fmt_usd(0.952), "0.952");
        assert_eq!(fmt_usd(1.05), "1.05");
        assert_eq!(fmt_usd(42.25), "42.2");
        assert_eq!(fmt_usd(512.0), "512");
        assert_eq!(fmt_usd(3000.0), "3.0k");
        assert_eq!(fmt_usd(6_533_908.0), "6.5M");
        assert_eq!(fmt_usd(2.5e9), "2.5B");
        assert_eq!(fmt_usd(0.0004), "4.0e-4");
    }
}
