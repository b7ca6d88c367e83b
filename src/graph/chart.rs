//! The collateral graph at step 0 as a picture (`collateral_graph.png`).

use std::path::Path;

use plotters::prelude::*;

use crate::error::OutputError;
use crate::graph::collateral::CollateralGraph;
use crate::output::charts::draw::{DynResult, FONT, fmt_usd, register_font};

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
