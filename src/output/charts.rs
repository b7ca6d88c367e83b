//! Charts for people (PNG, drawn with plotters). Text is rendered with a
//! bundled font (DejaVu Sans, `assets/fonts`), so charts need no system
//! fonts or font libraries.
//!
//! Time-series charts use the recorded paths (at most `CHART_PATHS`); the
//! bad-debt distribution uses every path.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;

use crate::error::OutputError;
use crate::graph::collateral::CollateralGraph;
use crate::montecarlo::metrics::{LossMetrics, quantile_sorted};
use crate::output::recorder::{PathRecord, PathSummary};
use crate::scenario::validated::Scenario;

/// Recorded paths that feed the time-series charts, at most.
pub const CHART_PATHS: usize = 1000;

pub(crate) const FONT: &str = "sans-serif";
static FONT_ONCE: Once = Once::new();

pub(crate) fn register_font() {
    FONT_ONCE.call_once(|| {
        plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
        )
        .unwrap_or_else(|_| panic!("the bundled font is a valid TrueType file"));
    });
}

type DynResult = Result<(), Box<dyn Error>>;

/// What the charts need, gathered block by block as paths complete.
/// A name and two series, each per recorded step the values over paths.
type TwoSeries = (String, Vec<Vec<f64>>, Vec<Vec<f64>>);

#[derive(Debug, Clone)]
struct PegSeries {
    asset: usize,
    underlying: usize,
    symbol: String,
    underlying_symbol: String,
    /// Per recorded step, the ratio over paths.
    ratio: Vec<Vec<f64>>,
}

#[derive(Debug, Clone)]
struct PerpSeries {
    name: String,
    fund: Vec<Vec<f64>>,
    funding: Vec<Vec<f64>>,
    premium: Vec<Vec<f64>>,
}

#[derive(Debug, Clone)]
pub struct ChartData {
    hours_per_step: f64,
    /// Recorded steps, in order.
    steps: Vec<u32>,
    /// Stochastic assets: (symbol, per recorded step the values over paths).
    prices: Vec<(String, Vec<Vec<f64>>)>,
    /// Pegged assets: their price in units of the underlying.
    pegs: Vec<PegSeries>,
    /// Hedgers: (name, per recorded step over paths: net delta, gamma).
    hedgers: Vec<TwoSeries>,
    /// Option agents in greeks rows (hedgers, then vaults).
    option_agents: usize,
    /// Perps: per recorded step over paths, the insurance fund, the funding
    /// rate annualised (%) and the mark's premium over the index (bps).
    perps: Vec<PerpSeries>,
    /// Per recorded step, liquidated (seized) value over paths.
    liquidated: Vec<Vec<f64>>,
    /// `depth[r]` = recorded steps ≥ 1 whose cascade had r rounds.
    depth: Vec<u64>,
    paths: usize,
    stochastic: Vec<usize>,
    /// Per protocol: Σ over recorded paths of (last recorded bad_debt_cum,
    /// debt value at step 0).
    losses: Vec<(f64, f64)>,
}

impl ChartData {
    /// Empty chart data for a scenario.
    pub fn new(sc: &Scenario) -> Self {
        let steps: Vec<u32> = (0..=sc.steps).filter(|&t| sc.records_step(t)).collect();
        ChartData {
            hours_per_step: sc.dt_hours,
            prices: sc
                .stochastic
                .iter()
                .map(|&a| (sc.assets[a].symbol.clone(), vec![Vec::new(); steps.len()]))
                .collect(),
            pegs: sc
                .assets
                .iter()
                .enumerate()
                .filter_map(|(a, asset)| {
                    asset.peg.map(|p| PegSeries {
                        asset: a,
                        underlying: p.to,
                        symbol: asset.symbol.clone(),
                        underlying_symbol: sc.assets[p.to].symbol.clone(),
                        ratio: vec![Vec::new(); steps.len()],
                    })
                })
                .collect(),
            hedgers: sc
                .hedgers
                .iter()
                .map(|h| {
                    (
                        h.name.clone(),
                        vec![Vec::new(); steps.len()],
                        vec![Vec::new(); steps.len()],
                    )
                })
                .collect(),
            option_agents: sc.hedgers.len() + sc.option_vaults.len(),
            perps: sc
                .perps
                .iter()
                .map(|p| PerpSeries {
                    name: p.name.clone(),
                    fund: vec![Vec::new(); steps.len()],
                    funding: vec![Vec::new(); steps.len()],
                    premium: vec![Vec::new(); steps.len()],
                })
                .collect(),
            liquidated: vec![Vec::new(); steps.len()],
            depth: Vec::new(),
            paths: 0,
            stochastic: sc.stochastic.clone(),
            losses: vec![(0.0, 0.0); sc.protocols.len()],
            steps,
        }
    }

