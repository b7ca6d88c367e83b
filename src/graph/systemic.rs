//! DebtRank and Eisenberg–Noe clearing applied to the protocols of a
//! scenario (docs/model.md §13). Exposures run through receipt tokens: the
//! borrowers of protocol j pledge protocol i's receipt tokens, so a loss
//! socialised in i lowers the collateral j lends against.

use crate::graph::clearing::{self, Clearing};
use crate::graph::debtrank;
use crate::scenario::validated::Scenario;

/// The protocol network of a scenario at step 0, in USD at initial prices.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolNetwork {
    /// Loss-absorbing capital of each protocol: reserve fund + supplier
    /// assets (0 without a supply side).
    pub capital: Vec<f64>,
    /// `exposure[j][i]`: value of protocol i's receipt tokens pledged in
    /// protocol j's book (DebtRank's A_ji: what j stands to lose if i fails).
    pub exposure: Vec<Vec<f64>>,
    /// The impact matrix `W_ij = min(1, A_ji / E_j)`.
    pub impact: Vec<Vec<f64>>,
    /// DebtRank of each protocol's default alone (initial distress 1 on it,
    /// 0 elsewhere): the share of the network's capital lost beyond it. `None`
    /// when no protocol has capital.
    pub default_debtrank: Vec<Option<f64>>,
}

impl ProtocolNetwork {
    /// Build the network of a validated scenario.
    pub fn build(sc: &Scenario) -> Self {
        let n = sc.protocols.len();
        let book = &sc.book;
        let capital: Vec<f64> = sc
            .protocols
            .iter()
            .map(|p| {
                p.supply.map_or(0.0, |s| {
                    (s.deposits + s.reserve_fund) * sc.assets[p.debt_asset].initial_price
                })
            })
            .collect();
        let mut exposure = vec![vec![0.0; n]; n];
        for i in 0..book.len() {
            let j = book.protocol[i] as usize;
            for k in book.coll_range(i) {
                let a = book.coll_asset[k] as usize;
                if let Some(issuer) = sc.assets[a].receipt_of {
                    exposure[j][issuer] += book.coll_units[k] * sc.assets[a].initial_price;
                }
            }
        }
        let impact = debtrank::impact_matrix(&exposure, &capital);
        let default_debtrank = (0..n)
            .map(|i| {
                let mut shock = vec![0.0; n];
                shock[i] = 1.0;
                debtrank::debtrank(&impact, &shock, &capital)
                    .ok()
                    .map(|d| d.debtrank)
            })
            .collect();
        ProtocolNetwork {
            capital,
            exposure,
            impact,
            default_debtrank,
        }
    }

    /// Whether any protocol has capital (a supply side with deposits).
    pub fn has_capital(&self) -> bool {
        self.capital.iter().any(|&c| c > 0.0)
    }

    /// DebtRank of a path's direct losses: initial distress
    /// `h_i = min(1, direct bad debt_i / E_i)` (1 for a protocol without
    /// capital that lost anything). `None` when no protocol has capital.
    pub fn path_debtrank(&self, direct_loss: &[f64]) -> Option<f64> {
        if !self.has_capital() {
            return None;
        }
        let shock: Vec<f64> = direct_loss
            .iter()
            .zip(&self.capital)
            .map(|(&loss, &e)| {
                if loss <= 0.0 {
                    0.0
                } else if e > 0.0 {
                    (loss / e).min(1.0)
                } else {
                    1.0
                }
            })
            .collect();
        debtrank::debtrank(&self.impact, &shock, &self.capital)
            .ok()
            .map(|d| d.debtrank)
    }
}

/// The balance sheets the clearing of docs/model.md §13 reads, per
/// protocol, in USD.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BalanceSheets {
    /// What the suppliers still holding shares are owed absent losses:
    /// shares × (share value + bad debt socialised per share).
    pub claims: Vec<f64>,
    /// The protocol's own accounts: cash plus loans, less the insolvent
    /// debt (the shortfall of its positions at the oracle).
    pub assets: Vec<f64>,
    /// `pledged[j][i]`: face value (at the claims' share value) of i's
    /// receipt tokens pledged in j's book.
    pub pledged: Vec<Vec<f64>>,
    /// `secured[j][i]`: what j's borrowers owe against those pledges (each
    /// position's debt split by its collateral values).
    pub secured: Vec<Vec<f64>>,
    /// Loss-absorbing capital at step 0 (USD at initial prices): the scale
    /// of the protocol's accounts, for the rounding tolerance.
    pub capital: Vec<f64>,
    /// `secured_shortfall[j][i]`: the part of j's insolvent debt on those
    /// loans (each position's shortfall split like its debt). The borrower
    /// node's payment accounts for it, so it is not also a loss of j.
    pub secured_shortfall: Vec<Vec<f64>>,
}

