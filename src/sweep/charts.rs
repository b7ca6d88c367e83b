//! Sweep charts: each risk metric against each numeric swept parameter
//! (mean, with the 5-95% band over paths), and a heatmap of mean bad debt
//! for a two-parameter grid.

use std::path::Path;

use plotters::prelude::*;

use crate::error::OutputError;
use crate::output::charts::draw::{
    Area, Canvas, DynResult, FONT, Figure, Target, band, fmt_usd, padded, render, sanitize,
};
use crate::sweep::merge::{METRICS, RunRow};
use crate::sweep::spec::{Design, Sweep};

/// The metrics charted, as (index in METRICS, label).
const CHARTED: [(usize, &str); 4] = [
    (0, "bad debt (USD)"),
    (2, "insolvent debt (USD)"),
    (3, "liquidated value (USD)"),
    (4, "liquidations"),
];

/// The last segment of a field path, safe in a file name.
fn short(field: &str) -> String {
    sanitize(field.rsplit('.').next().unwrap_or(field))
}

fn num(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

/// Draw every sweep chart into `dir`; returns them as SVG for the report.
pub fn draw(sw: &Sweep, rows: &[RunRow], dir: &Path) -> Result<Vec<Figure>, OutputError> {
    let mut canvas = Canvas::new(dir)?.keep_svg();
    let fields = sw.fields();
    for (i, field) in fields.iter().enumerate() {
        // Zipped axes move together: one chart, for the first of them.
        let zip = &sw.raw.axes[i].zip;
        if zip.is_some() && sw.raw.axes[..i].iter().any(|a| &a.zip == zip) {
            continue;
        }
        let xs: Option<Vec<f64>> = sw.runs.iter().map(|r| num(&r.values[i])).collect();
        let Some(xs) = xs else { continue };
        // One run per value (one axis, or zipped axes): a line and a band.
        let mut distinct = xs.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let line = distinct.len() == xs.len();
        // The budget in USD, for the USD metrics (the runs share a book by
        // default; with per-run books, the smallest debt is the strictest).
        let budget = sw.raw.sweep.budget_share_of_debt.map(|b| {
            b * rows
                .iter()
                .map(|r| r.initial_debt_usd)
                .fold(f64::INFINITY, f64::min)
        });
        for &(m, label) in &CHARTED {
            let file = format!("{}_vs_{i}_{}.png", METRICS[m], short(field));
            let budget = budget
                .filter(|_| m != 4)
                .map(|b| (b, sw.raw.sweep.budget_share_of_debt.unwrap_or(0.0)));
            canvas.emit(&file, |t: Target<'_>| {
                render!(
                    t,
                    (1000, 600),
                    metric_chart,
                    field,
                    label,
                    &xs,
                    rows,
                    m,
                    line,
                    budget
                )
            })?;
        }
    }
    let grid2 = sw.raw.sweep.design == Design::Grid
        && fields.len() == 2
        && sw.raw.axes.iter().all(|a| a.zip.is_none())
        && sw
            .runs
            .iter()
            .all(|r| num(&r.values[0]).is_some() && num(&r.values[1]).is_some());
    if grid2 {
        let mean: Vec<f64> = rows.iter().map(|r| r.metrics[0][0]).collect();
        let usd: fn(f64) -> String = fmt_usd;
        canvas.emit("heatmap_bad_debt_mean.png", |t: Target<'_>| {
            render!(
                t,
                (1000, 800),
                heatmap,
                sw,
                &mean,
                "mean bad debt (USD)",
                usd
            )
        })?;
        // The overlapping-portfolio family (docs/model.md §19).
        if let Some(c) = rows.iter().map(|r| r.contagion).collect::<Option<Vec<_>>>() {
            let share: fn(f64) -> String = |v| format!("{:.0}%", 100.0 * v);
            let p: Vec<f64> = c.iter().map(|x| x.probability).collect();
            canvas.emit("heatmap_contagion_probability.png", |t: Target<'_>| {
                render!(
                    t,
                    (1000, 800),
                    heatmap,
                    sw,
                    &p,
                    "probability of contagion",
                    share
                )
            })?;
            let e: Vec<f64> = c.iter().map(|x| x.extent.unwrap_or(0.0)).collect();
            canvas.emit("heatmap_contagion_extent.png", |t: Target<'_>| {
                render!(
                    t,
                    (1000, 800),
                    heatmap,
                    sw,
                    &e,
                    "mean share failed given contagion (0: none)",
                    share
                )
            })?;
        }
    }
    Ok(canvas.figures)
}