    /// Mean bad debt ÷ initial debt of each protocol over the recorded paths.
    pub fn mean_loss_ratio(&self) -> Vec<f64> {
        self.losses
            .iter()
            .map(|&(bad, debt)| if debt > 0.0 { bad / debt } else { 0.0 })
            .collect()
    }

    /// Add a block of completed paths.
    pub fn add(&mut self, records: &[PathRecord], n_assets: usize, n_protocols: usize) {
        for r in records.iter().filter(|r| r.recorded) {
            if self.paths >= CHART_PATHS {
                return;
            }
            self.paths += 1;
            let rows = r.protocols.step.len();
            if rows >= n_protocols {
                for p in 0..n_protocols {
                    self.losses[p].0 += r.protocols.bad_debt_cum[rows - n_protocols + p];
                    self.losses[p].1 += r.protocols.debt_value[p];
                }
            }
            for (k, &a) in self.stochastic.iter().enumerate() {
                for (s, series) in self.prices[k].1.iter_mut().enumerate() {
                    series.push(r.market.fundamental[s * n_assets + a]);
                }
            }
            for peg in &mut self.pegs {
                for (s, series) in peg.ratio.iter_mut().enumerate() {
                    let f = &r.market.fundamental;
                    series.push(f[s * n_assets + peg.asset] / f[s * n_assets + peg.underlying]);
                }
            }
            for (h, (_, delta, gamma)) in self.hedgers.iter_mut().enumerate() {
                for s in 0..delta.len() {
                    let row = s * self.option_agents + h;
                    delta[s].push(r.greeks.delta[row]);
                    gamma[s].push(r.greeks.gamma[row]);
                }
            }
            let n_perps = self.perps.len();
            let per_year = 8760.0 / self.hours_per_step;
            for (m, series) in self.perps.iter_mut().enumerate() {
                for s in 0..series.fund.len() {
                    let row = s * n_perps + m;
                    let p = &r.perps;
                    series.fund[s].push(p.insurance_fund[row]);
                    series.funding[s].push(100.0 * p.funding_rate[row] * per_year);
                    series.premium[s].push(1e4 * (p.mark[row] / p.index[row] - 1.0));
                }
            }
            if n_protocols == 0 {
                continue;
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
    }
}

/// Draw every chart into `dir`; returns the files written.
pub fn draw_all(
    dir: &Path,
    data: &ChartData,
    summaries: &[PathSummary],
    bad_debt: &LossMetrics,
    protocols: &[ProtocolLoss],
) -> Result<Vec<PathBuf>, OutputError> {
    register_font();
    std::fs::create_dir_all(dir).map_err(|e| OutputError::io(dir, e))?;
    let mut written = Vec::new();
    let mut emit = |name: String, result: DynResult| -> Result<(), OutputError> {
        let path = dir.join(name);
        result.map_err(|e| OutputError::Chart {
            path: path.clone(),
            message: e.to_string().replace('\n', " "),
        })?;
        written.push(path);
        Ok(())
    };
    let mut files = FileNames::default();
    // Time series need recorded paths (`record_paths = 0` records none).
    let has_series = data.paths > 0;
    for (symbol, series) in data.prices.iter().filter(|_| has_series) {
        let name = files.unique("price_fan", symbol);
        let title = format!("{symbol} fundamental price over {} paths", data.paths);
        emit(
            name.clone(),
            fan_chart(&dir.join(&name), &title, "price (USD)", data, series),
        )?;
    }
    for peg in data.pegs.iter().filter(|_| has_series) {
        let (symbol, under) = (&peg.symbol, &peg.underlying_symbol);
        let name = files.unique("peg", symbol);
        let title = format!("{symbol} in {under} over {} paths", data.paths);
        let y = format!("price ({under} per {symbol})");
        emit(
            name.clone(),
            fan_chart(&dir.join(&name), &title, &y, data, &peg.ratio),
        )?;
    }
    for (name, delta, gamma) in data.hedgers.iter().filter(|_| has_series) {
        let file = files.unique("hedger", name);
        emit(
            file.clone(),
            stacked_fans(
                &dir.join(&file),
                data,
                &[
                    (format!("{name}: net delta"), "delta (units)", delta),
                    (format!("{name}: gamma"), "gamma (units per USD)", gamma),
                ],
            ),
        )?;
    }
    for p in data.perps.iter().filter(|_| has_series) {
        let (name, file) = (&p.name, files.unique("perp", &p.name));
        emit(
            file.clone(),
            stacked_fans(
                &dir.join(&file),
                data,
                &[
                    (format!("{name}: insurance fund"), "fund (USD)", &p.fund),
                    (
                        format!("{name}: funding rate, annualised (longs pay when > 0)"),
                        "% a year",
                        &p.funding,
                    ),
                    (
                        format!("{name}: mark against index (mark / index − 1)"),
                        "basis points",
                        &p.premium,
                    ),
                ],
            ),
        )?;
    }
    // Lending charts only where there are lending markets.
    let lending = !data.losses.is_empty();
    if lending {
        emit(
            "bad_debt.png".into(),
            bad_debt_chart(&dir.join("bad_debt.png"), summaries, bad_debt, protocols),
        )?;
    }
    if has_series && lending {
        emit(
            "liquidated_value.png".into(),
            liquidated_chart(&dir.join("liquidated_value.png"), data),
        )?;
        emit(
            "cascade_depth.png".into(),
            depth_chart(&dir.join("cascade_depth.png"), data),
        )?;
    }
    Ok(written)
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

/// Chart file names, unique even on a case-insensitive disk: a name whose
/// sanitised form was already used gets `-2`, `-3`, … appended.
#[derive(Debug, Default)]
pub(crate) struct FileNames {
    used: std::collections::BTreeSet<String>,
}

impl FileNames {
    /// `<prefix>_<sanitised name>.png`, unique among the names given so far.
    pub(crate) fn unique(&mut self, prefix: &str, name: &str) -> String {
        let stem = format!("{prefix}_{}", sanitize(name));
        let mut file = format!("{stem}.png");
        let mut k = 2;
        while !self.used.insert(file.to_ascii_lowercase()) {
            file = format!("{stem}-{k}.png");
            k += 1;
        }
        file
    }
}

/// A name as a file-name fragment: letters, digits and `. _ - + @` kept
/// (the characters a scenario's names may use), anything else as `_`, at
/// most 64 characters.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-+@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Format a USD amount compactly: 1.2k, 3.4M, 5.6B.
pub fn fmt_usd(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || a >= 1e15 {
        return format!("{v:.1e}");
    }
    let (x, unit) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if !unit.is_empty() {
        return format!("{x:.1}{unit}");
    }
    // Below 1,000: about three significant digits, so a 1-dollar token's
    // axis reads 0.95, 1.00, 1.05 rather than 1, 1, 1.
    match a {
        a if a >= 100.0 || a == 0.0 => format!("{x:.0}"),
        a if a >= 10.0 => format!("{x:.1}"),
        a if a >= 1.0 => format!("{x:.2}"),
        a if a >= 0.01 => format!("{x:.3}"),
        _ => format!("{x:.1e}"),
    }
}

fn quantiles(values: &[f64], qs: &[f64]) -> Vec<f64> {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    qs.iter().map(|&q| quantile_sorted(&s, q)).collect()
}

pub(crate) fn band(xs: &[f64], lo: &[f64], hi: &[f64]) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = xs.iter().copied().zip(hi.iter().copied()).collect();
    pts.extend(xs.iter().copied().zip(lo.iter().copied()).rev());
    pts
}

/// Largest magnitude an axis spans: beyond it, padding and tick spacing
/// would overflow.
const AXIS_LIMIT: f64 = 1e300;

/// A value an axis can hold: finite (NaN and ±∞ read as 0) and within
/// ±`AXIS_LIMIT`.
pub(crate) fn axis_value(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(-AXIS_LIMIT, AXIS_LIMIT)
    } else {
        0.0
    }
}

/// A padded axis range plotters can always draw, whatever the data: finite,
/// ordered, within ±1e300 and at least 0.1% of its magnitude wide (the
/// tick search never ends on a range narrower than the spacing of floats
/// at its magnitude).
pub(crate) fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (axis_value(lo), axis_value(hi));
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    let span = (hi - lo).max(hi.abs().max(lo.abs()) * 1e-3).max(1e-9);
    (lo - 0.05 * span)..(hi + 0.05 * span)
}

