//! End-to-end tests of the `rivsim` binary: exit codes, the files of DESIGN.md §7, and that a failed run leaves
//! earlier results untouched.

mod support;

use std::path::Path;
use std::process::Output;
use support::{assert_exit_ok, repo, rivsim};

/// `rivsim run --no-plots` of the bundled tutorial into `out_dir`.
fn run_tutorial(out_dir: &Path) -> Output {
    rivsim()
        .args(["run", "--no-plots"])
        .arg(repo("scenarios/tutorial/scenario.toml"))
        .arg("--out")
        .arg(out_dir)
        .output()
        .unwrap()
}

#[test]
fn validate_bundled_scenarios_exit_zero() {
    for s in [
        "scenarios/tutorial/scenario.toml",
        "scenarios/district/scenario.toml",
    ] {
        let out = rivsim().arg("validate").arg(repo(s)).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{s}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn invalid_scenario_exits_two_and_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    // the smallest valid scenario with a negative reach length and a reach Manning n above 0.2
    let text = concat!("title = \"bad\"", support::one_reach!())
        .replace("length_m = 1000.0", "length_m = -5.0\nmanning_n = 0.5");
    std::fs::write(&f, text).unwrap();
    let out = rivsim().arg("validate").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // both problems of reach R1 are reported at once, each naming the field
    assert!(err.contains("length_m"), "{err}");
    assert!(err.contains("manning_n"), "{err}");
    assert!(err.contains("R1"), "{err}");
}

#[test]
fn run_tutorial_writes_every_output_and_closes_mass_balance() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = run_tutorial(&out_dir);
    assert_exit_ok(&out, "rivsim run");
    for f in [
        "summary.json",
        "sections.csv",
        "reaches.csv",
        "zones.csv",
        "monthly.csv",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap())
            .unwrap();
    for key in [
        "rivsim_version",
        "title",
        "start",
        "end",
        "mass_balance",
        "sections",
        "zones",
        "classes_km",
        "warnings",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    // the ledger closes to round-off: in − out − decayed − Δstorage over a 10-day run of a few thousand steps,
    // each adding a relative rounding error of ~1e-16, stays far below 1e-10
    for (p, mb) in summary["mass_balance"].as_object().unwrap() {
        let e = mb["relative_error"].as_f64().unwrap();
        assert!(e < 1e-10, "{p}: relative mass-balance error {e}");
    }
    // km per class adds up to the network length (one 5 km reach)
    let km: f64 = summary["classes_km"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((km - 5.0).abs() < 1e-9, "classes_km sums to {km}");
    // sections.csv: a header and one row per section per output time (10 days hourly, start included: 241)
    let csv = std::fs::read_to_string(out_dir.join("sections.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "time,section,COD,NH3N,TP");
    assert_eq!(lines.count(), 241);
    let reaches = std::fs::read_to_string(out_dir.join("reaches.csv")).unwrap();
    assert!(
        reaches.starts_with("time,reach,flow_m3s,velocity_ms,depth_m,travel_time_s,COD,NH3N,TP\n")
    );
}

#[test]
fn failed_run_leaves_earlier_results_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let ok = run_tutorial(&out_dir);
    assert_exit_ok(&ok, "rivsim run");
    let before = std::fs::read(out_dir.join("summary.json")).unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "title = \"truncated\"\n[simulation\nstart = ").unwrap();
    let failed = rivsim()
        .arg("run")
        .arg(&bad)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    assert_eq!(std::fs::read(out_dir.join("summary.json")).unwrap(), before);
    // no temporary files left behind
    for e in std::fs::read_dir(&out_dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.ends_with(".tmp"), "left {name}");
    }
}

#[test]
fn hydraulics_command_writes_signed_reach_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = rivsim()
        .arg("hydraulics")
        .arg(repo("scenarios/district/scenario.toml"))
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_exit_ok(&out, "rivsim hydraulics");
    let csv = std::fs::read_to_string(dir.path().join("reaches.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "time,reach,flow_m3s,velocity_ms,depth_m,travel_time_s"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    assert!(!rows.is_empty());
    for r in &rows {
        let q: f64 = r[2].parse().unwrap();
        let v: f64 = r[3].parse().unwrap();
        let y: f64 = r[4].parse().unwrap();
        // velocity carries the flow's sign; depth is positive
        assert!(q == 0.0 || v == 0.0 || q.signum() == v.signum(), "{r:?}");
        assert!(y > 0.0, "{r:?}");
    }
}

#[test]
fn reaches_csv_rows_carry_the_results_exactly_whatever_the_batching() {
    // the tutorial run, formatted one output time per batch and all in one batch: the same bytes, and every
    // concentration parses back to the simulated reach mean bit for bit (round-trip `{}` formatting)
    let p = rivsim::pipeline::prepare(&repo("scenarios/tutorial/scenario.toml")).unwrap();
    let hyd = rivsim::pipeline::hydraulics(&p).unwrap();
    let res = rivsim::pipeline::simulate(&p, &hyd, false).unwrap();
    let write = |rows: usize| {
        let mut b = Vec::new();
        rivsim::report::summary::write_reaches_csv_batched(
            &mut b, &p.model, &p.net, &hyd, &res, rows,
        )
        .unwrap();
        String::from_utf8(b).unwrap()
    };
    let one_by_one = write(1);
    assert_eq!(one_by_one, write(usize::MAX));
    let np = p.model.pollutants.len();
    let nr = p.model.reaches.len();
    let rows: Vec<&str> = one_by_one.lines().skip(1).collect();
    assert_eq!(rows.len(), res.output_times_s.len() * nr);
    for (i, row) in rows.iter().enumerate() {
        let (k, r) = (i / nr, i % nr);
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!(cols[1], p.model.reaches[r].id);
        for q in 0..np {
            let v: f64 = cols[6 + q].parse().unwrap();
            assert_eq!(
                v.to_bits(),
                res.reach_conc[k][r * np + q].to_bits(),
                "row {i}"
            );
        }
    }
}
