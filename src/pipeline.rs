//! The pipeline the command line drives: scenario → model → hydraulics → transport → assessment → report.
//!
//! One function per command; each returns an [`Error`] whose [`Error::exit_code`] follows DESIGN.md §6
//! (2 for invalid input, 1 for a failure while running).

use crate::hydraulics::{self, Hydraulics, HydraulicsError, HydraulicsOptions};
use crate::model::Model;
use crate::network::Network;
use crate::report::{self, ReportError};
use crate::scenario::{self, ScenarioError};
use std::path::{Path, PathBuf};

/// Anything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario is invalid (exit code 2).
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// Hydraulics failed (exit code 1).
    #[error("hydraulics: {0}")]
    Hydraulics(#[from] HydraulicsError),
    /// Writing results failed (exit code 1).
    #[error("{0}")]
    Report(#[from] ReportError),
    /// Any other failure while running (exit code 1).
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Process exit code: 2 for invalid input, 1 for a failure while running.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Scenario(_) => 2,
            _ => 1,
        }
    }
}

/// A loaded scenario with its frozen network.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The validated model.
    pub model: Model,
    /// Its network.
    pub net: Network,
}

/// Load and validate a scenario, and freeze its network.
pub fn prepare(path: &Path) -> Result<Prepared, Error> {
    let model = scenario::load(path)?;
    let net = Network::build(&model);
    Ok(Prepared { model, net })
}

/// Steady hydraulics of every flow period.
pub fn hydraulics(p: &Prepared) -> Result<Hydraulics, Error> {
    Ok(hydraulics::solve(
        &p.model,
        &p.net,
        &HydraulicsOptions::default(),
    )?)
}

/// `rivsim hydraulics`: solve and write `DIR/reaches.csv`. Returns the written path and the solution.
pub fn write_hydraulics(p: &Prepared, out: &Path) -> Result<(PathBuf, Hydraulics), Error> {
    let hyd = hydraulics(p)?;
    report::ensure_dir(out)?;
    let csv = report::hydraulics_csv(&p.model, &p.net, &hyd);
    let path = report::write_atomic(out, "reaches.csv", csv.as_bytes())?;
    Ok((path, hyd))
}
