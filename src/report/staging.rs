//! A command's result files as one set: written into a staging folder, then moved into the output folder
//! together, with the set's manifest last.
//!
//! Sequence (`rivsim run --out DIR`, and every command that writes a folder of results):
//! 1. [`Staging::begin`], before any computation: create `DIR` if missing, finish or remove what runs that
//!    died left in it, and create the staging folder `DIR/.rivsim-stage-<pid>-<n>` holding an exclusively
//!    locked `.lock` file for as long as the run lives. A `DIR` that cannot be written fails here, before the
//!    simulation.
//! 2. The command writes every file into [`Staging::path`] (each through a temporary name and a rename, see
//!    `report::write_atomic_with`), and registers it ([`Staging::add`]).
//! 3. [`Staging::commit`], under an exclusive lock on `DIR` itself (on Unix; elsewhere on `DIR/.rivsim.lock`),
//!    so that two runs into one folder commit one after the other: write the journal `.commit` (what moves, what the set replaces) into the staging
//!    folder; move the previous manifest (e.g. `summary.json`) out of `DIR`, so that no manifest ever lists a
//!    half-moved set; rename each staged file into `DIR`, the new manifest last; remove the files the
//!    previous manifest listed that the new set does not hold; remove the staging folder.
//!
//! What a reader sees: until the commit, `DIR` holds the previous set untouched. The commit is a few renames
//! (milliseconds); if the process dies inside it, `DIR` has no manifest (the set is visibly incomplete) and
//! the next command writing to `DIR` finds the journal and completes the move ("rolls forward"). A staging
//! folder without a journal is a run that died before its results were complete: the next command removes
//! it. A staging folder is known to be dead when its `.lock` can be locked (the operating system releases a
//! dead process's locks), so a live run's folder is never touched, and a reused process id misleads nothing.
//!
//! The manifest is the command's JSON (`summary.json` for `run`); it lists the set's files under `"files"`,
//! which is how a later run knows which files of `DIR` were rivsim's: files it never wrote are never removed.

use super::ReportError;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Prefix of staging folders inside the output folder.
const STAGE_PREFIX: &str = ".rivsim-stage-";
/// The journal of a commit in progress, inside the staging folder.
const JOURNAL: &str = ".commit";
/// The lock a live run holds inside its staging folder.
const STAGE_LOCK: &str = ".lock";
/// The lock serialising commits into one output folder where the folder itself cannot be locked.
const DIR_LOCK: &str = ".rivsim.lock";

/// Staging folders made by this process so far (two commands in one process get different folders).
static STAGES: AtomicUsize = AtomicUsize::new(0);

/// A staging folder for one set of results (see the module docs). Dropped without a commit, it removes
/// itself.
#[derive(Debug)]
pub struct Staging {
    /// The output folder.
    dir: PathBuf,
    /// The staging folder inside it.
    stage: PathBuf,
    /// Held (locked) for the life of the run; its lock tells later runs this one is alive.
    lock: Option<File>,
    /// File names written into the staging folder, in order.
    files: Vec<String>,
    /// Set once the files have moved.
    committed: bool,
}

/// What a commit does, written to the journal before the first rename so a later run can finish it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Journal {
    /// The manifest's name (moved last).
    manifest: String,
    /// The new set's files, the manifest among them.
    files: Vec<String>,
    /// The previous set's files (from its manifest), removed where the new set does not hold them.
    previous: Vec<String>,
}

