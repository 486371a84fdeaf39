//! Input that must be refused before anything runs, with exit code 2 and one clear message per problem.

mod support;

use support::{repo, rivsim};

/// Run `rivsim` with `args`; returns (exit code, stderr).
fn refused(args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let o = rivsim()
        .args(args)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `--without` with `--only` is a usage error (exit 2), from the command line and from the library; before, it
/// was a failure while running (exit 1).
#[test]
fn without_with_only_is_refused_with_exit_code_2() {
    let district = repo("scenarios/district/scenario.toml");
    let d = district.to_str().unwrap();
    for cmd in ["run", "apportion"] {
        let (code, err) = refused(&[cmd, d, "--without", "PJ1", "--only", "PJ2"]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(err.contains("--without") && err.contains("--only"), "{err}");
    }
    let p = rivsim::pipeline::prepare(&district).unwrap();
    let e = rivsim::pipeline::selection(&p, &["PJ1".into()], &["PJ2".into()]).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
}

/// `--threads 0` is refused (exit 2) by every command that takes it; before, it was accepted.
#[test]
fn zero_threads_are_refused() {
    let tutorial = repo("scenarios/tutorial/scenario.toml");
    let t = tutorial.to_str().unwrap();
    for cmd in ["run", "compare", "rank", "apportion"] {
        let (code, err) = refused(&[cmd, t, "--threads", "0"]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(err.contains("at least 1"), "{cmd}: {err}");
    }
}

/// `rivsim validate` on the tutorial with `from` replaced by `to`: (exit code, stderr).
fn validate_tutorial(from: &str, to: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("scenarios/tutorial/scenario.toml")).unwrap();
    assert!(text.contains(from), "{from}");
    let s = dir.path().join("s.toml");
    std::fs::write(&s, text.replacen(from, to, 1)).unwrap();
    let o = rivsim().arg("validate").arg(&s).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A flow of 1e308 m³/s is refused at validation (exit 2) naming the inflow, the field and the limit; before,
/// it was accepted and the run failed with a non-finite concentration. 10⁶ m³/s is the largest flow taken.
#[test]
fn a_flow_of_1e308_is_refused_at_validation() {
    let (code, err) = validate_tutorial("flow_m3s = 0.03", "flow_m3s = 1e308");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("s.toml:")
            && err.contains("field `flow_m3s`")
            && err.contains("a finite flow ≥ 0 and at most 10⁶ m³/s"),
        "{err}"
    );
    let (code, err) = validate_tutorial("flow_m3s = 0.03", "flow_m3s = 1e6");
    assert_eq!(code, Some(0), "{err}");
}

/// A reach of 1e308 m is blamed on its `length_m`, in a short message; before, the message blamed
/// `cell_length_m` and printed a 309-digit cell count.
#[test]
fn a_length_of_1e308_is_blamed_on_the_length() {
    let (code, err) = validate_tutorial("length_m = 5000.0", "length_m = 1e308");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("field `length_m` = 1e308") && err.contains("at most 10⁷ m"),
        "{err}"
    );
    assert!(!err.contains("cell_length_m"), "{err}");
    assert!(err.len() < 400, "a short message: {err}");
}

/// A short row in the district's high-tech inflow series is reported once, in the series file; before, the
/// project PJ-HT (a boundary improvement at that inflow's node) also reported "a node with an [[inflows]]
/// entry", a follow-on of the same problem.
#[test]
fn a_broken_inflow_is_not_reported_again_by_its_project() {
    let dir = tempfile::tempdir().unwrap();
    let src = repo("scenarios/district");
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        for e in walk(from) {
            let rel = e.strip_prefix(from).unwrap();
            let dst = to.join(rel);
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::copy(&e, &dst).unwrap();
        }
    };
    copy(&src, dir.path());
    let ts = dir.path().join("ts/hightech_flow.csv");
    let text = std::fs::read_to_string(&ts).unwrap();
    std::fs::write(
        &ts,
        text.replacen("2025-02-01T00:00:00,1.7", "2025-02-01T00:00:00", 1),
    )
    .unwrap();
    let o = rivsim()
        .arg("validate")
        .arg(dir.path().join("scenario.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("hightech_flow.csv:3"), "{err}");
    assert!(!err.contains("PJ-HT"), "{err}");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A run that would need more transport steps than the documented limit (10⁷) is refused before its first
/// step, with exit code 2, the count and the reach that sets the step; `--force` lifts the limit. From the
/// command line: a fixed step of 0.01 s over the tutorial's 10 days is 8.64·10⁷ steps. From the library: the
/// tutorial's own automatic steps under a limit of 100, and with the limit lifted.
#[test]
fn a_run_needing_too_many_steps_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("scenarios/tutorial/scenario.toml"))
        .unwrap()
        .replace("# time_step = \"5min\"", "time_step = \"0.01s\"");
    assert!(text.contains("time_step = \"0.01s\""));
    let s = dir.path().join("s.toml");
    std::fs::write(&s, text).unwrap();
    let clock = std::time::Instant::now();
    let (code, err) = refused(&["run", "--no-plots", s.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("about 8.640e7 transport steps, more than the limit of 1e7")
            && err.contains("reach R1"),
        "{err}"
    );
    assert!(err.len() < 600, "a short message: {err}");
    assert!(
        clock.elapsed().as_secs() < 60,
        "refused only after {:?}",
        clock.elapsed()
    );

    // the library: the same model under a lower limit, and with the limit lifted (as --force does)
    let mut p = rivsim::pipeline::prepare(&repo("scenarios/tutorial/scenario.toml")).unwrap();
    let hyd = rivsim::pipeline::hydraulics(&p).unwrap();
    p.model.sim.max_steps = 100.0;
    let e = rivsim::pipeline::simulate(&p, &hyd, false).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    p.model.sim.max_steps = f64::INFINITY;
    rivsim::pipeline::simulate(&p, &hyd, false).unwrap();
}

/// `--force` is accepted by every command that runs transport.
#[test]
fn force_is_accepted() {
    let tutorial = repo("scenarios/tutorial/scenario.toml");
    let t = tutorial.to_str().unwrap();
    let (code, err) = refused(&["run", "--no-plots", "--force", t]);
    assert_eq!(code, Some(0), "{err}");
}
