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

/// What the lending markets adopt at a change, computed at validation.
#[derive(Debug, Clone)]
pub struct Revision {
    /// The protocols' specs after the change.
    pub specs: Vec<LendingSpec>,
    /// Collateral entries whose threshold or bonus the change moves:
    /// (entry, threshold, bonus) after it.
    pub entries: Vec<(u32, f64, f64)>,
    /// Per index group: threshold after the change ÷ at step 0.
    pub group_scale: Vec<f64>,
    /// Per multi-collateral group: the least threshold after the change ÷
    /// at step 0 over its positions' entries.
    pub multi_scale: Vec<f64>,
}

/// A scenario's lending terms: its protocols and its book under them.
pub type Terms<'a> = (&'a [LendingSpec], &'a Book);

/// What changes from `prev` to `next` (each the terms with the changes so
/// far), against the book and index of step 0 (`base`); None when no
/// lending parameter moves.
pub fn revision(base: &Book, prev: Terms<'_>, next: Terms<'_>) -> Option<Revision> {
    let same_specs = prev.0.iter().zip(next.0).all(|(a, b)| {
        a.close_factor == b.close_factor
            && a.full_liquidation_hf == b.full_liquidation_hf
            && a.collateral == b.collateral
            && a.emode == b.emode
            && a.supply == b.supply
    });
    let (b, p, n) = (base, prev.1, next.1);
    let entries: Vec<(u32, f64, f64)> = (0..n.coll_lt.len())
        .filter(|&k| n.coll_lt[k] != p.coll_lt[k] || n.coll_lb[k] != p.coll_lb[k])
        .map(|k| (k as u32, n.coll_lt[k], n.coll_lb[k]))
        .collect();
    if same_specs && entries.is_empty() {
        return None;
    }
    let entry_of = |i: u32, asset: u32| {
        b.coll_range(i as usize)
            .find(|&k| b.coll_asset[k] == asset)
            .expect("a group's member holds its asset")
    };
    let group_scale = b
        .index
        .groups
        .iter()
        .map(|g| {
            let k = entry_of(g.order[0], g.asset);
            n.coll_lt[k] / g.lt
        })
        .collect();
    let multi_scale = b
        .index
        .multi
        .iter()
        .map(|mg| {
            mg.order
                .iter()
                .flat_map(|&i| b.coll_range(i as usize))
                .filter(|&k| b.coll_lt[k] > 0.0)
                .map(|k| n.coll_lt[k] / b.coll_lt[k])
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    Some(Revision {
        specs: next.0.to_vec(),
        entries,
        group_scale,
        multi_scale,
    })
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
        }
    }

    /// Adopt a change.
    pub(super) fn adopt(&mut self, r: &Revision) {
        self.specs.clone_from(&r.specs);
        for &(k, lt, lb) in &r.entries {
            self.lt[k as usize] = lt;
            self.lb[k as usize] = lb;
            self.touched.push(k);
        }
        self.group_scale.copy_from_slice(&r.group_scale);
        self.multi_scale.copy_from_slice(&r.multi_scale);
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
            self.lt[k] = book.coll_lt[k];
            self.lb[k] = book.coll_lb[k];
        }
        self.group_scale.fill(1.0);
        self.multi_scale.fill(1.0);
        self.changed = false;
    }
}
