//! Scripted defaults (docs/model.md §5, "Scripted defaults"): at a given
//! step a protocol sells one position out whatever its health factor,
//! a named one or one drawn at random on each path: the trigger of
//! Caccioli et al. (2014), where one holder chosen at random fails first.

use rand::RngExt;

use super::Lending;
use crate::market::state::Market;
use crate::output::recorder::PathRecord;

impl Lending<'_> {
    /// Round 0 of step t: every scripted default of the step, protocol by
    /// protocol in file order, sells its position out (`force_sell`, at
    /// the round's oracle prices, whatever its health factor); a random
    /// one is drawn among the protocol's positions that owe something now
    /// (in id order). A position that owes nothing and holds nothing is
    /// passed over. Returns the positions sold.
    pub(super) fn scripted_defaults(
        &mut self,
        t: u32,
        market: &mut Market,
        rec: &mut PathRecord,
    ) -> u32 {
        let sc = self.sc;
        let book = &sc.book;
        let mut sold = 0;
        for (p, spec) in sc.protocols.iter().enumerate() {
            for d in spec.defaults.iter().filter(|d| d.step == t) {
                let i = match d.position {
                    // Checked at load; a cut may have left it out.
                    Some(id) => match book.id.binary_search(&id) {
                        Ok(i) => i,
                        Err(_) => continue,
                    },
                    None => {
                        let owing: Vec<usize> = (0..book.len())
                            .filter(|&i| book.protocol[i] as usize == p && self.debt[i] > 0.0)
                            .collect();
                        if owing.is_empty() {
                            continue;
                        }
                        owing[self.default_rng.random_range(0..owing.len())]
                    }
                };
                let hf = self.health_factor(i);
                if self.force_sell(t, 0, i, hf, market, rec) {
                    sold += 1;
                }
            }
        }
        sold
    }
}
