//! The liquidation index: which positions can be below HF 1, found without
//! looking at the ones that cannot (docs/model.md §10, "Candidate search").
//!
//! A single-collateral position i (c units of asset a, debt d, threshold LT)
//! has `HF < 1 ⟺ p_a / p_d < L_i = d / (c·LT)`: its *liquidation price*.
//! Per (protocol, collateral asset) group the initial book is sorted once per
//! run by L descending; at a price ratio r the liquidatable positions are a
//! prefix of that order. Positions whose state changed on this path (they
//! were liquidated) leave the shared order and live in a per-path ordered set
//! keyed by their current L. Multi-collateral positions are checked one by
//! one. Everything the index proposes is confirmed with the exact health
//! factor, and the search threshold has a margin, so the index finds exactly
//! the positions a full scan finds.

use std::collections::BTreeMap;
use std::ops::Range;

/// What the index reads of a book of positions (`Book` implements it):
/// each position's protocol, debt and collateral entries.
pub trait Positions {
    /// Number of positions.
    fn count(&self) -> usize;
    /// Protocol of position `i`.
    fn protocol(&self, i: usize) -> u32;
    /// Debt of position `i`, units of its protocol's debt asset.
    fn debt(&self, i: usize) -> f64;
    /// The collateral entries of position `i`.
    fn entries(&self, i: usize) -> Range<usize>;
    /// Entry `k`: (asset, units, liquidation threshold).
    fn entry(&self, k: usize) -> (u32, f64, f64);
}

/// Relative margin of the search threshold: the index proposes every
/// position with `L > r·(1 − MARGIN)`, a superset of those with HF < 1
/// whatever the rounding of either expression.
pub const MARGIN: f64 = 1e-9;

/// Single-collateral positions of one (protocol, collateral asset) pair,
/// ordered by liquidation price, highest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Protocol index.
    pub protocol: u32,
    /// Collateral asset index.
    pub asset: u32,
    /// Liquidation threshold of the asset in the protocol.
    pub lt: f64,
    /// Position ids, by `L` descending then id ascending.
    pub order: Vec<u32>,
    /// `L` of each entry of `order` at step 0.
    pub key: Vec<f64>,
}

/// A group under construction: LT and (liquidation price, id) members.
type GroupMembers = (f64, Vec<(f64, u32)>);

/// The index over a book, built once per run and shared by every path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiquidationIndex {
    /// One group per (protocol, collateral asset) with single-collateral positions.
    pub groups: Vec<Group>,
    /// Group of each position (`u32::MAX`: multi-collateral).
    pub group_of: Vec<u32>,
    /// Each single-collateral position's place in its group's `order`.
    pub rank: Vec<u32>,
    /// Multi-collateral positions (and any with no collateral entry).
    pub others: Vec<u32>,
    /// Multi-collateral positions per protocol, by health factor at step 0.
    pub multi: Vec<MultiGroup>,
}

/// A protocol's multi-collateral positions, sorted by their health factor at
/// initial prices (ascending, ties by id). At any later prices
/// `HF ≥ HF₀ · m`, with `m = min_j (p_j / p₀_j) ÷ (p_d / p₀_d) ÷ I` over the
/// protocol's collateral assets j (every collateral value falls by at least
/// that factor relative to the debt), so only the prefix with `HF₀ · m < 1`
/// can be below 1.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiGroup {
    /// Protocol index.
    pub protocol: u32,
    /// Position ids by HF₀.
    pub order: Vec<u32>,
    /// HF₀ of each entry of `order` (∞ without debt).
    pub hf0: Vec<f64>,
}

/// `L = d / (c·LT)`: the collateral-to-debt price ratio below which a
/// single-collateral position's HF is below 1 (0 without debt).
pub fn liquidation_price(debt: f64, units: f64, lt: f64) -> f64 {
    if debt > 0.0 { debt / (units * lt) } else { 0.0 }
}

/// A non-negative f64 as a key whose integer order is the float order.
pub fn key_bits(x: f64) -> u64 {
    debug_assert!(x >= 0.0);
    x.to_bits()
}

impl LiquidationIndex {
    /// Build the index of a book; `initial_prices` per asset and each
    /// protocol's debt asset give the step-0 health factors of
    /// multi-collateral positions.
    pub fn build(book: &impl Positions, initial_prices: &[f64], debt_assets: &[usize]) -> Self {
        let mut by_group: BTreeMap<(u32, u32), GroupMembers> = BTreeMap::new();
        let mut others = Vec::new();
        let mut group_of = vec![u32::MAX; book.count()];
        let mut rank = vec![u32::MAX; book.count()];
        for i in 0..book.count() {
            let range = book.entries(i);
            if range.len() == 1 {
                let (asset, units, lt) = book.entry(range.start);
                let entry = by_group
                    .entry((book.protocol(i), asset))
                    .or_insert((lt, Vec::new()));
                let l = liquidation_price(book.debt(i), units, lt);
                entry.1.push((l, i as u32));
            } else {
                others.push(i as u32);
            }
        }
        let mut groups = Vec::with_capacity(by_group.len());
        for ((protocol, asset), (lt, mut members)) in by_group {
            members.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (r, &(_, id)) in members.iter().enumerate() {
                group_of[id as usize] = groups.len() as u32;
                rank[id as usize] = r as u32;
            }
            groups.push(Group {
                protocol,
                asset,
                lt,
                order: members.iter().map(|m| m.1).collect(),
                key: members.iter().map(|m| m.0).collect(),
            });
        }
        let mut multi: Vec<MultiGroup> = Vec::new();
        for p in 0..debt_assets.len() {
            let mut members: Vec<(f64, u32)> = others
                .iter()
                .filter(|&&i| book.protocol(i as usize) as usize == p)
                .map(|&i| {
                    let i = i as usize;
                    let weighted: f64 = book
                        .entries(i)
                        .map(|k| {
                            let (asset, units, lt) = book.entry(k);
                            units * initial_prices[asset as usize] * lt
                        })
                        .sum();
                    let debt = book.debt(i) * initial_prices[debt_assets[p]];
                    let hf0 = if debt > 0.0 {
                        weighted / debt
                    } else {
                        f64::INFINITY
                    };
                    (hf0, i as u32)
                })
                .collect();
            if members.is_empty() {
                continue;
            }
            members.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            multi.push(MultiGroup {
                protocol: p as u32,
                order: members.iter().map(|m| m.1).collect(),
                hf0: members.iter().map(|m| m.0).collect(),
            });
        }
        LiquidationIndex {
            groups,
            group_of,
            rank,
            others,
            multi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_bits_keep_the_order_of_non_negative_floats() {
        let xs = [
            0.0,
            1e-300,
            0.5,
            1.0,
            1.0 + f64::EPSILON,
            7e10,
            f64::MAX,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(key_bits(w[0]) < key_bits(w[1]));
        }
    }

    #[test]
    fn liquidation_price_is_where_hf_crosses_one() {
        // 10 ETH, LT 0.8, debt 16,000: HF = 10·p·0.8/16000 = 1 at p = 2000.
        let l = liquidation_price(16_000.0, 10.0, 0.8);
        assert!((l - 2000.0).abs() < 1e-9);
        assert_eq!(liquidation_price(0.0, 10.0, 0.8), 0.0);
    }
}
