//! Scenario files: TOML (+ CSV, GeoJSON, time-series CSV) → validated [`Model`].
//!
//! Stage 1 of the pipeline (**scenario** → model → hydraulics → transport → assessment → report). The
//! contract for names, meanings and defaults is DESIGN.md §6; every key is documented with its unit and
//! default in `docs/scenario.md`. The stage runs in three layers, one file each:
//!
//! - `read`: files to text, safely — size limits (64 MiB for the TOML, 1 GiB for data files), UTF-8 with
//!   the line of the first bad byte, a nesting pre-scan that refuses TOML nested deeper than 64 levels;
//! - `parse`: text to [`raw`] items — each `[[reaches]]` entry, CSV row or GeoJSON feature deserialized on
//!   its own (serde, `deny_unknown_fields`), so one bad item does not hide the others; CSV rows go through
//!   the small serde deserializer in `csvrow` (dotted columns → nested tables, empty cell = absent);
//! - `check`: raw items to the [`Model`] — defaults, ids → indices, series files (`series`), bed levels from
//!   slopes, and every check, each recorded as a [`Problem`] and the checking carried on (one function per
//!   table, one toolkit for all of them).
//!
//! Units are converted here and nowhere else: durations to seconds, dates to seconds since the start;
//! lengths are metres, flows m³/s, concentrations mg/L, loads kg/day, decay 1/day, as written.
//! [`load`] returns the model only when no problem was found; the CLI maps [`ScenarioError`] to exit code 2.

mod check;
mod csvrow;
mod parse;
mod problems;
pub mod raw;
mod read;
mod series;

pub use problems::{Problem, ScenarioError};
pub use series::{parse_duration, parse_time, seconds_between};

use crate::model::Model;
use std::path::{Path, PathBuf};

/// Load, check and build a scenario. Every problem found is reported at once.
///
/// Reads the TOML file at `path`, the network CSV/GeoJSON files and time-series CSV files it names (paths
/// relative to the scenario file), checks everything (see `docs/scenario.md`) and returns the validated
/// [`Model`], or every problem found. Never panics on any input.
pub fn load(path: &Path) -> Result<Model, ScenarioError> {
    let mut probs = problems::Problems::default();
    let model = load_inner(path, &mut probs);
    finish(model, probs, path)
}

/// Parse a scenario given as text (as if read from `path`, which names it in problems and anchors its
/// relative paths). Useful for tests and tools that generate scenarios in memory.
pub fn load_str(text: &str, path: &Path) -> Result<Model, ScenarioError> {
    let mut probs = problems::Problems::default();
    let model = from_text(text, path, &mut probs);
    finish(model, probs, path)
}

/// The model if it was built without a problem, else every problem found (about the scenario at `path`).
fn finish(
    model: Option<Model>,
    mut probs: problems::Problems,
    path: &Path,
) -> Result<Model, ScenarioError> {
    match model {
        Some(m) if probs.is_empty() => Ok(m),
        _ => {
            if probs.is_empty() {
                // cannot happen: every failure path records a problem; keep the contract anyway
                probs.push(path, None, "scenario", "", "", "a valid scenario");
            }
            Err(probs.into_error(path))
        }
    }
}

fn load_inner(path: &Path, probs: &mut problems::Problems) -> Option<Model> {
    let bytes = read::read_bytes(
        path,
        read::MAX_TOML_BYTES,
        "a scenario TOML file",
        "scenario",
        probs,
    )?;
    let text = read::utf8(&bytes, path, "scenario", probs)?;
    from_text(text, path, probs)
}

fn from_text(text: &str, path: &Path, probs: &mut problems::Problems) -> Option<Model> {
    let mut rs = parse::parse_toml(text, path, probs)?;
    let dir: PathBuf = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    if let Some(net) = rs.network.take() {
        let n = &net.raw;
        // the reaches CSV (the largest file) is read while the other item CSVs are read on another thread;
        // each file keeps its own problems, appended below in the sequential order (nodes, reaches, the
        // GeoJSON, inflows, withdrawals, outfalls, sections), so the report is the same as one file after
        // another
        fn csv_into<T: serde::de::DeserializeOwned + Send>(
            file: &Option<String>,
            dir: &Path,
            kind: &'static str,
            out: &mut Vec<parse::Item<T>>,
            broken: &mut parse::Broken,
            probs: &mut problems::Problems,
        ) {
            if let Some(f) = file {
                let push = |it, rows| {
                    if out.capacity() == out.len() {
                        out.reserve(rows);
                    }
                    out.push(it);
                };
                parse::read_network_csv(&dir.join(f), kind, push, broken, probs);
            }
        }
        type Part = (problems::Problems, parse::Broken);
        let reaches = &mut rs.reaches;
        let (nodes, inflows, withdrawals, outfalls, sections) = (
            &mut rs.nodes,
            &mut rs.inflows,
            &mut rs.withdrawals,
            &mut rs.outfalls,
            &mut rs.sections,
        );
        let dir = &dir;
        let (reach_part, other_parts): (Part, [Part; 5]) = rayon::join(
            || {
                let mut part = Part::default();
                if let Some(f) = &n.reaches_csv {
                    let push = |it, rows| {
                        if reaches.capacity() == reaches.len() {
                            reaches.reserve(rows);
                        }
                        reaches.push((it, Vec::new()));
                    };
                    parse::read_network_csv(&dir.join(f), "reach", push, &mut part.1, &mut part.0);
                }
                part
            },
            || {
                let mut parts: [Part; 5] = Default::default();
                let [p_nodes, p_inflows, p_withdrawals, p_outfalls, p_sections] = &mut parts;
                csv_into(
                    &n.nodes_csv,
                    dir,
                    "node",
                    nodes,
                    &mut p_nodes.1,
                    &mut p_nodes.0,
                );
                csv_into(
                    &n.inflows_csv,
                    dir,
                    "inflow",
                    inflows,
                    &mut p_inflows.1,
                    &mut p_inflows.0,
                );
                csv_into(
                    &n.withdrawals_csv,
                    dir,
                    "withdrawal",
                    withdrawals,
                    &mut p_withdrawals.1,
                    &mut p_withdrawals.0,
                );
                csv_into(
                    &n.outfalls_csv,
                    dir,
                    "outfall",
                    outfalls,
                    &mut p_outfalls.1,
                    &mut p_outfalls.0,
                );
                csv_into(
                    &n.sections_csv,
                    dir,
                    "section",
                    sections,
                    &mut p_sections.1,
                    &mut p_sections.0,
                );
                parts
            },
        );
        let [p_nodes, p_inflows, p_withdrawals, p_outfalls, p_sections] = other_parts;
        let mut merge = |part: Part, probs: &mut problems::Problems| {
            probs.append(part.0);
            rs.broken.extend(part.1);
        };
        merge(p_nodes, probs);
        merge(reach_part, probs);
        if let Some(f) = &n.reaches_geojson {
            parse::read_geojson(&dir.join(f), &mut rs.reaches, &mut rs.broken, probs);
        }
        let mut merge = |part: Part, probs: &mut problems::Problems| {
            probs.append(part.0);
            rs.broken.extend(part.1);
        };
        merge(p_inflows, probs);
        merge(p_withdrawals, probs);
        merge(p_outfalls, probs);
        merge(p_sections, probs);
    }
    check::model(rs, path, probs)
}
