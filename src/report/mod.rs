//! Reports: the CSV and JSON files of DESIGN.md §7, written atomically.
//!
//! Last stage of the pipeline. Every file is first written in full to a temporary file in the output folder
//! and then renamed over its final name, so a failed run never leaves half a result over a good one. Numbers
//! are printed with Rust's `{}` for f64 (shortest representation that reads back to the same bits), never
//! rounded for display.

pub mod chains;
pub mod geojson;
pub mod html;
pub mod hydraulics;
pub mod markup;
pub mod names;
mod num;
pub mod plot;
pub mod policy;
pub mod staging;
pub mod summary;
pub mod xlsx;

pub(crate) use crate::files::temp_sibling;
pub use crate::files::{csv_field, iso_time};
use crate::hydraulics::{FlowField, Hydraulics};
use crate::model::Model;
use crate::network::Network;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A report file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct ReportError {
    /// The file or folder.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Create `dir` if missing.
pub fn ensure_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError {
        path: dir.to_path_buf(),
        source,
    })
}

/// Write `bytes` to `dir/name` atomically: a temporary file in the same folder, flushed, then renamed.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    write_atomic_with(dir, name, |w| w.write_all(bytes))
}

/// Stream a file to `dir/name` atomically: `fill` writes into a buffered temporary file in the same folder,
/// which is flushed, synced and renamed over the final name only if everything succeeded. Large tables are
/// written this way so that they never have to sit whole in memory.
pub fn write_atomic_with(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<PathBuf, ReportError> {
    let target = dir.join(name);
    let tmp = temp_sibling(&target, "tmp");
    let err = |source| ReportError {
        path: target.clone(),
        source,
    };
    let written = (|| {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    std::fs::rename(&tmp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })?;
    Ok(target)
}

/// Reach means of one flow field: `(flow_m3s, velocity_ms, depth_m, travel_time_s)` (see
/// [`FlowField::reach_means`]).
pub fn reach_hydraulics(net: &Network, field: &FlowField, r: usize) -> (f64, f64, f64, f64) {
    let [q, v, y, tt] = field.reach_means(net, r);
    (q, v, y, tt)
}

/// `reaches.csv` of `rivsim hydraulics`: one row per reach per flow period, at the period's start time.
pub fn hydraulics_csv(model: &Model, net: &Network, hyd: &Hydraulics) -> String {
    let mut s = String::from("time,reach,flow_m3s,velocity_ms,depth_m,travel_time_s\n");
    for field in &hyd.periods {
        let time = iso_time(model.sim.start, field.t_start_s);
        for (r, reach) in model.reaches.iter().enumerate() {
            let (q, v, y, tt) = reach_hydraulics(net, field, r);
            let _ = writeln!(s, "{time},{},{q},{v},{y},{tt}", csv_field(&reach.id));
        }
    }
    s
}
