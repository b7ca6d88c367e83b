//! The subcommands of the `contagion` binary, one file each.

pub(crate) mod run;
pub(crate) mod sweep;
pub(crate) mod validate;
