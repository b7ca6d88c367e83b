//! Drawing shared by every mechanism's charts: the bundled font, fans of
//! a series over paths, axis ranges that always draw, USD labels, and file
//! names unique on any disk.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;

use crate::error::OutputError;
use crate::montecarlo::metrics::quantile_sorted;

pub(crate) const FONT: &str = "sans-serif";
static FONT_ONCE: Once = Once::new();

pub(crate) fn register_font() {
    FONT_ONCE.call_once(|| {
        plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../../assets/fonts/DejaVuSans.ttf"),
        )
        .unwrap_or_else(|_| panic!("the bundled font is a valid TrueType file"));
    });
}

pub(crate) type DynResult = Result<(), Box<dyn Error>>;

/// The recorded steps the time series are drawn over, and how many paths
/// they hold.
#[derive(Debug, Clone)]
pub struct TimeAxis {
    /// Hours per step.
    pub hours_per_step: f64,
    /// Recorded steps, in order.
    pub steps: Vec<u32>,
    /// Recorded paths gathered so far.
    pub paths: usize,
}

impl TimeAxis {
    /// Each recorded step's time, hours.
    pub fn hours(&self) -> Vec<f64> {
        self.steps
            .iter()
            .map(|&t| t as f64 * self.hours_per_step)
            .collect()
    }

    /// One empty series per recorded step.
    pub fn empty_series(&self) -> Vec<Vec<f64>> {
        vec![Vec::new(); self.steps.len()]
    }
}

/// Where one chart is drawn: its PNG file, or an SVG document in memory
/// (the run's and the sweep's `report.html` inline the charts as SVG).
pub enum Target<'a> {
    /// A PNG file.
    Png(&'a Path),
    /// An SVG document, appended to the string.
    Svg(&'a mut String),
}

/// `render!(target, (width, height), draw, args…)`: a white drawing area
/// of that size on the target's backend, `draw(&area, args…)` on it, and
/// the result presented. A macro, not a function, because `draw` is
/// generic over the backend and a closure cannot be.
macro_rules! render {
    ($target:expr, $size:expr, $draw:path $(, $arg:expr)* $(,)?) => {{
        use plotters::prelude::IntoDrawingArea as _;
        match $target {
            $crate::output::charts::draw::Target::Png(path) => {
                let root = plotters::prelude::BitMapBackend::new(path, $size).into_drawing_area();
                root.fill(&plotters::prelude::WHITE)?;
                $draw(&root $(, $arg)*)?;
                root.present()?;
            }
            $crate::output::charts::draw::Target::Svg(text) => {
                let root = plotters::prelude::SVGBackend::with_string(text, $size).into_drawing_area();
                root.fill(&plotters::prelude::WHITE)?;
                $draw(&root $(, $arg)*)?;
                root.present()?;
            }
        }
        Ok(())
    }};
}
pub(crate) use render;

/// A drawing area on any backend: what every chart draws on.
pub(crate) type Area<DB> = DrawingArea<DB, plotters::coord::Shift>;

/// One chart as drawn for the report: its PNG's file name and its SVG.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The PNG's file name, e.g. `bad_debt.png`.
    pub file: String,
    /// The same chart as an SVG document.
    pub svg: String,
}

/// Where charts are drawn: a folder, the names used so far, the files
/// written and, when kept, each chart's SVG for the report.
pub struct Canvas<'a> {
    dir: &'a Path,
    files: FileNames,
    /// Files written, in order.
    pub written: Vec<PathBuf>,
    /// Each chart as SVG, in order (with `keep_svg`).
    pub figures: Vec<Figure>,
    keep_svg: bool,
}

impl<'a> Canvas<'a> {
    /// A canvas on `dir` (created if missing).
    pub fn new(dir: &'a Path) -> Result<Self, OutputError> {
        register_font();
        std::fs::create_dir_all(dir).map_err(|e| OutputError::io(dir, e))?;
        Ok(Canvas {
            dir,
            files: FileNames::default(),
            written: Vec::new(),
            figures: Vec::new(),
            keep_svg: false,
        })
    }

    /// Also draw every chart as SVG into `figures`.
    pub fn keep_svg(mut self) -> Self {
        self.keep_svg = true;
        self
    }

    /// `<prefix>_<name>.png`, unique among this canvas's files.
    pub fn unique(&mut self, prefix: &str, name: &str) -> String {
        self.files.unique(prefix, name)
    }

    /// Draw file `name` with `draw` (and its SVG, when kept); an error
    /// names the file.
    pub fn emit(
        &mut self,
        name: &str,
        draw: impl Fn(Target<'_>) -> DynResult,
    ) -> Result<(), OutputError> {
        let path = self.dir.join(name);
        let fail = |e: Box<dyn Error>| OutputError::Chart {
            path: path.clone(),
            message: e.to_string().replace('\n', " "),
        };
        draw(Target::Png(&path)).map_err(fail)?;
        if self.keep_svg {
            let mut svg = String::new();
            draw(Target::Svg(&mut svg)).map_err(fail)?;
            self.figures.push(Figure {
                file: name.to_string(),
                svg,
            });
        }
        self.written.push(path);
        Ok(())
    }
}

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

pub(crate) fn quantiles(values: &[f64], qs: &[f64]) -> Vec<f64> {
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

pub(crate) fn fan_chart(
    target: Target<'_>,
    title: &str,
    y_desc: &str,
    axis: &TimeAxis,
    series: &[Vec<f64>],
) -> DynResult {
    render!(target, (1000, 600), fan_on, title, y_desc, axis, series)
}

/// Fans one above the other in one chart.
pub(crate) fn stacked_fans(
    target: Target<'_>,
    axis: &TimeAxis,
    panels: &[(String, &str, &Vec<Vec<f64>>)],
) -> DynResult {
    let height = 500 * panels.len() as u32;
    render!(target, (1000, height), stack_on, axis, panels)
}

fn stack_on<DB: DrawingBackend>(
    root: &Area<DB>,
    axis: &TimeAxis,
    panels: &[(String, &str, &Vec<Vec<f64>>)],
) -> DynResult
where
    DB::ErrorType: 'static,
{
    let areas = root.split_evenly((panels.len(), 1));
    for (area, (title, y, series)) in areas.iter().zip(panels) {
        fan_on(area, title, y, axis, series)?;
    }
    Ok(())
}

/// A fan (median, 25–75% and 5–95% bands over paths) of `series` (per
/// recorded step, the values over paths) on `root`.
pub(crate) fn fan_on<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    y_desc: &str,
    axis: &TimeAxis,
    series: &[Vec<f64>],
) -> DynResult
where
    DB::ErrorType: 'static,
{
    let xs = axis.hours();
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
