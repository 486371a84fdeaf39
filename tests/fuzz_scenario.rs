//! Fuzzing the scenario loader (TOML, CSV and GeoJSON) with proptest, a bounded number of cases per run so
//! that CI finishes in seconds: `RIVSIM_FUZZ_CASES=100000 cargo test --release --test fuzz_scenario` runs a
//! longer campaign (proptest shrinks any failure and saves its seed in `fuzz_scenario.proptest-regressions`).
//!
//! Three generators:
//! - **arbitrary bytes** as the scenario file;
//! - **mutations** of a valid scenario made of a TOML file, six network CSV files and a GeoJSON file: byte
//!   flips, deletions, duplications and insertions of tokens that have broken parsers before (huge and odd
//!   numbers, brackets, quotes, Unicode, NUL, table headers, long runs);
//! - **structured scenarios**: small networks written from the documented keys with values drawn from
//!   extremes (0, negative, 1e-300, 1e308, nan, inf, huge integers, empty and Unicode strings), dangling
//!   references and missing keys.
//!
//! The property: loading never panics; when it succeeds, the model also builds its network, solves its
//! hydraulics and takes transport steps without a panic (a run may fail with an error: that is a clean
//! outcome). Every load and run is wrapped in `catch_unwind`. Crashes found by these generators are kept as
//! named tests in `tests/hostile.rs` and `tests/validation.rs`.

use proptest::prelude::*;
use rivsim::hydraulics::{self, HydraulicsOptions};
use rivsim::network::Network;
use rivsim::transport::{Simulation, TransportOptions};
use std::path::{Path, PathBuf};

/// Cases per generator: `RIVSIM_FUZZ_CASES`, default 200 (about a second each in a debug build).
fn cases() -> u32 {
    std::env::var("RIVSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// The files of the valid multi-file scenario in `tests/data/scenario/files`, by path relative to it.
fn base_files() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenario/files");
    let mut out = vec![(
        "scenario.toml".to_string(),
        std::fs::read(root.join("scenario.toml")).unwrap(),
    )];
    let mut net: Vec<_> = std::fs::read_dir(root.join("network"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    net.sort();
    for name in net {
        let bytes = std::fs::read(root.join("network").join(&name)).unwrap();
        out.push((format!("network/{name}"), bytes));
    }
    out
}

/// Write `files` into a fresh folder and return it with the scenario's path.
fn write_files(files: &[(String, Vec<u8>)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("network")).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let s = dir.path().join("scenario.toml");
    (dir, s)
}

/// Load `path`, and if it loads, build, solve and step a little; a panic anywhere fails with `what`.
fn load_and_run(path: &Path, what: &str) {
    let p = path.to_path_buf();
    let outcome = std::panic::catch_unwind(move || {
        let Ok(model) = rivsim::scenario::load(&p) else {
            return;
        };
        // a valid model runs: errors are clean outcomes, panics are not (kept small: at most 50 steps)
        let net = Network::build(&model);
        let Ok(hyd) = hydraulics::solve(&model, &net, &HydraulicsOptions::default()) else {
            return;
        };
        let Ok(mut sim) = Simulation::new(&model, &net, &hyd, &TransportOptions::default()) else {
            return;
        };
        for _ in 0..50 {
            match sim.step() {
                Ok(true) => {}
                _ => break,
            }
        }
    });
    if outcome.is_err() {
        panic!(
            "a panic on {what}: {}",
            std::fs::read_to_string(path).unwrap_or_default()
        );
    }
}

/// Tokens that have broken parsers and checks before.
const TOKENS: &[&str] = &[
    "1e308",
    "-1e308",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "-0.0",
    "0",
    "0.0",
    "1e-320",
    "9223372036854775808",
    "99999999999999999999999999999",
    "\"\"",
    "\"大河\"",
    "\"a/b\\\\c\"",
    "[",
    "]",
    "{",
    "}",
    "[[",
    "]]",
    "=",
    ",",
    "\n",
    "\r\n",
    "\"",
    "'",
    "#",
    "\u{0}",
    "\u{feff}",
    "[[reaches]]\n",
    "[[nodes]]\n",
    "[simulation]\n",
    "level_m = ",
    "time_step = \"1s\"\n",
    "\"1e308d\"",
    "\"0s\"",
    "2025-02-30",
    "9999-12-31T23:59:59",
    "section.shape",
    ",,,,,,,,",
    "\"coordinates\": [[1e308, 0], [0, 1e308]]",
    "\"LineString\"",
    "null",
    "true",
];

/// One edit of a file: where (a fraction of its length) and what.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace one byte.
    Flip(f64, u8),
    /// Delete up to n bytes.
    Delete(f64, usize),
    /// Repeat up to n bytes in place.
    Duplicate(f64, usize),
    /// Insert a token from [`TOKENS`].
    Token(f64, usize),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0f64..1.0, any::<u8>()).prop_map(|(p, b)| Edit::Flip(p, b)),
        (0.0f64..1.0, 1usize..40).prop_map(|(p, n)| Edit::Delete(p, n)),
        (0.0f64..1.0, 1usize..200).prop_map(|(p, n)| Edit::Duplicate(p, n)),
        (0.0f64..1.0, 0..TOKENS.len()).prop_map(|(p, t)| Edit::Token(p, t)),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    let at = |p: f64, len: usize| ((p * len as f64) as usize).min(len);
    match *e {
        Edit::Flip(p, b) => {
            if !bytes.is_empty() {
                let i = at(p, bytes.len() - 1);
                bytes[i] = b;
            }
        }
        Edit::Delete(p, n) => {
            let i = at(p, bytes.len());
            let j = (i + n).min(bytes.len());
            bytes.drain(i..j);
        }
        Edit::Duplicate(p, n) => {
            let i = at(p, bytes.len());
            let j = (i + n).min(bytes.len());
            let piece = bytes[i..j].to_vec();
            bytes.splice(j..j, piece);
        }
        Edit::Token(p, t) => {
            let i = at(p, bytes.len());
            bytes.splice(i..i, TOKENS[t].bytes());
        }
    }
}

// ------------------------------------------------------------------------ structured scenarios

/// Extreme values for numeric keys.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "-0.0",
    "1e-300",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "1e20",
    "9223372036854775807",
    "\"12\"",
    "[]",
    "{}",
    "true",
];