fn fan_chart(
    path: &Path,
    title: &str,
    y_desc: &str,
    data: &ChartData,
    series: &[Vec<f64>],
) -> DynResult {
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    fan_on(&root, title, y_desc, data, series)?;
    root.present()?;
    Ok(())
}

/// Fans one above the other in one PNG.
fn stacked_fans(
    path: &Path,
    data: &ChartData,
    panels: &[(String, &str, &Vec<Vec<f64>>)],
) -> DynResult {
    let height = 500 * panels.len() as u32;
    let root = BitMapBackend::new(path, (1000, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, (title, y, series)) in areas.iter().zip(panels) {
        fan_on(area, title, y, data, series)?;
    }
    root.present()?;
    Ok(())
}

/// A fan (median, 25–75% and 5–95% bands over paths) of `series` (per
/// recorded step, the values over paths) on `root`.
fn fan_on(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    y_desc: &str,
    data: &ChartData,
    series: &[Vec<f64>],
) -> DynResult {
    let xs: Vec<f64> = data
        .steps
        .iter()
        .map(|&t| t as f64 * data.hours_per_step)
        .collect();
    let qs = [0.05, 0.25, 0.5, 0.75, 0.95];
    let per_step: Vec<Vec<f64>> = series.iter().map(|v| quantiles(v, &qs)).collect();
    let q = |i: usize| per_step.iter().map(|r| r[i]).collect::<Vec<f64>>();
    let (q05, q25, q50, q75, q95) = (q(0), q(1), q(2), q(3), q(4));
    let lo = axis_value(q05.iter().copied().fold(f64::INFINITY, f64::min));
    let hi = axis_value(q95.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    // Headroom above the fan, where the legend goes without covering it.
    let hi = hi + 0.4 * (hi - lo).abs();

    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(
            0.0..xs.last().copied().unwrap_or(1.0).max(1e-9),
            padded(lo, hi),
        )?;
    chart
        .configure_mesh()
        .x_desc("time (hours)")
        .y_desc(y_desc)
        .y_label_formatter(&|v| fmt_usd(*v))
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()?;
    let blue = RGBColor(31, 119, 180);
    chart
        .draw_series(std::iter::once(Polygon::new(
            band(&xs, &q05, &q95),
            blue.mix(0.15),
        )))?
        .label("5–95%")
        .legend(move |(x, y)| {
            Rectangle::new([(x, y - 6), (x + 18, y + 6)], blue.mix(0.15).filled())
        });
    chart
        .draw_series(std::iter::once(Polygon::new(
            band(&xs, &q25, &q75),
            blue.mix(0.35),
        )))?
        .label("25–75%")
        .legend(move |(x, y)| {
            Rectangle::new([(x, y - 6), (x + 18, y + 6)], blue.mix(0.35).filled())
        });
    chart
        .draw_series(LineSeries::new(
            xs.iter().copied().zip(q50),
            blue.stroke_width(2),
        ))?
        .label("median")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], blue.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn bad_debt_chart(
    path: &Path,
    summaries: &[PathSummary],
    m: &LossMetrics,
    protocols: &[ProtocolLoss],
) -> DynResult {
    let values: Vec<f64> = summaries.iter().map(|s| axis_value(s.bad_debt)).collect();
    let max = values.iter().copied().fold(0.0, f64::max);
    let debt: f64 = protocols.iter().map(|p| p.initial_debt).sum();
    let material = MATERIAL_SHARE * debt;
    let share =
        values.iter().filter(|&&v| v > material).count() as f64 / values.len().max(1) as f64;
    let root = BitMapBackend::new(path, (1000, 1000)).into_drawing_area();
    root.fill(&WHITE)?;
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
    root.present()?;
    Ok(())
}

/// Protocols side by side: mean, VaR95 and VaR99 of each one's bad debt as
/// a share of its own initial debt.
fn protocol_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    protocols: &[ProtocolLoss],
) -> DynResult {
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

fn liquidated_chart(path: &Path, data: &ChartData) -> DynResult {
    let xs: Vec<f64> = data
        .steps
        .iter()
        .map(|&t| t as f64 * data.hours_per_step)
        .collect();
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
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Liquidated collateral value per step over {} paths",
                data.paths
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
    root.present()?;
    Ok(())
}

fn depth_chart(path: &Path, data: &ChartData) -> DynResult {
    let total: u64 = data.depth.iter().sum();
    let quiet = data.depth.first().copied().unwrap_or(0);
    let deep = &data.depth.get(1..).unwrap_or(&[]);
    let max_rounds = deep.len().max(1);
    let top = deep.iter().copied().max().unwrap_or(0).max(1) as f64;
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
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
    root.present()?;
    Ok(())
}

/// Draw the collateral graph: assets, pools and protocols in three columns;
/// node area by value, edge width by exposure, protocols shaded by
/// `loss_ratio` (mean bad debt ÷ initial debt).
pub fn draw_graph(path: &Path, g: &CollateralGraph, loss_ratio: &[f64]) -> Result<(), OutputError> {
    register_font();
    draw_graph_inner(path, g, loss_ratio).map_err(|e| OutputError::Chart {
        path: path.to_path_buf(),
        message: e.to_string().replace('\n', " "),
    })
}

fn draw_graph_inner(path: &Path, g: &CollateralGraph, loss_ratio: &[f64]) -> DynResult {
    use crate::graph::collateral::{ASSET, PERP, POOL, PROTOCOL};
    let (w, h) = (1100i32, 700i32);
    let root = BitMapBackend::new(path, (w as u32, h as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        "Collateral graph at step 0",
        (20, 15),
        (FONT, 26).into_font().color(&BLACK),
    ))?;
    root.draw(&Text::new(
        "node area ∝ value · edge width ∝ exposure (USD) · protocol shade = mean bad debt ÷ debt",
        (20, 48),
        (FONT, 15).into_font().color(&RGBColor(90, 90, 90)),
    ))?;
    let columns = [(ASSET, 120), (POOL, 480), (PROTOCOL, 840)];
    let mut pos = std::collections::BTreeMap::new();
    for (kind, x) in columns {
        // Perp markets share the protocols' column, below them.
        let members: Vec<&crate::graph::collateral::Node> = g
            .nodes
            .iter()
            .filter(|n| n.kind == kind || (kind == PROTOCOL && n.kind == PERP))
            .collect();
        for (k, n) in members.iter().enumerate() {
            let y = 110 + ((k as i32 * 2 + 1) * (h - 170)) / (2 * members.len().max(1) as i32);
            pos.insert(n.name.clone(), (x, y));
        }
    }
    let max_value = g
        .nodes
        .iter()
        .map(|n| n.value_usd)
        .fold(0.0, f64::max)
        .max(1e-9);
    let max_weight = g
        .edges
        .iter()
        .map(|e| e.weight_usd)
        .fold(0.0, f64::max)
        .max(1e-9);
    let edge_colour = |kind: &str| match kind {
        "collateral" => RGBColor(110, 110, 110),
        "lends" => RGBColor(31, 119, 180),
        "issues" => RGBColor(255, 127, 14),
        "pegged_to" => RGBColor(148, 103, 189),
        "underlying" => RGBColor(214, 39, 40),
        _ => RGBColor(44, 160, 44),
    };
    for e in &g.edges {
        let (Some(&a), Some(&b)) = (pos.get(&e.source), pos.get(&e.target)) else {
            continue;
        };
        let width = 1 + (12.0 * e.weight_usd / max_weight).round() as u32;
        root.draw(&PathElement::new(
            vec![a, b],
            edge_colour(e.kind).mix(0.55).stroke_width(width),
        ))?;
    }
    let mut protocol_index = 0;
    for n in &g.nodes {
        let (x, y) = pos[&n.name];
        let r = 10 + (45.0 * (n.value_usd / max_value).sqrt()) as i32;
        let fill = match n.kind {
            PROTOCOL => {
                let loss = loss_ratio.get(protocol_index).copied().unwrap_or(0.0);
                protocol_index += 1;
                // Full red at 10% of debt lost.
                let t = (loss / 0.1).clamp(0.0, 1.0);
                RGBColor(255, (235.0 * (1.0 - t)) as u8, (235.0 * (1.0 - t)) as u8)
            }
            POOL => RGBColor(200, 235, 200),
            PERP => RGBColor(250, 215, 180),
            _ => RGBColor(210, 225, 245),
        };
        root.draw(&Circle::new((x, y), r, fill.filled()))?;
        root.draw(&Circle::new((x, y), r, BLACK.stroke_width(1)))?;
        let what = match n.kind {
            ASSET => "as collateral",
            POOL => "reserves",
            PERP => "open interest",
            _ => "collateral + cash",
        };
        let label = format!("{} ({} {what})", n.name, fmt_usd(n.value_usd));
        root.draw(&Text::new(
            label,
            (x + r + 6, y - 8),
            (FONT, 15).into_font().color(&BLACK),
        ))?;
    }
    let legend = [
        ("collateral", "accepts as collateral"),
        ("lends", "lends"),
        ("issues", "issues receipt token"),
        ("pool_leg", "pool leg"),
        ("pegged_to", "pegged to"),
        ("underlying", "perp on"),
    ];
    // Only the kinds of edge the graph has.
    let present: Vec<&(&str, &str)> = legend
        .iter()
        .filter(|(kind, _)| g.edges.iter().any(|e| e.kind == *kind))
        .collect();
    for (k, (kind, text)) in present.into_iter().enumerate() {
        let x = 20 + 215 * k as i32;
        let y = h - 30;
        root.draw(&PathElement::new(
            vec![(x, y), (x + 30, y)],
            edge_colour(kind).stroke_width(4),
        ))?;
        root.draw(&Text::new(
            *text,
            (x + 38, y - 9),
            (FONT, 15).into_font().color(&BLACK),
        ))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chart data of `paths` paths over `steps` steps whose every series
    /// takes the values `v(path, step)`.
    fn data(paths: usize, steps: usize, v: impl Fn(usize, usize) -> f64) -> ChartData {
        let series: Vec<Vec<f64>> = (0..steps)
            .map(|t| (0..paths).map(|p| v(p, t)).collect())
            .collect();
        ChartData {
            hours_per_step: 1.0,
            steps: (0..steps as u32).collect(),
            prices: vec![("X".into(), series.clone())],
            pegs: Vec::new(),
            hedgers: vec![("h".into(), series.clone(), series.clone())],
            option_agents: 1,
            perps: vec![PerpSeries {
                name: "p".into(),
                fund: series.clone(),
                funding: series.clone(),
                premium: series.clone(),
            }],
            liquidated: series,
            depth: vec![3, 2, 1],
            paths,
            stochastic: vec![0],
            losses: vec![(0.0, 0.0)],
        }
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
            let r = draw_all(dir.path(), &d, &rows, &m, &protocols).map(|w| w.len());
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
        let written = draw_all(dir.path(), &d, &rows, &m, &protocols).unwrap();
        let names: Vec<String> = written
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
