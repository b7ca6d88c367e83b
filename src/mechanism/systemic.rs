//! Systemic metrics at the end of a path (docs/model.md §13): DebtRank of
//! the path's direct losses and the Eisenberg–Noe clearing of the lending
//! protocols' balance sheets as they stand.

use crate::graph::systemic::{ProtocolNetwork, clear_protocols};
use crate::mechanism::lending::Lending;
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// The protocol network of a scenario, built once, and the end-of-path
/// metrics on it.
pub struct Systemic {
    network: ProtocolNetwork,
}

impl Systemic {
    /// Build the network of a scenario at step 0.
    pub fn new(sc: &Scenario) -> Self {
        Systemic {
            network: ProtocolNetwork::build(sc),
        }
    }

    /// End of a path: DebtRank and clearing into the path's summary (none
    /// when no protocol has capital).
    pub fn end_of_path(&self, sc: &Scenario, lending: &Lending, rec: &mut PathRecord) {
        if !self.network.has_capital() {
            return;
        }
        let s = &rec.summary;
        let direct: Vec<f64> = s
            .protocol_bad_debt
            .iter()
            .zip(&s.protocol_bad_debt_contagion)
            .map(|(b, c)| b - c)
            .collect();
        rec.summary.debtrank = self.network.path_debtrank(&direct);
        let c = clear_protocols(&lending.balance_sheets(&self.network.capital));
        let defaults = (0..sc.protocols.len())
            .filter(|&p| sc.protocols[p].supply.is_some() && c.defaulted(p))
            .count() as u32;
        rec.summary.clearing = Some((c.shortfall(), defaults));
    }
}