/// A number in `lo..hi`, or (one time in `rare`) an extreme.
fn number(lo: f64, hi: f64, rare: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        rare => (lo..hi).prop_map(|v| v.to_string()),
        1 => prop::sample::select(EXTREMES).prop_map(String::from),
    ]
}

/// A duration, or (rarely) an odd one.
fn duration(normal: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        30 => prop::sample::select(normal).prop_map(|d| format!("\"{d}\"")),
        1 => prop::sample::select(vec!["\"0s\"", "\"-1h\"", "\"1e308s\"", "\"1e-9s\"", "\"h\"", "3600", "\"1y\""])
            .prop_map(String::from),
    ]
}

/// A reference: the right id mostly, sometimes a dangling or odd one.
fn reference(right: String) -> impl Strategy<Value = String> {
    prop_oneof![
        30 => Just(format!("\"{right}\"")),
        1 => prop::sample::select(vec!["\"\"", "\"nowhere\"", "\"大河\"", "1"]).prop_map(String::from),
    ]
}

/// The values of one reach: length, width, slope, n, cell length, dispersion, decay.
fn reach_values() -> impl Strategy<Value = Vec<String>> {
    (
        number(50.0, 5000.0, 40),
        number(1.0, 40.0, 40),
        number(0.0, 0.001, 40),
        number(0.015, 0.06, 40),
        number(20.0, 500.0, 40),
        number(0.0, 20.0, 40),
        number(0.0, 2.0, 40),
    )
        .prop_map(|(a, b, c, d, e, f, g)| vec![a, b, c, d, e, f, g])
}

