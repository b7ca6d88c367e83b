//! A sweep's design: the runs a grid, random or Latin hypercube design
//! gives over the sweep's axes (zipped axes move together).

use rand::RngExt;

use crate::montecarlo::seed::{PathRng, splitmix64};
use crate::sweep::raw::{Design, RawAxis, RawSweepFile};

/// One run: its id and the value of every axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// 0-based id, zero-padded to five digits in folder names.
    pub id: u32,
    /// One value per axis, in axis order.
    pub values: Vec<toml::Value>,
}

/// An axis's candidate values (grid) or its range (draws).
enum Domain {
    List(Vec<toml::Value>),
    Range(f64, f64),
}

fn domain(i: usize, a: &RawAxis, d: Design) -> Result<Domain, (String, String)> {
    let f = |k: &str| format!("axes[{i}].{k}");
    match (&a.values, a.min, a.max, a.steps) {
        (Some(v), None, None, None) => {
            if v.is_empty() {
                return Err((f("values"), "is empty".into()));
            }
            for x in v {
                if let Some(n) = x.as_float()
                    && !n.is_finite()
                {
                    return Err((f("values"), format!("{n} is not a finite number")));
                }
            }
            Ok(Domain::List(v.clone()))
        }
        (None, Some(lo), Some(hi), steps) => {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return Err((f("min"), format!("[{lo}, {hi}] is not a range")));
            }
            match (d, steps) {
                (Design::Grid, Some(n)) if n >= 2 => Ok(Domain::List(
                    (0..n)
                        .map(|k| toml::Value::Float(lo + (hi - lo) * k as f64 / (n - 1) as f64))
                        .collect(),
                )),
                (Design::Grid, _) => {
                    Err((f("steps"), "a grid over min..max needs steps ≥ 2".into()))
                }
                (_, Some(_)) => Err((f("steps"), "only a grid takes steps".into())),
                _ => Ok(Domain::Range(lo, hi)),
            }
        }
        _ => Err((
            f("values"),
            "give either `values` or `min` and `max` (with `steps` for a grid)".into(),
        )),
    }
}

/// The runs of a sweep's design.
pub fn design(raw: &RawSweepFile) -> Result<Vec<Run>, (String, String)> {
    let d = raw.sweep.design;
    let domains: Vec<Domain> = raw
        .axes
        .iter()
        .enumerate()
        .map(|(i, a)| domain(i, a, d))
        .collect::<Result<_, _>>()?;
    // Groups: zipped axes share one dimension.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut names: Vec<Option<String>> = Vec::new();
    for (i, a) in raw.axes.iter().enumerate() {
        match a
            .zip
            .as_ref()
            .and_then(|z| names.iter().position(|n| n.as_ref() == Some(z)))
        {
            Some(g) => groups[g].push(i),
            None => {
                groups.push(vec![i]);
                names.push(a.zip.clone());
            }
        }
    }
    let rows = match d {
        Design::Grid => grid_rows(raw.axes.len(), &groups, &domains)?,
        Design::Random | Design::LatinHypercube => random_rows(raw, &groups, &domains)?,
    };
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(id, values)| Run {
            id: id as u32,
            values,
        })
        .collect())
}

/// Every combination of the groups' values (zipped axes move together).
fn grid_rows(
    n_axes: usize,
    groups: &[Vec<usize>],
    domains: &[Domain],
) -> Result<Vec<Vec<toml::Value>>, (String, String)> {
    let mut rows: Vec<Vec<toml::Value>> = Vec::new();
    for g in groups {
        let len = match &domains[g[0]] {
            Domain::List(v) => v.len(),
            Domain::Range(..) => unreachable!("grids have lists"),
        };
        for &i in g {
            if let Domain::List(v) = &domains[i]
                && v.len() != len
            {
                return Err((
                    format!("axes[{i}].values"),
                    format!(
                        "zipped with axes[{}] but has {} values, not {len}",
                        g[0],
                        v.len()
                    ),
                ));
            }
        }
    }
    let lens: Vec<usize> = groups
        .iter()
        .map(|g| match &domains[g[0]] {
            Domain::List(v) => v.len(),
            Domain::Range(..) => 0,
        })
        .collect();
    let total: usize = lens.iter().product();
    for k in 0..total {
        let mut row = vec![toml::Value::Integer(0); n_axes];
        let mut rem = k;
        for (g, group) in groups.iter().enumerate().rev() {
            let j = rem % lens[g];
            rem /= lens[g];
            for &i in group {
                if let Domain::List(v) = &domains[i] {
                    row[i] = v[j].clone();
                }
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// `sweep.count` runs drawn at random or on a Latin hypercube, one uniform
/// per group and run.
fn random_rows(
    raw: &RawSweepFile,
    groups: &[Vec<usize>],
    domains: &[Domain],
) -> Result<Vec<Vec<toml::Value>>, (String, String)> {
    let (d, n_axes) = (raw.sweep.design, raw.axes.len());
    let mut rows: Vec<Vec<toml::Value>> = Vec::new();
    let count = raw.sweep.count.ok_or_else(|| {
        (
            "sweep.count".to_string(),
            "a random or Latin hypercube design needs count".to_string(),
        )
    })?;
    if count == 0 {
        return Err(("sweep.count".into(), "must be at least 1".into()));
    }
    let mut rng = <PathRng as rand::SeedableRng>::seed_from_u64(splitmix64(
        raw.sweep.design_seed ^ 0x0073_7765_6570, // "sweep"
    ));
    // One u in [0, 1) per group and run.
    let mut u = vec![vec![0.0; count as usize]; groups.len()];
    for ug in u.iter_mut() {
        if d == Design::LatinHypercube {
            let mut perm: Vec<usize> = (0..count as usize).collect();
            for k in (1..perm.len()).rev() {
                let j = rng.random_range(0..=k);
                perm.swap(k, j);
            }
            for (k, x) in ug.iter_mut().enumerate() {
                *x = (perm[k] as f64 + rng.random::<f64>()) / count as f64;
            }
        } else {
            for x in ug.iter_mut() {
                *x = rng.random::<f64>();
            }
        }
    }
    for k in 0..count as usize {
        let mut row = vec![toml::Value::Integer(0); n_axes];
        for (g, group) in groups.iter().enumerate() {
            for &i in group {
                row[i] = match &domains[i] {
                    Domain::Range(lo, hi) => toml::Value::Float(lo + (hi - lo) * u[g][k]),
                    Domain::List(v) => {
                        v[((u[g][k] * v.len() as f64) as usize).min(v.len() - 1)].clone()
                    }
                };
            }
        }
        rows.push(row);
    }
    Ok(rows)
}
