//! The collateral graph of a scenario at step 0 (docs/model.md §11): nodes
//! are assets, pools and protocols; edges say who accepts, lends, issues and
//! pools what, weighted in USD at initial prices.

use crate::scenario::validated::Scenario;

/// Node kinds.
pub const ASSET: &str = "asset";
/// A pool node.
pub const POOL: &str = "pool";
/// A protocol node.
pub const PROTOCOL: &str = "protocol";
/// A perp market node.
pub const PERP: &str = "perp";

/// One node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Asset symbol, pool name (`BASE/QUOTE`) or protocol name.
    pub name: String,
    /// `asset`, `pool` or `protocol`.
    pub kind: &'static str,
    /// USD: an asset's units pledged as collateral (its pool reserves are
    /// the pool's node); a pool's reserves; a protocol's collateral plus
    /// cash; a perp market's open interest (long plus short notional).
    pub value_usd: f64,
}

/// One directed edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// Source node name.
    pub source: String,
    /// Target node name.
    pub target: String,
    /// `collateral` (asset → protocol), `lends` (protocol → debt asset),
    /// `issues` (protocol → its receipt token, pool → its LP token),
    /// `pool_leg` (asset → pool),
    /// `pegged_to` (derivative token → its underlying) or `underlying`
    /// (asset → a perp market on it).
    pub kind: &'static str,
    /// USD at initial prices.
    pub weight_usd: f64,
}

/// The graph at step 0.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollateralGraph {
    /// Nodes: assets, then pools, then protocols, each in scenario order.
    pub nodes: Vec<Node>,
    /// Edges in a fixed order (by protocol, then pools, LP tokens, pegs).
    pub edges: Vec<Edge>,
}

/// A pool's name (`BASE/QUOTE` unless given).
pub fn pool_name(sc: &Scenario, pool: usize) -> String {
    sc.pools[pool].name.clone()
}

impl CollateralGraph {
    /// Build the graph of a validated scenario.
    pub fn build(sc: &Scenario) -> Self {
        let n_assets = sc.assets.len();
        let price = |a: usize| sc.assets[a].initial_price;
        let mut asset_value = vec![0.0; n_assets];
        let mut collateral_value = vec![0.0; n_assets];
        let mut edges = Vec::new();
        let protocol_value = lending_part(sc, &mut asset_value, &mut collateral_value, &mut edges);
        let mut nodes = Vec::new();
        let mut pool_nodes = Vec::new();
        for (i, pool) in sc.pools.iter().enumerate() {
            let name = pool_name(sc, i);
            let base = pool.base_reserve * price(pool.base);
            // Pools start at the fundamental ratio: equal value on each leg.
            for a in [pool.base, pool.quote] {
                asset_value[a] += base;
                edges.push(Edge {
                    source: sc.assets[a].symbol.clone(),
                    target: name.clone(),
                    kind: "pool_leg",
                    weight_usd: base,
                });
            }
            pool_nodes.push(Node {
                name,
                kind: POOL,
                value_usd: 2.0 * base,
            });
        }
        // LP tokens are issued by their pool (weight: the pool's value).
        for asset in &sc.assets {
            if let Some(lp) = asset.lp_of {
                edges.push(Edge {
                    source: pool_name(sc, lp.pool),
                    target: asset.symbol.clone(),
                    kind: "issues",
                    weight_usd: lp.supply * asset.initial_price,
                });
            }
        }
        // Derivative tokens hang on their underlying (weight: their value).
        for (a, asset) in sc.assets.iter().enumerate() {
            if let Some(peg) = asset.peg {
                edges.push(Edge {
                    source: asset.symbol.clone(),
                    target: sc.assets[peg.to].symbol.clone(),
                    kind: "pegged_to",
                    weight_usd: asset_value[a],
                });
            }
        }
        for (a, asset) in sc.assets.iter().enumerate() {
            nodes.push(Node {
                name: asset.symbol.clone(),
                kind: ASSET,
                value_usd: collateral_value[a],
            });
        }
        nodes.extend(pool_nodes);
        for (p, spec) in sc.protocols.iter().enumerate() {
            nodes.push(Node {
                name: spec.name.clone(),
                kind: PROTOCOL,
                value_usd: protocol_value[p],
            });
        }
        perp_part(sc, &mut nodes, &mut edges);
        CollateralGraph { nodes, edges }
    }
}

/// The lending protocols' edges (collateral, loans, receipts issued); adds
/// their collateral to `asset_value` and `collateral_value` and returns each
/// protocol's value (collateral plus cash).
fn lending_part(
    sc: &Scenario,
    asset_value: &mut [f64],
    collateral_value: &mut [f64],
    edges: &mut Vec<Edge>,
) -> Vec<f64> {
    let n_assets = sc.assets.len();
    let n_proto = sc.protocols.len();
    let price = |a: usize| sc.assets[a].initial_price;
    let book = &sc.book;
    // Collateral units per (protocol, asset) and debt per protocol.
    let mut units = vec![0.0; n_proto * n_assets];
    let mut debt = vec![0.0; n_proto];
    for i in 0..book.len() {
        let p = book.protocol[i] as usize;
        debt[p] += book.debt[i];
        for k in book.coll_range(i) {
            units[p * n_assets + book.coll_asset[k] as usize] += book.coll_units[k];
        }
    }
    let mut protocol_value = vec![0.0; n_proto];
    for (p, spec) in sc.protocols.iter().enumerate() {
        for a in 0..n_assets {
            let u = units[p * n_assets + a];
            if u > 0.0 {
                let v = u * price(a);
                asset_value[a] += v;
                collateral_value[a] += v;
                protocol_value[p] += v;
                edges.push(Edge {
                    source: sc.assets[a].symbol.clone(),
                    target: spec.name.clone(),
                    kind: "collateral",
                    weight_usd: v,
                });
            }
        }
        edges.push(Edge {
            source: spec.name.clone(),
            target: sc.assets[spec.debt_asset].symbol.clone(),
            kind: "lends",
            weight_usd: debt[p] * price(spec.debt_asset),
        });
        if let Some(s) = spec.supply {
            let cash = s.deposits + s.reserve_fund - debt[p];
            protocol_value[p] += cash * price(spec.debt_asset);
            for (a, issuer) in sc.receipts() {
                if issuer == p {
                    edges.push(Edge {
                        source: spec.name.clone(),
                        target: sc.assets[a].symbol.clone(),
                        kind: "issues",
                        weight_usd: s.deposits * price(spec.debt_asset),
                    });
                }
            }
        }
    }
    protocol_value
}

/// Perp markets hang on their underlying (weight: open interest).
fn perp_part(sc: &Scenario, nodes: &mut Vec<Node>, edges: &mut Vec<Edge>) {
    let price = |a: usize| sc.assets[a].initial_price;
    let mut oi = vec![0.0; sc.perps.len()];
    for (k, &m) in sc.perp_book.market.iter().enumerate() {
        oi[m as usize] += sc.perp_book.size[k].abs() * price(sc.perps[m as usize].asset);
    }
    for (m, spec) in sc.perps.iter().enumerate() {
        edges.push(Edge {
            source: sc.assets[spec.asset].symbol.clone(),
            target: spec.name.clone(),
            kind: "underlying",
            weight_usd: oi[m],
        });
        nodes.push(Node {
            name: spec.name.clone(),
            kind: PERP,
            value_usd: oi[m],
        });
    }
}
