//! Small helpers every writer of results shares: temporary names beside a file, ISO times of the run's clock
//! and CSV quoting. They sit below every module that writes (apportionment, projects, the report) so that
//! none of them imports another for these.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDateTime};

/// Temporary files made by this process so far (each gets its own name).
static TEMPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A temporary name beside `path` that no other process or thread uses: `.NAME.PID-N.EXT` (hidden; the
/// process id and a counter of this process; `EXT` last so that a writer choosing its format by extension
/// picks the right one). `staging` removes such files when their process has died.
pub(crate) fn temp_sibling(path: &Path, ext: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy().into_owned());
    let n = TEMPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}-{n}.{ext}", std::process::id()))
}

/// The calendar time of `t_s` seconds after the scenario start, ISO 8601 (`2025-01-01T06:00:00`).
pub fn iso_time(start: NaiveDateTime, t_s: f64) -> String {
    let ms = (t_s * 1000.0).round() as i64;
    let t = start + Duration::milliseconds(ms);
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Quote a CSV field if it needs it.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
