//! Hostile input: `load` must return `Err` with a sensible problem — never panic, never hang — for truncated,
//! garbage, huge, deeply nested, non-UTF-8, missing, ragged or absurd files. Every load here runs inside
//! `std::panic::catch_unwind` to prove that no panic escapes.

mod support;

use rivsim::scenario::{ScenarioError, load};
use std::path::{Path, PathBuf};

const BASE: &str = concat!(
    "title = \"hostile base\"",
    support::one_reach!(),
    r#"concentration = { COD = 20.0 }

[[outfalls]]
id = "P1"
reach = "R1"
at_m = 500.0
flow_m3s = 0.01
concentration = { COD = 300.0 }
kind = "sewage"
"#
);

/// Load inside `catch_unwind`; a panic fails the test, `Ok` is returned as `None`.
fn try_load(path: &Path) -> Option<ScenarioError> {
    let p = path.to_path_buf();
    match std::panic::catch_unwind(move || load(&p)) {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => panic!("load panicked on {}", path.display()),
    }
}

/// Load and expect a clean error whose problems all say what would be valid.
fn must_fail(path: &Path) -> ScenarioError {
    let e = try_load(path).unwrap_or_else(|| panic!("{} loaded but should not", path.display()));
    assert!(!e.problems.is_empty());
    for p in &e.problems {
        assert!(
            !p.expected.is_empty(),
            "every problem says what would be valid: {p}"
        );
    }
    e
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn any_says(e: &ScenarioError, what: &str) -> bool {
    e.problems
        .iter()
        .any(|p| p.expected.contains(what) || p.value.contains(what))
}

#[test]
fn base_loads() {
    let dir = tempfile::tempdir().unwrap();
    assert!(try_load(&write(dir.path(), "s.toml", BASE)).is_none());
}

#[test]
fn every_truncation_is_handled() {
    // every prefix of a valid file: either a valid scenario (cut between items) or a clean error
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let mut failures = 0;
    for cut in 0..BASE.len() {
        if !BASE.is_char_boundary(cut) {
            continue;
        }
        std::fs::write(&path, &BASE[..cut]).unwrap();
        if let Some(e) = try_load(&path) {
            failures += 1;
            assert!(e.problems.iter().all(|p| !p.expected.is_empty()));
        }
    }
    // the file is incomplete at most cut points (the outfall's kind is the last key)
    assert!(failures > BASE.len() / 2, "{failures}");
}

#[test]
fn binary_garbage_and_text_garbage() {
    let dir = tempfile::tempdir().unwrap();
    // a deterministic pseudo-random byte stream (64-bit LCG, Knuth's constants)
    let mut x: u64 = 0x2545F4914F6CDD1D;
    let bytes: Vec<u8> = (0..65536)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect();
    let e = must_fail(&write(dir.path(), "bin.toml", &bytes));
    assert!(any_says(&e, "UTF-8"), "{e}");
    // printable garbage: valid UTF-8, not TOML
    let text: String = bytes.iter().map(|b| (b' ' + b % 95) as char).collect();
    let e = must_fail(&write(dir.path(), "text.toml", text));
    assert_eq!(e.problems[0].item, "TOML syntax", "{e}");
    assert!(
        e.problems.len() <= 22,
        "syntax errors are capped: {}",
        e.problems.len()
    );
    // an empty file
    let e = must_fail(&write(dir.path(), "empty.toml", ""));
    assert!(e.problems.iter().any(|p| p.item == "[simulation]"), "{e}");
}

#[test]
fn non_utf8_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = BASE.as_bytes().to_vec();
    let at = BASE.find("hostile").unwrap();
    bytes[at] = 0xE9; // Latin-1 'é'
    let e = must_fail(&write(dir.path(), "latin1.toml", bytes));
    assert_eq!(e.problems[0].line, Some(1), "{e}");
    assert!(e.problems[0].expected.contains("UTF-8"));
}