impl Staging {
    /// Create `dir` if missing, complete or remove what dead runs left in it, and open a fresh staging folder.
    pub fn begin(dir: &Path) -> Result<Staging, ReportError> {
        let at = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReportError { path, source }
        };
        fs::create_dir_all(dir).map_err(at(dir))?;
        // under the folder's lock: one recovery or commit at a time, and no staging folder seen before its
        // own lock is held
        let _dir_lock = lock_dir(dir).map_err(at(&dir.join(DIR_LOCK)))?;
        recover(dir).map_err(at(dir))?;
        let n = STAGES.fetch_add(1, Ordering::Relaxed);
        let stage = dir.join(format!("{STAGE_PREFIX}{}-{n}", std::process::id()));
        // a folder of this name is a dead run's (the live process would be this one)
        let _ = fs::remove_dir_all(&stage);
        fs::create_dir(&stage).map_err(at(dir))?;
        let lock_path = stage.join(STAGE_LOCK);
        let lock = File::create(&lock_path).map_err(at(&lock_path))?;
        hold(&lock).map_err(at(&lock_path))?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            stage,
            lock: Some(lock),
            files: Vec::new(),
            committed: false,
        })
    }

    /// The staging folder: write the set's files here.
    pub fn path(&self) -> &Path {
        &self.stage
    }

    /// Register a file written into the staging folder (by its name); registering twice counts once.
    pub fn add(&mut self, path: &Path) {
        if let Some(name) = path.file_name().and_then(|n| n.to_str())
            && !self.files.iter().any(|f| f == name)
        {
            self.files.push(name.to_string());
        }
    }

    /// The names registered so far, in order.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Move the set into the output folder (see the module docs); `manifest` is the file moved last and
    /// must be registered. Returns the final paths, in registration order.
    pub fn commit(mut self, manifest: &str) -> Result<Vec<PathBuf>, ReportError> {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReportError { path, source }
        };
        let _dir_lock = lock_dir(&self.dir).map_err(err(&self.dir.join(DIR_LOCK)))?;
        let journal = Journal {
            manifest: manifest.to_string(),
            files: self.files.clone(),
            previous: listed_files(&self.dir.join(manifest)),
        };
        // the journal appears whole or not at all
        let journal_path = self.stage.join(JOURNAL);
        let partial = self.stage.join(format!("{JOURNAL}.partial"));
        write_synced(&partial, &serde_json::to_vec(&journal).unwrap_or_default())
            .and_then(|()| fs::rename(&partial, &journal_path))
            .map_err(err(&journal_path))?;
        roll_forward(&self.dir, &self.stage, &journal).map_err(err(&self.dir))?;
        self.committed = true;
        Ok(self.files.iter().map(|f| self.dir.join(f)).collect())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            drop(self.lock.take());
            let _ = fs::remove_dir_all(&self.stage);
        }
    }
}

/// The output folder's commit lock, held until the file is dropped.
fn lock_dir(dir: &Path) -> io::Result<File> {
    // Unix locks the folder itself (no file left behind); elsewhere a folder cannot be opened as a file
    #[cfg(unix)]
    let f = File::open(dir)?;
    #[cfg(not(unix))]
    let f = File::create(dir.join(DIR_LOCK))?;
    hold(&f)?;
    Ok(f)
}

/// Lock `f` exclusively, waiting for it; where the file system has no locks, go on without (runs into one
/// folder at once are then not kept apart, and dead runs' staging folders stay: they cannot be told from
/// live ones).
fn hold(f: &File) -> io::Result<()> {
    match f.lock() {
        Err(e) if e.kind() == io::ErrorKind::Unsupported => Ok(()),
        r => r,
    }
}

/// Write `bytes` to `path` and flush them to the disk.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The `"files"` a manifest lists: plain names only (no folder part, no `..`), so that nothing outside the
/// output folder is ever touched; an absent or unreadable manifest lists none.
fn listed_files(manifest: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(manifest) else {
        return Vec::new();
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    v.get("files")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .filter(|f| is_plain_name(f))
        .map(String::from)
        .collect()
}

/// A file name without folder parts, not `.` or `..`, not one of the staging machinery's own names.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.starts_with(STAGE_PREFIX)
        && name != DIR_LOCK
}

