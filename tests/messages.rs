//! Messages an office meets first: a CSV saved in the Chinese Windows encoding, a path inside a CSV that does not
//! exist, an unknown zone id, a target written as a number, and counts printed by `rivsim validate`.

mod support;

use support::{one_reach, rivsim};

/// `rivsim validate` on `text` written as `scenario.toml` in a fresh folder with `files` beside it; returns the
/// exit code, stdout and stderr.
fn validate(text: &str, files: &[(&str, &[u8])]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let f = dir.path().join("scenario.toml");
    std::fs::write(&f, text).unwrap();
    let o = rivsim().arg("validate").arg(&f).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_gbk_csv_is_named_as_an_encoding_problem_with_the_fix() {
    // "中大河" in GBK: D6 D0 B4 F3 BA D3 — not UTF-8 (0xD6 0xD0 is no UTF-8 sequence)
    let mut csv = b"id,kind,x,y\nA,boundary,0,0\nB,outlet,1000,0\n".to_vec();
    csv.extend_from_slice(b"\xD6\xD0\xB4\xF3\xBA\xD3,junction,500,0\n");
    let text = concat!("title = \"gbk\"", one_reach!())
        .replace("[[nodes]]\nid = \"A\"\nkind = \"boundary\"\n\n[[nodes]]\nid = \"B\"\nkind = \"outlet\"\nlevel_m = 1.0\n", "")
        .replace("[defaults]", "[network]\nnodes_csv = \"network/nodes.csv\"\n\n[defaults]");
    let (code, _, err) = validate(&text, &[("network/nodes.csv", &csv)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nodes.csv"), "{err}");
    assert!(err.contains("GBK"), "{err}");
    assert!(err.contains("CSV UTF-8"), "{err}");
    assert!(err.contains("iconv -f GB18030 -t UTF-8"), "{err}");
}

#[test]
fn a_missing_series_named_in_a_csv_gives_the_csv_line_and_the_resolved_path() {
    let nodes = b"id,kind,level_series\nA,boundary,\nB,outlet,ts/tide.csv\n";
    let text = concat!("title = \"missing\"", one_reach!())
        .replace("[[nodes]]\nid = \"A\"\nkind = \"boundary\"\n\n[[nodes]]\nid = \"B\"\nkind = \"outlet\"\nlevel_m = 1.0\n", "")
        .replace("[defaults]", "[network]\nnodes_csv = \"network/nodes.csv\"\n\n[defaults]");
    let (code, _, err) = validate(&text, &[("network/nodes.csv", nodes)]);
    assert_eq!(code, Some(2), "{err}");
    // the CSV file and its line 3 (the header is line 1), the field, and where the path pointed
    assert!(
        err.contains("nodes.csv:3") || err.contains("nodes.csv, line 3"),
        "{err}"
    );
    assert!(err.contains("level_series"), "{err}");
    assert!(err.contains("ts/tide.csv"), "{err}");
    assert!(err.contains("relative to the folder"), "{err}");
}

#[test]
fn an_unknown_zone_lists_the_defined_zones_once() {
    let mut text = concat!("title = \"zones\"", one_reach!()).to_string();
    text.push_str(
        "\n[[zones]]\nid = \"Z-A\"\ntarget = \"III\"\n\n[[zones]]\nid = \"Z-B\"\ntarget = \"IV\"\n",
    );
    // two more reaches naming the same unknown zone
    text = text.replace("length_m = 1000.0\n", "length_m = 1000.0\nzone = \"Z-C\"\n");
    text.push_str(
        "\n[[reaches]]\nid = \"R2\"\nfrom = \"A\"\nto = \"B\"\nlength_m = 500.0\nzone = \"Z-C\"\n\
         \n[[reaches]]\nid = \"R3\"\nfrom = \"A\"\nto = \"B\"\nlength_m = 500.0\nzone = \"Z-C\"\n",
    );
    let (code, _, err) = validate(&text, &[]);
    assert_eq!(code, Some(2), "{err}");
    // each of the three reaches is reported
    assert!(err.matches("= Z-C").count() >= 3, "{err}");
    assert_eq!(
        err.matches("\"Z-A\", \"Z-B\"").count(),
        1,
        "listed once: {err}"
    );
}

#[test]
fn a_target_written_as_a_number_names_the_valid_values() {
    let mut text = concat!("title = \"target\"", one_reach!()).to_string();
    text.push_str("\n[[zones]]\nid = \"Z\"\ntarget = 3\n");
    let (code, _, err) = validate(&text, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("target"), "{err}");
    assert!(
        err.contains("\"I\", \"II\", \"III\", \"IV\", \"V\""),
        "{err}"
    );
    assert!(err.contains("target = \"III\""), "{err}");
}

#[test]
fn validate_counts_are_grammatical() {
    let (code, out, err) = validate(concat!("title = \"one\"", one_reach!()), &[]);
    assert_eq!(code, Some(0), "{err}");
    // one reach, two nodes, no zone
    assert!(out.contains("2 nodes, 1 reach,"), "{out}");
    assert!(out.contains("0 zones"), "{out}");
    assert!(!out.contains("1 reaches"), "{out}");
}