#[test]
fn huge_numbers_nan_inf_negative() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "length_m = 1000.0",
            "length_m = 1e308",
            "a reach length of at most 10⁷ m",
        ),
        ("length_m = 1000.0", "length_m = 1e400", "finite"),
        (
            "length_m = 1000.0",
            "length_m = 1000.0\ncell_length_m = 1e-300",
            "cells",
        ),
        ("length_m = 1000.0", "length_m = nan", "finite"),
        ("length_m = 1000.0", "length_m = -inf", "finite"),
        ("manning_n = 0.03", "manning_n = inf", "(0, 0.2]"),
        ("width_m = 10.0", "width_m = -10.0", "> 0"),
        ("flow_m3s = 1.0", "flow_m3s = -1.0", "≥ 0"),
        ("flow_m3s = 1.0", "flow_m3s = nan", "finite"),
        ("COD = 20.0", "COD = -20.0", "≥ 0"),
        ("COD = 20.0", "COD = 1e999", "finite"),
        ("at_m = 500.0", "at_m = nan", "finite"),
        ("at_m = 500.0", "at_m = 1e300", "0 to 1000 m"),
        ("level_m = 1.0", "level_m = inf", "finite"),
        (
            "end = \"2025-01-02\"",
            "end = \"+262143-12-31\"",
            "ISO date",
        ),
        (
            "end = \"2025-01-02\"",
            "end = \"99999999-01-01\"",
            "ISO date",
        ),
        (
            "output_interval = \"1h\"",
            "output_interval = \"1e-300s\"",
            "duration",
        ),
        (
            "output_interval = \"1h\"",
            "output_interval = \"0.000000001s\"",
            "output times",
        ),
        (
            "output_interval = \"1h\"",
            &format!("output_interval = \"{}d\"", "9".repeat(400)),
            "too large",
        ),
        (
            "output_interval = \"1h\"",
            "output_interval = \"1h\"\ntime_step = \"0.00000000001s\"",
            "steps",
        ),
        (
            "id = \"R1\"",
            "id = 99999999999999999999999",
            "the id of a reach",
        ),
    ];
    for (from, to, says) in cases {
        let text = BASE.replacen(from, to, 1);
        assert_ne!(text, BASE, "{from}");
        let e = must_fail(&write(dir.path(), "s.toml", text));
        assert!(
            any_says(&e, says),
            "{to}: expected a problem saying `{says}`:\n{e}"
        );
    }
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    for text in [
        format!("a = {}", "[".repeat(100_000)),
        format!("a = {}1{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("a = {}1{}", "{ b = ".repeat(50_000), " }".repeat(50_000)),
        format!("{} = 1", vec!["k"; 100_000].join(".")),
        format!("[{}]", vec!["t"; 100_000].join(".")),
    ] {
        let e = must_fail(&write(dir.path(), "deep.toml", text));
        assert!(any_says(&e, "nested at most 64"), "{e}");
    }
    // 60 levels is fine for the pre-scan (and the parser): the error is about the content
    let ok_depth = format!("{BASE}\nx = {}1{}\n", "[".repeat(60), "]".repeat(60));
    let e = must_fail(&write(dir.path(), "d60.toml", ok_depth));
    assert!(e.problems.iter().any(|p| p.field == "x"), "{e}");
    // deep JSON in a GeoJSON file: serde_json's recursion limit
    let toml = BASE.replace(
        "[[reaches]]\nid = \"R1\"\nfrom = \"A\"\nto = \"B\"\nlength_m = 1000.0\n",
        "[network]\nreaches_geojson = \"g.json\"\n",
    );
    write(dir.path(), "g.json", "[".repeat(100_000));
    let e = must_fail(&write(dir.path(), "gj.toml", toml));
    assert!(any_says(&e, "valid JSON"), "{e}");
}

#[test]
fn a_30_mb_file_is_handled() {
    // (parsing 30 MB of reach tables takes ~40 s in a debug build, too slow for CI: the bulk here is one
    // 30 MB string, which exercises the same size paths cheaply, and 1 MB of junk on one line)
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}
notes = \"{}\"\n",
        "river ".repeat(5_000_000)
    );
    assert!(text.len() > 30_000_000);
    let e = must_fail(&write(dir.path(), "big.toml", &text));
    assert!(e.problems.iter().any(|p| p.field == "notes"), "{e}");
    let e = must_fail(&write(dir.path(), "junk.toml", "x".repeat(1_000_000)));
    assert_eq!(e.problems[0].item, "TOML syntax");
}

