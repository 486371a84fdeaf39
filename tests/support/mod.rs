//! Shared test helpers: scenario text (the validation, hostile-input and command-line tests) and running the
//! `rivsim` binary (the command-line, apportion, projects and rank tests). Each test crate uses only part of it.
#![allow(dead_code, unused_imports, unused_macros)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `rivsim` binary built for these tests, as a command to add arguments to.
pub fn rivsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rivsim"))
}

/// A path inside the repository, e.g. a bundled scenario: `repo("scenarios/tutorial/scenario.toml")`.
pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Assert that a finished run exited with code 0; otherwise the failure shows `what` and the run's stderr.
pub fn assert_exit_ok(out: &Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The three nodes of a channel U → J → O as scenario text (a macro, for `concat!`): a boundary `U`, a
/// junction `J` and an outlet `O` held at 2 m.
macro_rules! u_j_o_nodes {
    () => {
        r#"[[nodes]]
id = "U"
kind = "boundary"

[[nodes]]
id = "J"
kind = "junction"

[[nodes]]
id = "O"
kind = "outlet"
level_m = 2.0
"#
    };
}
pub(crate) use u_j_o_nodes;

/// The smallest valid scenario body, as a string literal (a macro so that `concat!` can extend it into other
/// constants): one 1 km rectangular reach from a boundary `A` to an outlet `B` held at 1 m, pollutants COD and TP,
/// one day at hourly output, and an inflow of 1 m³/s at `A` whose table ends the text (so that a caller may
/// append keys to it: `concat!(one_reach!(), "concentration = { COD = 20.0 }\n")`). The text starts with a
/// newline, so line k of the file is line k + 1 of the text after a one-line prefix.
macro_rules! one_reach {
    () => {
        r#"
[simulation]
start = "2025-01-01"
end = "2025-01-02"
output_interval = "1h"
pollutants = ["COD", "TP"]

[defaults]
manning_n = 0.03
section = { shape = "rectangle", width_m = 10.0 }

[[nodes]]
id = "A"
kind = "boundary"

[[nodes]]
id = "B"
kind = "outlet"
level_m = 1.0

[[reaches]]
id = "R1"
from = "A"
to = "B"
length_m = 1000.0

[[inflows]]
node = "A"
flow_m3s = 1.0
"#
    };
}
pub(crate) use one_reach;

/// `f` run inside a rayon pool of `threads` threads (for the tests that compare 1 and 2 threads bit for bit).
pub fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
        .install(f)
}
