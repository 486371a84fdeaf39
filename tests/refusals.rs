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