#[test]
fn problems_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    // 2,000 reaches that name unknown nodes: every reach checked, the list capped at 500 plus a count
    let mut text = String::from(BASE);
    for k in 0..2000 {
        text.push_str(&format!(
            "[[reaches]]\nid = \"Q{k}\"\nfrom = \"X\"\nto = \"Y\"\nlength_m = 1.0\n"
        ));
    }
    let e = must_fail(&write(dir.path(), "many.toml", &text));
    assert_eq!(e.problems.len(), 501);
    let last = e.problems.last().unwrap();
    // 2 unknown nodes per reach = 4,000 problems: 500 shown, 3,500 counted
    assert!(
        last.expected.starts_with("3500 more problem(s) not listed"),
        "{last}"
    );
}

#[test]
fn oversized_missing_and_directory() {
    let dir = tempfile::tempdir().unwrap();
    // a sparse 100 MB file: refused by its size before reading
    let big = dir.path().join("huge.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let e = must_fail(&big);
    assert!(any_says(&e, "at most"), "{e}");
    let e = must_fail(&dir.path().join("nope.toml"));
    assert!(any_says(&e, "does not exist"), "{e}");
    let e = must_fail(dir.path());
    assert!(any_says(&e, "directory"), "{e}");
    // a device: refused without reading (a FIFO would block, /dev/zero never ends)
    if Path::new("/dev/zero").exists() {
        let e = must_fail(Path::new("/dev/zero"));
        assert!(any_says(&e, "not a regular file"), "{e}");
    }
    let fifo = dir.path().join("pipe.toml");
    if std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let e = must_fail(&fifo);
        assert!(any_says(&e, "not a regular file"), "{e}");
    }
    // a directory named by [network]
    std::fs::create_dir(dir.path().join("net")).unwrap();
    let toml = format!("{BASE}\n[network]\nnodes_csv = \"net\"\n");
    let e = must_fail(&write(dir.path(), "s.toml", toml));
    assert!(any_says(&e, "directory"), "{e}");
}

#[test]
fn ragged_and_garbage_csv() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!("{BASE}\n[network]\nnodes_csv = \"n.csv\"\n");
    let path = write(dir.path(), "s.toml", &toml);
    write(
        dir.path(),
        "n.csv",
        "id,kind\nC,junction\nD\nE,junction,extra\n",
    );
    let e = must_fail(&path);
    let p = e
        .problems
        .iter()
        .find(|p| p.file.ends_with("n.csv"))
        .expect("a CSV problem");
    assert_eq!(p.line, Some(3), "{p}");
    assert!(p.expected.contains("2 fields"), "{p}");
    assert_eq!(
        e.problems.len(),
        1,
        "a file read only in part causes no cascade of network problems: {e}"
    );
    // binary CSV
    write(
        dir.path(),
        "n.csv",
        [0x69, 0x64, 0x0A, 0xFF, 0xFE, 0x00, 0x0A],
    );
    let e = must_fail(&path);
    assert!(any_says(&e, "UTF-8"), "{e}");
    // a time series with a ragged row and a garbage row
    let toml = BASE.replace("flow_m3s = 1.0", "flow_series = \"q.csv\"");
    let path = write(dir.path(), "t.toml", toml);
    write(
        dir.path(),
        "q.csv",
        "time,flow_m3s\n2025-01-01,1\n2025-01-02\n",
    );
    let e = must_fail(&path);
    assert!(
        e.problems
            .iter()
            .any(|p| p.line == Some(3) && p.expected.contains("2 fields")),
        "{e}"
    );
    write(dir.path(), "q.csv", "\u{0}\u{1}garbage\n,,,\n");
    let e = must_fail(&path);
    assert!(any_says(&e, "`time`"), "{e}");
    // a header only
    write(dir.path(), "q.csv", "time,flow_m3s\n");
    let e = must_fail(&path);
    assert!(any_says(&e, "at least one row"), "{e}");
}

#[test]
fn wrong_types_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("[simulation]", "simulation = 5\n[x]"),
        ("[[nodes]]\nid = \"A\"", "nodes = \"A\"\n[[n]]\nid = \"A\""),
        ("pollutants = [\"COD\", \"TP\"]", "pollutants = \"COD\""),
        (
            "section = { shape = \"rectangle\", width_m = 10.0 }",
            "section = [1, 2]",
        ),
        ("title = \"hostile base\"", "title = 1979-05-27"),
        (
            "concentration = { COD = 20.0 }",
            "concentration = { COD = \"high\" }",
        ),
    ] {
        let text = BASE.replacen(from, to, 1);
        assert_ne!(text, BASE);
        must_fail(&write(dir.path(), "s.toml", text));
    }
}
