//! A command's results are one set: staged, then moved into `--out` together with `summary.json` listing them;
//! stale files of an earlier run removed; what dead runs left cleaned; an unusable `--out` refused before the
//! simulation; file names from ids readable, distinct and short enough.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::{assert_exit_ok, repo, rivsim};

/// The tutorial scenario, copied into `dir` with `edit` applied to its text; returns the new file.
fn tutorial_variant(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(repo("scenarios/tutorial/scenario.toml")).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).unwrap();
    path
}

fn run_cmd(scenario: &Path, out: &Path, plots: bool) -> Command {
    let mut c = rivsim();
    c.arg("run").arg(scenario).arg("--out").arg(out);
    if !plots {
        c.arg("--no-plots");
    }
    c
}

fn run(scenario: &Path, out: &Path, plots: bool) -> Output {
    run_cmd(scenario, out, plots).output().unwrap()
}

/// The visible (not hidden) files of `dir` with their contents.
fn visible(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Every name in `dir`, hidden ones included.
fn all_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The `"files"` of `dir/summary.json`.
fn listed(dir: &Path) -> BTreeSet<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    v["files"]
        .as_array()
        .expect("summary.json lists its files")
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

/// A run killed after it has written its first result file leaves `--out` exactly as the previous run left
/// it (every file, every byte), and the next run removes what the killed one left. Before staging, the
/// killed run's new `sections.csv` sat beside the previous `summary.json`.
#[test]
fn a_killed_run_leaves_the_previous_set_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let first = tutorial_variant(dir.path(), "a.toml", |t| t);
    // a different inflow quality, so that every result file differs from the first run's
    let second = tutorial_variant(dir.path(), "b.toml", |t| {
        t.replace(
            "concentration = { COD = 18.0, NH3N = 0.8, TP = 0.15 }",
            "concentration = { COD = 28.0, NH3N = 1.8, TP = 0.25 }",
        )
    });
    assert_exit_ok(&run(&first, &out, true), "first run");
    let before = visible(&out);
    let old_sections = std::fs::read(out.join("sections.csv")).unwrap();

    let mut child = run_cmd(&second, &out, true).spawn().unwrap();
    // wait until the second run has written sections.csv (staged, or, without staging, over the old one)
    let clock = Instant::now();
    let written = loop {
        let staged = all_names(&out)
            .iter()
            .any(|n| n.starts_with(".rivsim-stage-") && out.join(n).join("sections.csv").exists());
        let replaced = std::fs::read(out.join("sections.csv")).is_ok_and(|b| b != old_sections);
        if staged || replaced {
            break true;
        }
        if child.try_wait().unwrap().is_some() || clock.elapsed() > Duration::from_secs(120) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(written, "the second run finished before it could be killed");
    assert_eq!(visible(&out), before, "the killed run changed the results");

    // the next run clears the dead run's staging folder and leaves no temporary file
    assert_exit_ok(&run(&first, &out, false), "third run");
    let names = all_names(&out);
    assert!(
        names.iter().all(|n| !n.starts_with(".rivsim-stage-")
            && !n.ends_with(".tmp")
            && !n.contains(".partial.")),
        "{names:?}"
    );
}

/// `summary.json` lists exactly the visible files of the folder: a run without plots after one with plots
/// removes the earlier plots and `report.html`, and leaves a file rivsim never wrote alone.
#[test]
fn stale_files_of_an_earlier_run_are_removed_and_the_set_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let s = tutorial_variant(dir.path(), "s.toml", |t| t);
    assert_exit_ok(&run(&s, &out, true), "run with plots");
    let with_plots = listed(&out);
    assert!(with_plots.contains("report.html") && with_plots.contains("section_S1.png"));
    let names =
        |out: &Path| -> BTreeSet<String> { visible(out).into_iter().map(|f| f.0).collect() };
    assert_eq!(names(&out), with_plots);
    std::fs::write(out.join("notes.txt"), "mine").unwrap();

    assert_exit_ok(&run(&s, &out, false), "run without plots");
    let without = listed(&out);
    assert!(!without.contains("report.html") && !without.contains("section_S1.png"));
    let mut expected = without.clone();
    expected.insert("notes.txt".into());
    assert_eq!(names(&out), expected);
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
}

/// An output folder that cannot be created is refused before any computation, with exit code 2 naming it.
#[test]
fn an_unusable_out_is_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let s = tutorial_variant(dir.path(), "s.toml", |t| t);
    // a folder under a regular file cannot exist (root may write anywhere, so permissions would not do)
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out = run(&s, &blocker.join("out"), false);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("output folder") && err.contains("file/out"),
        "{err}"
    );
}

