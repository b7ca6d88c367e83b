//! Lending parameters that change during a path (docs/model.md §18):
//! the per-path copies of the protocols' specs and of the book's
//! per-entry liquidation thresholds and bonuses, and the factors that keep
//! the liquidation index exact under a changed threshold.
//!
//! The index (index.rs) sorts positions by `L = d / (c·LT₀)` with the
//! thresholds `LT₀` of step 0. A position is below HF 1 when the price
//! ratio is below `d·I / (c·LT)`, that is when its key exceeds
//! `ratio · (LT / LT₀) / I`: a group's search threshold is scaled by
//! `LT / LT₀` (one value per group, whose members share a threshold), and
//! the multi-collateral bound `HF ≥ HF₀·m` by the smallest `LT / LT₀` over
//! the group's entries. The order of the keys never changes.

use crate::mechanism::lending::book::Book;
use crate::mechanism::lending::spec::LendingSpec;

/// What the lending markets adopt when an actor puts a configuration in
/// force: the items that differ from step 0 (in any of the actor's
/// configurations: `fill_footprint`), at this configuration's values.
#[derive(Debug, Clone)]
pub struct Revision {
    /// Protocols (index, spec).
    pub specs: Vec<(u32, LendingSpec)>,
    /// Collateral entries: (entry, threshold, bonus).
    pub entries: Vec<(u32, f64, f64)>,
    /// Index groups: (group, threshold ÷ the threshold at step 0).
    pub groups: Vec<(u32, f64)>,
    /// Multi-collateral groups: (group, the least threshold ÷ threshold
    /// at step 0 over its positions' entries).
    pub multi: Vec<(u32, f64)>,
}

/// A scenario's lending terms: its protocols and its book under them.
pub type Terms<'a> = (&'a [LendingSpec], &'a Book);

fn same_spec(a: &LendingSpec, b: &LendingSpec) -> bool {
    a.close_factor == b.close_factor
        && a.full_liquidation_hf == b.full_liquidation_hf
        && a.collateral == b.collateral
        && a.emode == b.emode
        && a.supply == b.supply
}

/// What differs between step 0 (`base`, whose book holds the index) and
/// `next`; None when nothing does.
pub fn revision(base: Terms<'_>, next: Terms<'_>) -> Option<Revision> {
    let (b, n) = (base.1, next.1);
    let specs: Vec<(u32, LendingSpec)> = (0..next.0.len())
        .filter(|&p| !same_spec(&base.0[p], &next.0[p]))
        .map(|p| (p as u32, next.0[p].clone()))
        .collect();
    let entries: Vec<(u32, f64, f64)> = (0..n.coll_lt.len())
        .filter(|&k| n.coll_lt[k] != b.coll_lt[k] || n.coll_lb[k] != b.coll_lb[k])
        .map(|k| (k as u32, n.coll_lt[k], n.coll_lb[k]))
        .collect();
    if specs.is_empty() && entries.is_empty() {
        return None;
    }
    let entry_of = |i: u32, asset: u32| {
        b.coll_range(i as usize)
            .find(|&k| b.coll_asset[k] == asset)
            .expect("a group's member holds its asset")
    };
    let groups = (b.index.groups.iter().enumerate())
        .filter_map(|(g, group)| {
            let k = entry_of(group.order[0], group.asset);
            (n.coll_lt[k] != b.coll_lt[k]).then(|| (g as u32, n.coll_lt[k] / group.lt))
        })
        .collect();
    let multi = (b.index.multi.iter().enumerate())
        .filter_map(|(m, mg)| {
            let ks = || {
                mg.order
                    .iter()
                    .flat_map(|&i| b.coll_range(i as usize))
                    .filter(|&k| b.coll_lt[k] > 0.0)
            };
            ks().any(|k| n.coll_lt[k] != b.coll_lt[k]).then(|| {
                let least = ks()
                    .map(|k| n.coll_lt[k] / b.coll_lt[k])
                    .fold(f64::INFINITY, f64::min);
                (m as u32, least)
            })
        })
        .collect();
    Some(Revision {
        specs,
        entries,
        groups,
        multi,
    })
}