#[allow(clippy::too_many_arguments)]
fn metric_chart<DB: DrawingBackend>(
    root: &Area<DB>,
    field: &str,
    label: &str,
    xs: &[f64],
    rows: &[RunRow],
    m: usize,
    line: bool,
    budget: Option<(f64, f64)>,
) -> DynResult
where
    DB::ErrorType: 'static,
{
    let mut pts: Vec<(f64, [f64; 6])> = xs
        .iter()
        .copied()
        .zip(rows.iter().map(|r| r.metrics[m]))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let x: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let (p05, p95): (Vec<f64>, Vec<f64>) = pts.iter().map(|p| (p.1[1], p.1[3])).unzip();
    let lo = p05.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = pts
        .iter()
        .map(|p| p.1[3].max(p.1[4]))
        .chain(budget.map(|b| b.0))
        .fold(f64::NEG_INFINITY, f64::max);
    // Headroom for the legend above the data.
    let hi = hi + 0.35 * (hi - lo).abs();
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{label} against {}", short(field)), (FONT, 24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(padded(x[0], x[x.len() - 1]), padded(lo, hi))?;
    chart
        .configure_mesh()
        .x_desc(field)
        .y_desc(label)
        .y_label_formatter(&|v| fmt_usd(*v))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .draw()?;
    let blue = RGBColor(31, 119, 180);
    if line && pts.len() > 1 {
        chart
            .draw_series(std::iter::once(Polygon::new(
                band(&x, &p05, &p95),
                blue.mix(0.2),
            )))?
            .label("5–95% over paths")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 18, y + 6)], blue.mix(0.2).filled())
            });
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.0, p.1[0])),
                blue.stroke_width(2),
            ))?
            .label("mean")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], blue.stroke_width(2))
            });
    } else {
        chart.draw_series(pts.iter().map(|p| {
            PathElement::new(
                vec![(p.0, p.1[1]), (p.0, p.1[3])],
                blue.mix(0.5).stroke_width(2),
            )
        }))?;
        chart
            .draw_series(
                pts.iter()
                    .map(|p| Circle::new((p.0, p.1[0]), 4, blue.filled())),
            )?
            .label("mean (bars: 5–95% over paths)")
            .legend(move |(x, y)| Circle::new((x + 9, y), 4, blue.filled()));
    }
    // VaR99, the figure `recommend` holds against a budget.
    let red = RGBColor(200, 0, 0);
    chart
        .draw_series(LineSeries::new(
            pts.iter().map(|p| (p.0, p.1[4])),
            red.stroke_width(2),
        ))?
        .label("VaR99 over paths")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red.stroke_width(2)));
    if let Some((b, share)) = budget {
        let (x0, x1) = (x[0], x[x.len() - 1]);
        chart
            .draw_series(DashedLineSeries::new(
                [(x0, b), (x1, b)],
                8,
                6,
                BLACK.stroke_width(2),
            ))?
            .label(format!(
                "budget: {}% of debt = {}",
                100.0 * share,
                fmt_usd(b)
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn heatmap<DB: DrawingBackend>(
    root: &Area<DB>,
    sw: &Sweep,
    values: &[f64],
    caption: &str,
    label: fn(f64) -> String,
) -> DynResult
where
    DB::ErrorType: 'static,
{
    let mut xs: Vec<f64> = sw.runs.iter().filter_map(|r| num(&r.values[0])).collect();
    let mut ys: Vec<f64> = sw.runs.iter().filter_map(|r| num(&r.values[1])).collect();
    for v in [&mut xs, &mut ys] {
        v.sort_by(f64::total_cmp);
        v.dedup();
    }
    let vmax = values.iter().copied().fold(0.0, f64::max).max(1e-9);
    let fields = sw.fields();
    let (nx, ny) = (xs.len() as f64, ys.len() as f64);
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (FONT, 24))
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0..nx, 0.0..ny)?;
    // Labels at cell centres only.
    let centre = |v: f64, values: &[f64]| {
        let k = (v - 0.5).round();
        if (v - 0.5 - k).abs() < 1e-6 && k >= 0.0 {
            values
                .get(k as usize)
                .map(|x| format!("{x}"))
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    let (fx, fy) = (xs.clone(), ys.clone());
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(fields[0].as_str())
        .y_desc(fields[1].as_str())
        .x_labels(4 * xs.len() + 1)
        .y_labels(4 * ys.len() + 1)
        .x_label_formatter(&move |v| centre(*v, &fx))
        .y_label_formatter(&move |v| centre(*v, &fy))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (r, &v) in sw.runs.iter().zip(values) {
        let (Some(x), Some(y)) = (num(&r.values[0]), num(&r.values[1])) else {
            continue;
        };
        let i = xs.iter().position(|&a| a == x).unwrap_or(0) as f64;
        let j = ys.iter().position(|&b| b == y).unwrap_or(0) as f64;
        let t = (v / vmax).clamp(0.0, 1.0);
        let colour = RGBColor(255, (245.0 * (1.0 - t)) as u8, (235.0 * (1.0 - t)) as u8);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(i, j), (i + 1.0, j + 1.0)],
            colour.filled(),
        )))?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(i, j), (i + 1.0, j + 1.0)],
            WHITE.stroke_width(2),
        )))?;
        let style =
            (FONT, 18)
                .into_font()
                .color(&BLACK)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ));
        chart.draw_series(std::iter::once(Text::new(
            label(v),
            (i + 0.5, j + 0.5),
            style,
        )))?;
    }
    Ok(())
}
