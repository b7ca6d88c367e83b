//! The lending markets' charts: the bad-debt distribution with each
//! protocol's losses side by side, liquidated value over time, and the
//! depth of the cascades.

use plotters::prelude::*;

use crate::error::OutputError;
use crate::montecarlo::metrics::LossMetrics;
use crate::output::charts::draw::{
    Area, Canvas, DynResult, FONT, Target, TimeAxis, axis_value, band, fmt_usd, quantiles, render,
};
use crate::output::recorder::{PathRecord, PathSummary};

/// What the lending charts gather from the recorded paths.
#[derive(Debug, Clone)]
pub struct LendingSeries {
    /// Per recorded step, liquidated (seized) value over paths.
    pub liquidated: Vec<Vec<f64>>,
    /// `depth[r]` = recorded steps ≥ 1 whose cascade had r rounds.
    pub depth: Vec<u64>,
    /// Per protocol: Σ over recorded paths of (last recorded bad_debt_cum,
    /// debt value at step 0).
    pub losses: Vec<(f64, f64)>,
}

impl LendingSeries {
    /// Empty series for `protocols` protocols.
    pub fn new(axis: &TimeAxis, protocols: usize) -> Self {
        LendingSeries {
            liquidated: axis.empty_series(),
            depth: Vec::new(),
            losses: vec![(0.0, 0.0); protocols],
        }
    }

    /// Mean bad debt ÷ initial debt of each protocol over the recorded paths.
    pub fn mean_loss_ratio(&self) -> Vec<f64> {
        self.losses
            .iter()
            .map(|&(bad, debt)| if debt > 0.0 { bad / debt } else { 0.0 })
            .collect()
    }

    /// Add one recorded path.
    pub fn add(&mut self, r: &PathRecord) {
        let n_protocols = self.losses.len();
        if n_protocols == 0 {
            return;
        }
        let rows = r.protocols.step.len();
        if rows >= n_protocols {
            for p in 0..n_protocols {
                self.losses[p].0 += r.protocols.bad_debt_cum[rows - n_protocols + p];
                self.losses[p].1 += r.protocols.debt_value[p];
            }
        }
        for (s, series) in self.liquidated.iter_mut().enumerate() {
            let rows = s * n_protocols..(s + 1) * n_protocols;
            series.push(r.protocols.seized_value[rows.clone()].iter().sum());
            let step = r.protocols.step[rows.start];
            if step > 0 {
                let rounds = r.protocols.cascade_rounds[rows.start] as usize;
                if self.depth.len() <= rounds {
                    self.depth.resize(rounds + 1, 0);
                }
                self.depth[rounds] += 1;
            }
        }
    }

    /// `bad_debt.png` (every path), then, with recorded paths,
    /// `liquidated_value.png` and `cascade_depth.png`; nothing without a
    /// lending market.
    pub fn draw(
        &self,
        axis: &TimeAxis,
        canvas: &mut Canvas<'_>,
        summaries: &[PathSummary],
        bad_debt: &LossMetrics,
        protocols: &[ProtocolLoss],
    ) -> Result<(), OutputError> {
        if self.losses.is_empty() {
            return Ok(());
        }
        canvas.emit("bad_debt.png", |t: Target<'_>| {
            render!(
                t,
                (1000, 1000),
                bad_debt_chart,
                summaries,
                bad_debt,
                protocols
            )
        })?;
        if axis.paths > 0 {
            canvas.emit("liquidated_value.png", |t: Target<'_>| {
                render!(t, (1000, 600), liquidated_chart, axis, self)
            })?;
            canvas.emit("cascade_depth.png", |t: Target<'_>| {
                render!(t, (1000, 600), depth_chart, self)
            })?;
        }
        Ok(())
    }
}

/// One protocol's bad debt for the side-by-side panel of `bad_debt.png`.
#[derive(Debug, Clone)]
pub struct ProtocolLoss {
    /// Name.
    pub name: String,
    /// Debt at step 0, USD.
    pub initial_debt: f64,
    /// Its bad debt over paths.
    pub bad_debt: LossMetrics,
}

/// Bad debt below this share of the initial debt counts as dust in the
/// chart's headline (a few dollars of rounding on a large book would
/// otherwise make P(bad debt > 0) look alarming).
pub const MATERIAL_SHARE: f64 = 0.001;

fn bad_debt_chart<DB: DrawingBackend>(
    root: &Area<DB>,
    summaries: &[PathSummary],
    m: &LossMetrics,
    protocols: &[ProtocolLoss],
) -> DynResult
where
    DB::ErrorType: 'static,
{
    let values: Vec<f64> = summaries.iter().map(|s| axis_value(s.bad_debt)).collect();
    let max = values.iter().copied().fold(0.0, f64::max);
    let debt: f64 = protocols.iter().map(|p| p.initial_debt).sum();
    let material = MATERIAL_SHARE * debt;
    let share =
        values.iter().filter(|&&v| v > material).count() as f64 / values.len().max(1) as f64;
    let (top_area, bottom_area) = root.split_vertically(560);
    let title = format!(
        "Bad debt over {} paths: P(> {:.1}% of debt = {}) = {:.1}%, P(> 0) = {:.1}%",
        values.len(),
        100.0 * MATERIAL_SHARE,
        fmt_usd(material),
        100.0 * share,
        100.0 * m.prob_positive
    );
    let bins = 40usize;
    let width = if max > 0.0 { max / bins as f64 } else { 1.0 };
    let mut counts = vec![0u64; bins];
    for &v in &values {
        let b = ((v / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mut chart = ChartBuilder::on(&top_area)
        .caption(title, (FONT, 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..width * bins as f64, 0.0..top * 1.35)?;
    chart
        .configure_mesh()
        .x_desc("bad debt per path, all protocols (USD)")
        .y_desc("paths")
        .x_label_formatter(&|v| fmt_usd(*v))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()?;
    let grey = RGBColor(120, 120, 120);
    chart.draw_series(counts.iter().enumerate().map(|(b, &c)| {
        let x0 = b as f64 * width;
        Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], grey.mix(0.7).filled())
    }))?;
    let marks = [
        (
            m.var95,
            format!("VaR95 = {}", fmt_usd(m.var95)),
            RGBColor(230, 120, 0),
        ),
        (
            m.var99,
            format!("VaR99 = {}", fmt_usd(m.var99)),
            RGBColor(200, 0, 0),
        ),
    ];
    for (x, label, colour) in marks {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, top * 1.1)],
                colour.stroke_width(2),
            )))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    protocol_panel(&bottom_area, protocols)?;
    Ok(())
}

