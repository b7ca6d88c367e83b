//! JSON Schemas of scenario and sweep files, generated from the types the
//! files are read into (`scenario::raw`, `sweep::raw`), so they cannot
//! drift from what the reader accepts. `contagion schema` prints them;
//! `schema/` keeps a copy that the shipped files point TOML editors to
//! (`#:schema` on their first line) and that the tests hold equal to these.

use schemars::schema_for;

use crate::scenario::raw::RawScenario;
use crate::sweep::raw::RawSweepFile;

/// Which file's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// A scenario file.
    Scenario,
    /// A sweep file.
    Sweep,
}

impl SchemaKind {
    /// Where the copy of the schema lives in the repository.
    pub fn file(self) -> &'static str {
        match self {
            SchemaKind::Scenario => "schema/scenario.json",
            SchemaKind::Sweep => "schema/sweep.json",
        }
    }
}

/// The schema as pretty JSON, with a trailing newline.
pub fn schema_json(kind: SchemaKind) -> String {
    let mut schema = match kind {
        SchemaKind::Scenario => schema_for!(RawScenario),
        SchemaKind::Sweep => schema_for!(RawSweepFile),
    };
    let title = match kind {
        SchemaKind::Scenario => "contagion scenario file",
        SchemaKind::Sweep => "contagion sweep file",
    };
    schema.insert("title".into(), title.into());
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}