/// One collateral entry of a position, for [`BalanceSheets::add_position`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pledge {
    /// Value at the lending protocol's oracle, USD.
    pub value: f64,
    /// Value at initial prices, USD: splits the debt of a position whose
    /// collateral is all worth 0 at the oracle.
    pub initial_value: f64,
    /// For protocol i's receipt tokens: `(i, face)`, with face the units ×
    /// i's claims per share × i's price of its debt asset, USD.
    pub receipt: Option<(usize, f64)>,
}

impl BalanceSheets {
    /// Empty sheets for `n` protocols.
    pub fn new(n: usize) -> Self {
        BalanceSheets {
            claims: vec![0.0; n],
            assets: vec![0.0; n],
            capital: vec![0.0; n],
            pledged: vec![vec![0.0; n]; n],
            secured: vec![vec![0.0; n]; n],
            secured_shortfall: vec![vec![0.0; n]; n],
        }
    }

    /// A position of protocol j that owes `owed` (USD) against
    /// `collateral`: its debt and its shortfall `max(0, owed − Σ value)`
    /// are split by collateral values (by values at initial prices if the
    /// collateral is all worth 0 at the oracle), and each receipt part goes
    /// to the borrower node (j, issuer). A position that owes nothing
    /// against some receipts (no debt, or a part of 0) does not join that
    /// node: its receipts stay with the outside suppliers.
    pub fn add_position(&mut self, j: usize, owed: f64, collateral: &[Pledge]) {
        if owed <= 0.0 {
            return;
        }
        let total: f64 = collateral.iter().map(|c| c.value).sum();
        let by_initial = total <= 0.0;
        let weight = |c: &Pledge| if by_initial { c.initial_value } else { c.value };
        let weights: f64 = collateral.iter().map(weight).sum();
        if weights <= 0.0 {
            return;
        }
        let shortfall = (owed - total.max(0.0)).max(0.0);
        for c in collateral {
            if let Some((i, face)) = c.receipt {
                let part = weight(c) / weights;
                if part <= 0.0 {
                    continue;
                }
                self.pledged[j][i] += face;
                self.secured[j][i] += owed * part;
                self.secured_shortfall[j][i] += shortfall * part;
            }
        }
    }
}

/// A protocol defaults when it pays less than its claims by more than this
/// fraction of the larger of its claims and its capital: rounding in
/// accounts built from flows of the capital's size (with every share
/// redeemed, claims are a rounding remnant of them).
pub const ROUNDING: f64 = 1e-9;

/// The outcome of clearing the protocol network.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolClearing {
    /// The clearing of every node: protocols first, then one borrower node
    /// per (lender j, issuer i) pair with pledges, then the outside node.
    pub clearing: Clearing,
    /// Number of protocols.
    pub protocols: usize,
}

impl ProtocolClearing {
    /// Suppliers' shortfall summed over the protocols.
    pub fn shortfall(&self) -> f64 {
        (0..self.protocols)
            .map(|p| self.clearing.obligations[p] - self.clearing.payments[p])
            .sum()
    }

    /// Whether protocol p pays less than its suppliers' claims.
    pub fn defaulted(&self, p: usize) -> bool {
        self.clearing.defaulted[p]
    }
}