/// The output folder is checked before the simulation: a model whose hydraulics cannot succeed (a NaN
/// inflow, put past validation by hand) still fails on the folder, not on the NaN.
#[test]
fn the_output_folder_is_checked_before_the_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = rivsim::pipeline::prepare(&repo("scenarios/tutorial/scenario.toml")).unwrap();
    p.model.inflows[0].flow_m3s = rivsim::model::Series::Const(f64::NAN);
    let good = rivsim::pipeline::run(&p, &dir.path().join("ok"), &Default::default()).unwrap_err();
    assert_eq!(good.exit_code(), 1, "{good}");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let e = rivsim::pipeline::run(&p, &blocker.join("out"), &Default::default()).unwrap_err();
    assert!(
        matches!(e, rivsim::pipeline::Error::Output(_)),
        "expected the output folder's error, got: {e}"
    );
    assert_eq!(e.exit_code(), 2);
}

/// What runs that died left is cleared by the next run: a staging folder without a journal, temporary
/// files of the earlier naming (`.NAME.PID.tmp`, `.NAME.partial.png`) and of the current one whose process is
/// gone. A file the user made that merely starts with a dot stays.
#[test]
fn leftovers_of_dead_runs_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join(".rivsim-stage-4000000-0")).unwrap();
    std::fs::write(out.join(".rivsim-stage-4000000-0/.lock"), "").unwrap();
    std::fs::write(out.join(".rivsim-stage-4000000-0/sections.csv"), "x").unwrap();
    for f in [
        ".summary.json.4000000.tmp",
        ".map.png.partial.png",
        ".reaches.csv.4000000-3.tmp",
        ".gitignore",
    ] {
        std::fs::write(out.join(f), "x").unwrap();
    }
    let s = tutorial_variant(dir.path(), "s.toml", |t| t);
    assert_exit_ok(&run(&s, &out, false), "run");
    let hidden: Vec<String> = all_names(&out)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert_eq!(hidden, vec![".gitignore"]);
}

/// Two runs into one folder at the same time both succeed and leave one complete set (before, they shared
/// the temporary name `.map.png.partial.png` and one of them failed).
#[test]
fn two_runs_into_one_folder_at_once_leave_one_complete_set() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let s = tutorial_variant(dir.path(), "s.toml", |t| t);
    let a = run_cmd(&s, &out, true).spawn().unwrap();
    let b = run_cmd(&s, &out, true).spawn().unwrap();
    assert_exit_ok(&a.wait_with_output().unwrap(), "run a");
    assert_exit_ok(&b.wait_with_output().unwrap(), "run b");
    let names: BTreeSet<String> = visible(&out).into_iter().map(|f| f.0).collect();
    assert_eq!(names, listed(&out));
}

/// Sections 大河 and 小河 get their own readable plot files (before, both became `section___.png` and the
/// report showed one river's plot under the other's heading), `apportion` with them succeeds (it stopped
/// with exit 1), and a section id of 256 Chinese characters (768 bytes, three times what a file name may
/// hold) gets a capped file name (the run failed with "File name too long").
#[test]
fn ids_make_readable_distinct_and_short_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let long = "长".repeat(256);
    let s = tutorial_variant(dir.path(), "s.toml", |t| {
        t.replace("id = \"S1\"", "id = \"大河\"")
            + &format!(
                "\n[[sections]]\nid = \"小河\"\nreach = \"R1\"\nat_m = 1000.0\n\n\
                 [[sections]]\nid = \"{long}\"\nreach = \"R1\"\nat_m = 2000.0\n\n\
                 [[sections]]\nid = \"a/b\"\nreach = \"R1\"\nat_m = 3000.0\n"
            )
    });
    let out = dir.path().join("out");
    assert_exit_ok(&run(&s, &out, true), "run");
    let files = listed(&out);
    assert!(files.contains("section_大河.png"), "{files:?}");
    assert!(files.contains("section_小河.png"), "{files:?}");
    assert!(files.contains("section_a%2Fb.png"), "{files:?}");
    let long_file = files
        .iter()
        .find(|f| f.starts_with("section_长"))
        .expect("the long id's plot");
    assert!(long_file.len() < 200, "{long_file}");
    // four different section plots: no file serves two sections
    assert_eq!(
        files.iter().filter(|f| f.starts_with("section_")).count(),
        4
    );
    let a = std::fs::read(out.join("section_大河.png")).unwrap();
    let b = std::fs::read(out.join("section_小河.png")).unwrap();
    assert_ne!(a, b);

    let ap = dir.path().join("ap");
    let o = rivsim()
        .arg("apportion")
        .arg(&s)
        .arg("--out")
        .arg(&ap)
        .output()
        .unwrap();
    assert_exit_ok(&o, "apportion");
    for f in [
        "apportion_大河.png",
        "apportion_小河.svg",
        "apportion_a%2Fb.png",
    ] {
        assert!(ap.join(f).is_file(), "{f} missing");
    }
}

/// An id of 100,000 characters is refused by validation (exit 2) with a shortened message; before, it passed
/// and the run failed writing files.
#[test]
fn an_id_of_100000_characters_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let long = "长".repeat(100_000);
    let s = tutorial_variant(dir.path(), "s.toml", |t| {
        t.replace("id = \"S1\"", &format!("id = \"{long}\""))
    });
    let o = rivsim().arg("validate").arg(&s).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("at most 256 characters") && err.contains("100000 characters"),
        "{err}"
    );
    assert!(err.len() < 1000, "a short message: {} bytes", err.len());
}
