//! The collateral graph at step 0 as a picture (`collateral_graph.png`).

use plotters::prelude::*;

use crate::graph::collateral::CollateralGraph;
use crate::output::charts::draw::{Area, DynResult, FONT, Target, fmt_usd, render};

/// The picture's width and height, pixels.
const SIZE: (i32, i32) = (1100, 700);

/// Draw the collateral graph: assets, pools and protocols in three columns;
/// node area by value, edge width by exposure, protocols shaded by
/// `loss_ratio` (mean bad debt ÷ initial debt).
pub fn draw_graph(target: Target<'_>, g: &CollateralGraph, loss_ratio: &[f64]) -> DynResult {
    render!(
        target,
        (SIZE.0 as u32, SIZE.1 as u32),
        graph_on,
        g,
        loss_ratio
    )
}

fn graph_on<DB: DrawingBackend>(
    root: &Area<DB>,
    g: &CollateralGraph,
    loss_ratio: &[f64],
) -> DynResult
where
    DB::ErrorType: 'static,
{
    use crate::graph::collateral::{ASSET, PERP, POOL, PROTOCOL};
    let h = SIZE.1;
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
    legend(root, g)
}

/// The colour of an edge of kind `kind`.
fn edge_colour(kind: &str) -> RGBColor {
    match kind {
        "collateral" => RGBColor(110, 110, 110),
        "lends" => RGBColor(31, 119, 180),
        "issues" => RGBColor(255, 127, 14),
        "pegged_to" => RGBColor(148, 103, 189),
        "underlying" => RGBColor(214, 39, 40),
        _ => RGBColor(44, 160, 44),
    }
}

/// The legend of the kinds of edge the graph has, along the bottom.
fn legend<DB: DrawingBackend>(root: &Area<DB>, g: &CollateralGraph) -> DynResult
where
    DB::ErrorType: 'static,
{
    let h = SIZE.1;
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
    Ok(())
}
