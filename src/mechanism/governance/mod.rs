//! Governance (docs/model.md §18): parameters that change during a run.
//! A scheduled change takes effect at the start of its step, on every
//! path, before anything else in the step; each mechanism adopts what the
//! change moves in it, and `parameters.parquet` records every field's old
//! and new value.

pub mod raw;
pub mod spec;
pub mod table;

use crate::mechanism::cdp::Cdps;
use crate::mechanism::governance::spec::GovernanceSpec;
use crate::mechanism::lending::Lending;
use crate::mechanism::perp::Perps;
use crate::output::recorder::PathRecord;

/// The mechanisms whose parameters change.
pub struct Governed<'w, 'a> {
    /// Lending markets.
    pub lending: &'w mut Lending<'a>,
    /// Perp markets.
    pub perps: &'w mut Perps<'a>,
    /// CDPs.
    pub cdps: &'w mut Cdps<'a>,
}

/// One path's progress through the changes.
pub struct Governance<'a> {
    spec: &'a GovernanceSpec,
    /// The first change not yet applied.
    next: usize,
    /// Field changes before it (`table::field_names` indexes them).
    field_offset: u32,
}

impl<'a> Governance<'a> {
    /// The changes of a scenario.
    pub fn new(spec: &'a GovernanceSpec) -> Self {
        Governance {
            spec,
            next: 0,
            field_offset: 0,
        }
    }

    /// Back to the start of a path.
    pub fn reset(&mut self) {
        self.next = 0;
        self.field_offset = 0;
    }

    /// Stage 0 of step `t`: apply the changes due, in order; a recorded
    /// path writes a row per field.
    pub fn act(&mut self, t: u32, m: Governed<'_, '_>, rec: &mut PathRecord) {
        while let Some(c) = self.spec.changes.get(self.next) {
            if c.step > t {
                break;
            }
            if let Some(r) = &c.lending {
                m.lending.adopt(r);
            }
            if let Some(specs) = &c.perps {
                m.perps.adopt(specs);
            }
            if let Some(terms) = &c.cdps {
                m.cdps.adopt(terms);
            }
            if rec.recorded {
                let rows = &mut rec.parameters;
                for (j, row) in c.rows.iter().enumerate() {
                    rows.step.push(t);
                    rows.change.push(c.entry as u32);
                    rows.target.push(self.field_offset + j as u32);
                    rows.field.push(self.field_offset + j as u32);
                    rows.old.push(row.old);
                    rows.new.push(row.new);
                    rows.actor.push(0);
                }
            }
            self.field_offset += c.rows.len() as u32;
            self.next += 1;
        }
    }
}