/// Complete a commit from its journal: the previous manifest out first, then the staged files (manifest
/// last), then the previous set's files the new set does not hold, then the staging folder. Each step can be
/// repeated after an interruption (a file already moved is no longer in the staging folder).
fn roll_forward(dir: &Path, stage: &Path, j: &Journal) -> io::Result<()> {
    let manifest_staged = stage.join(&j.manifest);
    if manifest_staged.exists() {
        match fs::remove_file(dir.join(&j.manifest)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    for name in j.files.iter().filter(|f| **f != j.manifest) {
        let from = stage.join(name);
        if from.exists() {
            fs::rename(&from, dir.join(name))?;
        }
    }
    if manifest_staged.exists() {
        fs::rename(&manifest_staged, dir.join(&j.manifest))?;
    }
    for old in &j.previous {
        if !j.files.contains(old) && is_plain_name(old) {
            match fs::remove_file(dir.join(old)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    fs::remove_dir_all(stage)
}

/// Finish or remove the staging folders of dead runs in `dir` (those whose `.lock` can be locked), and remove
/// the temporary files that earlier versions wrote beside the results (`.NAME.PID.tmp`, `.NAME.partial.png`).
fn recover(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(STAGE_PREFIX) && path.is_dir() {
            // a live run holds its lock: leave its folder alone
            let alive = match File::open(path.join(STAGE_LOCK)) {
                Ok(f) => f.try_lock().is_err(),
                Err(_) => false,
            };
            if alive {
                continue;
            }
            let journal = fs::read(path.join(JOURNAL))
                .ok()
                .and_then(|b| serde_json::from_slice::<Journal>(&b).ok());
            match journal {
                Some(j) => roll_forward(dir, &path, &j)?,
                None => fs::remove_dir_all(&path)?,
            }
        } else if is_dead_temporary(&name) && path.is_file() {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// A temporary file name of `report::temp_sibling` (`.NAME.PID-N.EXT`) or of earlier versions
/// (`.NAME.PID.tmp`, `.NAME.partial.png`) whose process is not running. Liveness is read from `/proc`; where
/// there is none, and for names without a process id, the file counts as dead (results are staged now, so
/// no live run writes temporary files beside them).
fn is_dead_temporary(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some(stem) = rest
        .strip_suffix(".tmp")
        .or_else(|| rest.strip_suffix(".partial.png"))
        .or_else(|| rest.strip_suffix(".partial.svg"))
    else {
        return false;
    };
    // the last dot-separated part: "PID-N", "PID" or (earlier versions) part of the file's own name
    let tag = stem.rsplit('.').next().unwrap_or("");
    let pid = tag.split('-').next().and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if Path::new("/proc/self").exists() => {
            !Path::new("/proc").join(pid.to_string()).exists()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit interrupted after it moved the previous manifest out and one file in: the next `begin`
    /// finishes it from the journal (the rest of the new set in, the new manifest last, the previous set's
    /// stale file out, the staging folder gone).
    #[test]
    fn an_interrupted_commit_is_rolled_forward() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let stage = d.join(format!("{STAGE_PREFIX}1-0"));
        fs::create_dir(&stage).unwrap();
        fs::write(stage.join(STAGE_LOCK), "").unwrap();
        // the previous set: a.csv, b.csv, old.png and its manifest (already moved out by the commit)
        fs::write(d.join("old.png"), "old").unwrap();
        fs::write(d.join("b.csv"), "old b").unwrap();
        // the commit had moved a.csv in; b.csv and the manifest are still staged
        fs::write(d.join("a.csv"), "new a").unwrap();
        fs::write(stage.join("b.csv"), "new b").unwrap();
        let manifest = r#"{"files": ["a.csv", "b.csv", "summary.json"]}"#;
        fs::write(stage.join("summary.json"), manifest).unwrap();
        let journal = Journal {
            manifest: "summary.json".into(),
            files: vec!["a.csv".into(), "b.csv".into(), "summary.json".into()],
            previous: vec![
                "a.csv".into(),
                "b.csv".into(),
                "old.png".into(),
                "summary.json".into(),
            ],
        };
        fs::write(stage.join(JOURNAL), serde_json::to_vec(&journal).unwrap()).unwrap();

        let s = Staging::begin(d).unwrap();
        assert_eq!(fs::read_to_string(d.join("a.csv")).unwrap(), "new a");
        assert_eq!(fs::read_to_string(d.join("b.csv")).unwrap(), "new b");
        assert_eq!(
            fs::read_to_string(d.join("summary.json")).unwrap(),
            manifest
        );
        assert!(!d.join("old.png").exists());
        assert!(!stage.exists());
        drop(s);
    }

    /// A live run's staging folder (its lock held) is left alone by another run's `begin`; dropped without
    /// a commit, a staging folder removes itself.
    #[test]
    fn a_live_staging_folder_is_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        let a = Staging::begin(dir.path()).unwrap();
        fs::write(a.path().join("x.csv"), "x").unwrap();
        let b = Staging::begin(dir.path()).unwrap();
        assert!(a.path().join("x.csv").exists());
        let a_path = a.path().to_path_buf();
        drop(a);
        assert!(!a_path.exists());
        drop(b);
    }

    #[test]
    fn manifests_name_only_plain_files() {
        for bad in [
            "../x",
            "/etc/passwd",
            "a/b",
            "..",
            ".",
            "",
            ".rivsim-stage-1-0",
            DIR_LOCK,
        ] {
            assert!(!is_plain_name(bad), "{bad}");
        }
        assert!(is_plain_name("section_大河.png"));
    }
}