/// Protocols side by side: mean, VaR95 and VaR99 of each one's bad debt as
/// a share of its own initial debt.
fn protocol_panel<DB: DrawingBackend>(area: &Area<DB>, protocols: &[ProtocolLoss]) -> DynResult
where
    DB::ErrorType: 'static,
{
    let pct = |v: f64, debt: f64| axis_value(if debt > 0.0 { 100.0 * v / debt } else { 0.0 });
    let bars: Vec<[f64; 3]> = protocols
        .iter()
        .map(|p| {
            let d = p.initial_debt;
            [
                pct(p.bad_debt.mean, d),
                pct(p.bad_debt.var95, d),
                pct(p.bad_debt.var99, d),
            ]
        })
        .collect();
    let top = bars.iter().flatten().copied().fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.4 } else { 1.0 };
    let n = protocols.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Each protocol's bad debt, % of its own debt at step 0",
            (FONT, 22),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..n as f64, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|_| String::new())
        .y_desc("% of the protocol's debt")
        .y_label_formatter(&|v| format!("{v:.3}"))
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()?;
    let colours = [
        ("mean", RGBColor(120, 120, 120)),
        ("VaR95", RGBColor(230, 120, 0)),
        ("VaR99", RGBColor(200, 0, 0)),
    ];
    // Each group's name above its bars (bars reach at most top / 1.4).
    chart.draw_series(protocols.iter().enumerate().map(|(i, p)| {
        Text::new(
            format!("{} ({} of debt)", p.name, fmt_usd(p.initial_debt)),
            (i as f64 + 0.15, top * 0.9),
            (FONT, 16).into_font().color(&BLACK),
        )
    }))?;
    for (k, (label, colour)) in colours.into_iter().enumerate() {
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let x0 = i as f64 + 0.15 + 0.24 * k as f64;
                Rectangle::new([(x0, 0.0), (x0 + 0.22, b[k])], colour.filled())
            }))?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn liquidated_chart<DB: DrawingBackend>(
    root: &Area<DB>,
    axis: &TimeAxis,
    data: &LendingSeries,
) -> DynResult
where
    DB::ErrorType: 'static,
{
    let xs = axis.hours();
    let mut mean = Vec::with_capacity(xs.len());
    let mut lo = Vec::with_capacity(xs.len());
    let mut hi = Vec::with_capacity(xs.len());
    for v in &data.liquidated {
        let q = quantiles(v, &[0.025, 0.975]);
        lo.push(q[0]);
        hi.push(q[1]);
        mean.push(v.iter().sum::<f64>() / v.len().max(1) as f64);
    }
    let top = axis_value(hi.iter().chain(&mean).copied().fold(0.0, f64::max)).max(1.0);
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "Liquidated collateral value per step over {} paths",
                axis.paths
            ),
            (FONT, 26),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(
            0.0..xs.last().copied().unwrap_or(1.0).max(1e-9),
            0.0..top * 1.4,
        )?;
    chart
        .configure_mesh()
        .x_desc("time (hours)")
        .y_desc("liquidated value per step (USD)")
        .y_label_formatter(&|v| fmt_usd(*v))
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()?;
    let red = RGBColor(214, 39, 40);
    chart
        .draw_series(std::iter::once(Polygon::new(
            band(&xs, &lo, &hi),
            red.mix(0.2),
        )))?
        .label("95% band (2.5–97.5%)")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], red.mix(0.2).filled()));
    chart
        .draw_series(LineSeries::new(
            xs.iter().copied().zip(mean),
            red.stroke_width(2),
        ))?
        .label("mean")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn depth_chart<DB: DrawingBackend>(root: &Area<DB>, data: &LendingSeries) -> DynResult
where
    DB::ErrorType: 'static,
{
    let total: u64 = data.depth.iter().sum();
    let quiet = data.depth.first().copied().unwrap_or(0);
    let deep = &data.depth.get(1..).unwrap_or(&[]);
    let max_rounds = deep.len().max(1);
    let top = deep.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "Cascade depth: steps by liquidation rounds ({} of {} path-steps had none)",
                quiet, total
            ),
            (FONT, 24),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.5..max_rounds as f64 + 0.5, 0.0..top * 1.1)?;
    chart
        .configure_mesh()
        .x_desc("rounds in the step's cascade")
        .y_desc("path-steps")
        .x_labels(max_rounds.min(20))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()?;
    let purple = RGBColor(148, 103, 189);
    chart.draw_series(deep.iter().enumerate().map(|(i, &c)| {
        let x = (i + 1) as f64;
        Rectangle::new([(x - 0.4, 0.0), (x + 0.4, c as f64)], purple.filled())
    }))?;
    if deep.iter().all(|&c| c == 0) {
        root.draw(&Text::new(
            "no step had a liquidation",
            (420, 300),
            (FONT, 22).into_font().color(&BLACK),
        ))?;
    }
    Ok(())
}