prop_compose! {
    /// A small valid tree network — reach i drains node i+1 into an earlier node — with a held or free outlet,
    /// inflows at the sources, an outfall, a section and a zone; every number and reference is sometimes an
    /// extreme or dangling value instead.
    fn scenario()(parents in prop::collection::vec(any::<prop::sample::Index>(), 1..6),
                  values in prop::collection::vec(reach_values(), 6),
                  inflow in (number(0.001, 50.0, 30), number(0.0, 300.0, 30)),
                  outfall in (any::<prop::sample::Index>(), number(0.0, 1.0, 30), number(0.0, 5.0, 30),
                              number(0.0, 1000.0, 30)),
                  level in prop::option::of(number(0.5, 5.0, 30)),
                  section_at in number(0.0, 1.0, 30),
                  step in prop::option::of(duration(&["1min", "5min", "10s"])),
                  out in duration(&["1h", "30min", "2h"]),
                  warm in duration(&["0s", "1h"]),
                  end in prop::sample::select(vec!["2025-01-01T06:00:00", "2025-01-02", "2025-01-01T01:00:00"]),
                  mode in prop::sample::select(vec!["dynamic", "steady"]),
                  refs in prop::collection::vec(reference("R1".into()), 3))
                  -> String {
        let k = parents.len();
        let mut t = format!(
            "title = \"fuzz\"\n[simulation]\nstart = \"2025-01-01\"\nend = \"{end}\"\npollutants = [\"COD\"]\n\
             output_interval = {out}\nwarmup = {warm}\nmode = \"{mode}\"\n"
        );
        if let Some(step) = step {
            t += &format!("time_step = {step}\n");
        }
        t += "\n[[nodes]]\nid = \"N0\"\nkind = \"outlet\"\n";
        if let Some(level) = &level {
            t += &format!("level_m = {level}\n");
        }
        let mut has_child = vec![false; k + 1];
        let parent: Vec<usize> = parents.iter().enumerate().map(|(i, p)| p.index(i + 1)).collect();
        for &p in &parent {
            has_child[p] = true;
        }
        for n in 1..=k {
            let kind = if has_child[n] { "junction" } else { "boundary" };
            t += &format!("\n[[nodes]]\nid = \"N{n}\"\nkind = \"{kind}\"\n");
        }
        for i in 0..k {
            let v = &values[i];
            t += &format!(
                "\n[[reaches]]\nid = \"R{}\"\nfrom = \"N{}\"\nto = \"N{}\"\nlength_m = {}\n\
                 section = {{ shape = \"rectangle\", width_m = {} }}\nbed_slope = {}\nmanning_n = {}\n\
                 cell_length_m = {}\ndispersion_m2s = {}\ndecay_per_day = {{ COD = {} }}\n",
                i + 1, i + 1, parent[i], v[0], v[1], v[2], v[3], v[4], v[5], v[6]
            );
        }
        for n in 1..=k {
            if !has_child[n] {
                t += &format!(
                    "\n[[inflows]]\nnode = \"N{n}\"\nflow_m3s = {}\nconcentration = {{ COD = {} }}\n",
                    inflow.0, inflow.1
                );
            }
        }
        let r = outfall.0.index(k) + 1;
        t += &format!(
            "\n[[outfalls]]\nid = \"P1\"\nkind = \"sewage\"\nreach = \"R{r}\"\nat_m = {}\nflow_m3s = {}\n\
             concentration = {{ COD = {} }}\n",
            // a position as a share of the reach, unless extreme
            outfall.1.parse::<f64>().map_or(outfall.1.clone(), |f| (f * 50.0).to_string()),
            outfall.2, outfall.3
        );
        t += &format!("\n[[zones]]\nid = \"Z1\"\ntarget = \"III\"\n\n[[sections]]\nid = \"S1\"\nreach = {}\nat_m = {}\n",
            refs[0], section_at.parse::<f64>().map_or(section_at.clone(), |f| (f * 50.0).to_string()));
        t
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Arbitrary bytes as the scenario file.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let (_dir, s) = write_files(&[("scenario.toml".into(), bytes)]);
        load_and_run(&s, "arbitrary bytes");
    }

    /// Mutations of one file of a valid TOML + CSV + GeoJSON scenario.
    #[test]
    fn mutated_files_never_panic(file in 0usize..8, edits in prop::collection::vec(edit_strategy(), 1..4)) {
        let mut files = base_files();
        let k = file % files.len();
        for e in &edits {
            apply(&mut files[k].1, e);
        }
        let (_dir, s) = write_files(&files);
        load_and_run(&s, &format!("a mutated {}", files[k].0));
    }

    /// Structured scenarios with extreme and dangling values.
    #[test]
    fn structured_scenarios_never_panic(text in scenario()) {
        let (_dir, s) = write_files(&[("scenario.toml".into(), text.into_bytes())]);
        load_and_run(&s, "a structured scenario");
    }
}

/// The base scenario of the mutation fuzzer loads and runs (so that mutations start from a valid input).
#[test]
fn the_mutation_base_is_valid() {
    let (_dir, s) = write_files(&base_files());
    rivsim::scenario::load(&s).unwrap();
}