/// Eisenberg–Noe clearing of the protocols' balance sheets. Nodes: the
/// protocols; for each pair (j, i) with pledges, one node for the borrowers
/// of j who pledged i's receipt tokens against a loan; and one outside node
/// (suppliers whose receipts back no loan). Protocol i owes each borrower node the face
/// value of the receipts it holds, and the rest of its claims outside. The
/// borrower node (j, i) owes j what it borrowed against those receipts
/// (`secured[j][i]`) and has nothing but i's payments, so it pays j
/// `min(owed, face × i's recovery)`: the borrowers' equity absorbs i's loss
/// first. j's external assets are its assets less those loans net of
/// their shortfall: it collects them from the borrower node instead, whose
/// payment already falls short by that much (at i's full recovery). They
/// are floored at 0 (Eisenberg–Noe's e ≥ 0; the engine's sheets are ≥ 0
/// but for rounding) before the borrower nodes' payments are added.
pub fn clear_protocols(b: &BalanceSheets) -> ProtocolClearing {
    let n = b.claims.len();
    let mut pairs = Vec::new();
    for j in 0..n {
        for i in 0..n {
            if i != j && (b.pledged[j][i] > 0.0 || b.secured[j][i] > 0.0) {
                pairs.push((j, i));
            }
        }
    }
    let m = n + pairs.len() + 1;
    let out = m - 1;
    let mut liabilities = vec![vec![0.0; m]; m];
    let mut external = vec![0.0; m];
    let mut pledged_out = vec![0.0; n];
    // Loans j collects from borrower nodes, net of the part of its
    // insolvent debt on them.
    let mut collected = vec![0.0; n];
    for (k, &(j, i)) in pairs.iter().enumerate() {
        let node = n + k;
        liabilities[i][node] = b.pledged[j][i].max(0.0);
        liabilities[node][j] = b.secured[j][i].max(0.0);
        pledged_out[i] += liabilities[i][node];
        collected[j] += liabilities[node][j] - b.secured_shortfall[j][i];
    }
    for i in 0..n {
        liabilities[i][out] = (b.claims[i] - pledged_out[i]).max(0.0);
        external[i] = (b.assets[i] - collected[i]).max(0.0);
    }
    let mut tolerance = vec![0.0; m];
    for ((t, &claims), &capital) in tolerance.iter_mut().zip(&b.claims).zip(&b.capital) {
        *t = ROUNDING * claims.max(capital).max(0.0);
    }
    let clearing = clearing::clear_with_tolerance(&liabilities, &external, &tolerance)
        .expect("finite, non-negative inputs by construction");
    ProtocolClearing {
        clearing,
        protocols: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheets(claims: &[f64], assets: &[f64]) -> BalanceSheets {
        BalanceSheets {
            claims: claims.to_vec(),
            assets: assets.to_vec(),
            ..BalanceSheets::new(claims.len())
        }
    }

    #[test]
    fn without_pledges_each_protocol_pays_what_it_has() {
        let c = clear_protocols(&sheets(&[100.0, 50.0], &[80.0, 70.0]));
        assert_eq!(c.clearing.payments[..2], [80.0, 50.0]);
        assert!(c.defaulted(0) && !c.defaulted(1));
        assert!((c.shortfall() - 20.0).abs() < 1e-12);
    }

    /// A owes 100 and has 50: it pays half. 40 of its claims are pledged by
    /// B's borrowers, who owe B 30 against them: they get 20 and pay B 20.
    /// B has claims of 100 and assets of 95, of which those 30 of loans:
    /// 65 + 20 = 85.
    #[test]
    fn a_loss_in_the_issuer_reaches_the_protocol_holding_its_receipts() {
        let mut b = sheets(&[100.0, 100.0], &[50.0, 95.0]);
        b.pledged[1][0] = 40.0;
        b.secured[1][0] = 30.0;
        let c = clear_protocols(&b);
        assert!((c.clearing.payments[0] - 50.0).abs() < 1e-9);
        assert!((c.clearing.payments[1] - 85.0).abs() < 1e-9);
        assert!((c.shortfall() - 65.0).abs() < 1e-9);
        // Without the loss in A, B's borrowers repay and B pays 95.
        b.assets[0] = 100.0;
        let c = clear_protocols(&b);
        assert!((c.clearing.payments[1] - 95.0).abs() < 1e-9);
        assert!(!c.defaulted(0));
    }

    /// B's borrowers pledged receipts of two issuers: A (0) pays half its
    /// claims, C (1) pays in full. Each pledge has face 40 against 30 owed.
    /// The node of A's receipts gets 20 and pays B 20; the node of C's gets
    /// 40 and pays 30. B (claims 100; cash 40 and those 60 of loans) pays
    /// 40 + 20 + 30 = 90. Suppliers are short 50 at A and 10 at B.
    #[test]
    fn each_issuer_pays_its_own_borrower_node() {
        let mut b = sheets(&[100.0, 100.0, 100.0], &[50.0, 100.0, 100.0]);
        b.pledged[2][0] = 40.0;
        b.secured[2][0] = 30.0;
        b.pledged[2][1] = 40.0;
        b.secured[2][1] = 30.0;
        let c = clear_protocols(&b);
        let want = [50.0, 100.0, 90.0];
        for (p, w) in want.iter().enumerate() {
            assert!(
                (c.clearing.payments[p] - w).abs() < 1e-9,
                "{:?}",
                c.clearing.payments
            );
        }
        assert!((c.shortfall() - 60.0).abs() < 1e-9);
        assert!(c.defaulted(0) && !c.defaulted(1) && c.defaulted(2));
    }

    /// Capital and exposures are USD at initial prices: a market lending
    /// ETH (2,000) with 10 ETH deposited and 1 in reserve has 22,000 of
    /// capital; 0.5 of its receipt tokens (one ETH each at step 0) pledged
    /// in a USDC market are an exposure of 1,000.
    #[test]
    fn the_network_is_valued_at_initial_prices() {
        let text = r#"
[simulation]
name = "net"
steps = 1
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[assets]]
symbol = "aETH"
receipt_of = "eth-market"

[[protocols]]
name = "eth-market"
kind = "lending"
debt_asset = "ETH"
supply = { deposits = 10.0, reserve_fund = 1.0 }

[[protocols.collateral]]
asset = "USDC"
liquidation_threshold = 0.9
liquidation_bonus = 0.05
max_ltv = 0.85

[[protocols]]
name = "usdc-market"
kind = "lending"
debt_asset = "USDC"
supply = { deposits = 5000.0 }

[[protocols.collateral]]
asset = "aETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "usdc-market"
debt = 500.0
collateral = { aETH = 0.5 }
"#;
        let sc = Scenario::from_toml(
            text,
            "net.toml",
            std::path::Path::new("."),
            &Default::default(),
        )
        .unwrap();
        let net = ProtocolNetwork::build(&sc);
        assert_eq!(net.capital, [22_000.0, 5_000.0]);
        assert_eq!(net.exposure[1][0], 1_000.0);
        assert_eq!(net.exposure[0][1], 0.0);
    }

    /// A pays 90%: the pledged 40 are worth 36, more than the 30 owed, so
    /// the borrowers' equity absorbs A's loss and B is untouched.
    #[test]
    fn borrowers_equity_absorbs_a_small_loss_of_the_issuer() {
        let mut b = sheets(&[100.0, 100.0], &[90.0, 100.0]);
        b.pledged[1][0] = 40.0;
        b.secured[1][0] = 30.0;
        let c = clear_protocols(&b);
        assert!((c.clearing.payments[0] - 90.0).abs() < 1e-9);
        assert!((c.clearing.payments[1] - 100.0).abs() < 1e-9);
        assert!(!c.defaulted(1));
    }

    /// A position of B owes 180 against 100 of A's receipts (face 100)
    /// and 50 of ETH: 30 short. By collateral values 2/3 of the debt (120)
    /// and of the shortfall (20) go to the borrower node, 60 and 10 stay
    /// with B. B (claims 200, cash 20, loans 180, insolvent 30) has
    /// external assets 20 + 180 − 30 − (120 − 20) = 70 = 20 + min(60, 50);
    /// A pays in full, the node pays min(120, 100) = 100, and B pays
    /// 170: short by the position's 30, once.
    #[test]
    fn a_mixed_position_splits_its_debt_and_shortfall_by_collateral_values() {
        let mut b = sheets(&[1000.0, 200.0], &[1000.0, 20.0 + 180.0 - 30.0]);
        b.add_position(
            1,
            180.0,
            &[
                Pledge {
                    value: 100.0,
                    initial_value: 100.0,
                    receipt: Some((0, 100.0)),
                },
                Pledge {
                    value: 50.0,
                    initial_value: 1.0,
                    receipt: None,
                },
            ],
        );
        assert!((b.pledged[1][0] - 100.0).abs() < 1e-12);
        assert!((b.secured[1][0] - 120.0).abs() < 1e-12);
        assert!((b.secured_shortfall[1][0] - 20.0).abs() < 1e-12);
        let c = clear_protocols(&b);
        assert!((c.clearing.payments[1] - 170.0).abs() < 1e-9);
        assert!((c.shortfall() - 30.0).abs() < 1e-9);
    }

    /// Receipts that back no loan join no borrower node: a position with
    /// no debt, and one whose receipts are worth 0 beside other collateral.
    #[test]
    fn receipts_backing_no_loan_are_not_pledged() {
        let mut b = sheets(&[100.0, 100.0], &[100.0, 100.0]);
        let receipt = |value| Pledge {
            value,
            initial_value: 40.0,
            receipt: Some((0, 40.0)),
        };
        b.add_position(1, 0.0, &[receipt(40.0)]);
        let eth = Pledge {
            value: 50.0,
            initial_value: 50.0,
            receipt: None,
        };
        b.add_position(1, 30.0, &[receipt(0.0), eth]);
        assert_eq!(b.pledged[1][0], 0.0);
        assert_eq!(b.secured[1][0], 0.0);
        // A position owing 30 against them does join.
        b.add_position(1, 30.0, &[receipt(40.0)]);
        assert_eq!((b.pledged[1][0], b.secured[1][0]), (40.0, 30.0));
    }

    /// Collateral all worth 0 at the oracle: the debt is split by values at
    /// initial prices. B's first position owes 120 against A's receipts
    /// only (face 100, worth 0 at B's oracle): all 120 go to the node, all
    /// 120 short. A (claims 1,000, assets 500) pays half, so the node gets
    /// 50 and pays B 50. B (claims 1,000, cash 880, loans 120, all
    /// insolvent) has external assets 880 + 120 − 120 − (120 − 120) = 880
    /// and pays 930: short by 70 (dropping the loan from the node, 120).
    /// A second position owes 40 against receipts (face 10, initial value
    /// 10) and ETH (initial value 30), both worth 0: a quarter of its debt
    /// and of its shortfall, 10, goes to the node.
    #[test]
    fn debt_against_worthless_collateral_is_split_by_initial_values() {
        let mut b = sheets(&[1000.0, 1000.0], &[500.0, 880.0 + 120.0 - 120.0]);
        let receipt = |initial_value, face| Pledge {
            value: 0.0,
            initial_value,
            receipt: Some((0, face)),
        };
        b.add_position(1, 120.0, &[receipt(100.0, 100.0)]);
        assert_eq!(b.pledged[1][0], 100.0);
        assert_eq!(b.secured[1][0], 120.0);
        assert_eq!(b.secured_shortfall[1][0], 120.0);
        let c = clear_protocols(&b);
        assert!((c.clearing.payments[0] - 500.0).abs() < 1e-9);
        assert!((c.clearing.payments[1] - 930.0).abs() < 1e-9);

        let mut b = sheets(&[1000.0, 1000.0], &[1000.0, 1000.0]);
        let eth = Pledge {
            value: 0.0,
            initial_value: 30.0,
            receipt: None,
        };
        b.add_position(1, 40.0, &[receipt(10.0, 10.0), eth]);
        assert_eq!(b.pledged[1][0], 10.0);
        assert!((b.secured[1][0] - 10.0).abs() < 1e-12);
        assert!((b.secured_shortfall[1][0] - 10.0).abs() < 1e-12);
    }

    /// With capital 1e8, a protocol short by 0.05 (claims 1e-2 left by
    /// rounding, nothing to pay them with) is within 1e-9 × 1e8 = 0.1 and
    /// pays in full; short by 0.2 it defaults. Without capital the
    /// tolerance is 1e-9 of the claims.
    #[test]
    fn the_rounding_tolerance_scales_with_capital() {
        let mut b = sheets(&[0.05], &[0.0]);
        b.capital[0] = 1e8;
        let c = clear_protocols(&b);
        assert!(!c.defaulted(0));
        assert_eq!(c.shortfall(), 0.0);
        b.claims[0] = 0.2;
        let c = clear_protocols(&b);
        assert!(c.defaulted(0));
        assert!((c.shortfall() - 0.2).abs() < 1e-15);
        let mut b = sheets(&[1e6], &[1e6 - 5e-4]);
        assert!(!clear_protocols(&b).defaulted(0), "within 1e-9 × 1e6");
        b.assets[0] = 1e6 - 2e-3;
        assert!(clear_protocols(&b).defaulted(0));
    }

    /// Sheets whose assets (50) fall below the loans collected from the
    /// borrower node (80, no shortfall): external assets are floored at 0
    /// and the node's 80 (A pays in full) is added whole, so B pays 80 of
    /// its 100. Flooring B's payment instead would pay max(0, 50 − 80 + 80)
    /// = 50.
    #[test]
    fn external_assets_are_floored_before_the_borrower_nodes_pay() {
        let mut b = sheets(&[1000.0, 100.0], &[1000.0, 50.0]);
        b.pledged[1][0] = 100.0;
        b.secured[1][0] = 80.0;
        let c = clear_protocols(&b);
        assert!((c.clearing.payments[1] - 80.0).abs() < 1e-9);
        assert!((c.shortfall() - 20.0).abs() < 1e-9);
    }
}