/// Give each of an actor's configurations every item any of them moves,
/// at step 0's values where it leaves an item as it was; all None when
/// none moves anything.
pub fn fill_footprint(states: &mut [Option<Revision>], base: Terms<'_>) {
    use std::collections::BTreeMap;
    let mut specs = BTreeMap::new();
    let mut entries = BTreeMap::new();
    let mut groups = BTreeMap::new();
    let mut multi = BTreeMap::new();
    for r in states.iter().flatten() {
        for (p, _) in &r.specs {
            specs.insert(*p, base.0[*p as usize].clone());
        }
        for &(k, ..) in &r.entries {
            let i = k as usize;
            entries.insert(k, (base.1.coll_lt[i], base.1.coll_lb[i]));
        }
        groups.extend(r.groups.iter().map(|&(g, _)| (g, 1.0)));
        multi.extend(r.multi.iter().map(|&(m, _)| (m, 1.0)));
    }
    if specs.is_empty() && entries.is_empty() {
        return;
    }
    for s in states.iter_mut() {
        let mut sp = specs.clone();
        let mut en = entries.clone();
        let mut gr = groups.clone();
        let mut mu = multi.clone();
        if let Some(r) = s.take() {
            sp.extend(r.specs);
            en.extend(r.entries.into_iter().map(|(k, lt, lb)| (k, (lt, lb))));
            gr.extend(r.groups);
            mu.extend(r.multi);
        }
        *s = Some(Revision {
            specs: sp.into_iter().collect(),
            entries: en.into_iter().map(|(k, (lt, lb))| (k, lt, lb)).collect(),
            groups: gr.into_iter().collect(),
            multi: mu.into_iter().collect(),
        });
    }
}

/// The parameters in force on this path, when the scenario changes any.
#[derive(Debug, Clone)]
pub(super) struct Governed {
    /// The protocols' specs.
    pub specs: Vec<LendingSpec>,
    /// Per collateral entry: liquidation threshold and bonus.
    pub lt: Vec<f64>,
    pub lb: Vec<f64>,
    /// See `Revision`.
    pub group_scale: Vec<f64>,
    pub multi_scale: Vec<f64>,
    /// Whether anything differs from step 0, and the entries whose
    /// threshold or bonus may (so `restore` costs what changed).
    changed: bool,
    touched: Vec<u32>,
    /// Per entry: whether it is in `touched`.
    is_touched: Vec<bool>,
}

impl Governed {
    /// The parameters of step 0.
    pub(super) fn new(protocols: &[LendingSpec], book: &Book) -> Self {
        Governed {
            specs: protocols.to_vec(),
            lt: book.coll_lt.clone(),
            lb: book.coll_lb.clone(),
            group_scale: vec![1.0; book.index.groups.len()],
            multi_scale: vec![1.0; book.index.multi.len()],
            changed: false,
            touched: Vec::new(),
            is_touched: vec![false; book.coll_lt.len()],
        }
    }

    /// Whether anything may differ from step 0.
    pub(super) fn changed(&self) -> bool {
        self.changed
    }

    /// Put a configuration in force.
    pub(super) fn adopt(&mut self, r: &Revision) {
        for (p, spec) in &r.specs {
            self.specs[*p as usize].clone_from(spec);
        }
        for &(k, lt, lb) in &r.entries {
            self.lt[k as usize] = lt;
            self.lb[k as usize] = lb;
            if !self.is_touched[k as usize] {
                self.is_touched[k as usize] = true;
                self.touched.push(k);
            }
        }
        for &(g, x) in &r.groups {
            self.group_scale[g as usize] = x;
        }
        for &(m, x) in &r.multi {
            self.multi_scale[m as usize] = x;
        }
        self.changed = true;
    }

    /// Back to the parameters of step 0 (`protocols`, `book`), in the
    /// buffers already held.
    pub(super) fn restore(&mut self, protocols: &[LendingSpec], book: &Book) {
        if !self.changed {
            return;
        }
        self.specs.clone_from_slice(protocols);
        for k in self.touched.drain(..) {
            let k = k as usize;
            self.is_touched[k] = false;
            self.lt[k] = book.coll_lt[k];
            self.lb[k] = book.coll_lb[k];
        }
        self.group_scale.fill(1.0);
        self.multi_scale.fill(1.0);
        self.changed = false;
    }
}
