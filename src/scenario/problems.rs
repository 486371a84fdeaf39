//! Problems in a scenario file set, and their collection: every check pushes here and carries on.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a scenario file set: where, which item, which field, what value, and what would be valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Line number (1-based) where the parser knows it.
    pub line: Option<usize>,
    /// The item, e.g. `reach R3` or `[simulation]`.
    pub item: String,
    /// The field, e.g. `length_m`.
    pub field: String,
    /// The offending value as written (may be empty).
    pub value: String,
    /// What would be valid.
    pub expected: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.item)?;
        if !self.field.is_empty() {
            write!(f, ", field `{}`", self.field)?;
        }
        if !self.value.is_empty() {
            write!(f, " = {}", self.value)?;
        }
        write!(f, ": {}", self.expected)
    }
}

/// A scenario that cannot be used: every problem found.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// All problems, in file order where known.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{n} problem{} in the scenario:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// At most this many problems are kept; the rest are counted.
pub const MAX_PROBLEMS: usize = 500;

/// The problems found so far.
#[derive(Debug, Default)]
pub struct Problems {
    list: Vec<Problem>,
    more: usize,
}

impl Problems {
    /// Record a problem.
    pub fn push(
        &mut self,
        file: &Path,
        line: Option<usize>,
        item: impl Into<String>,
        field: impl Into<String>,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) {
        if self.list.len() >= MAX_PROBLEMS {
            self.more += 1;
            return;
        }
        self.list.push(Problem {
            file: file.to_path_buf(),
            line,
            item: item.into(),
            field: field.into(),
            value: value.into(),
            expected: expected.into(),
        });
    }

    /// Number of problems recorded (including those not kept).
    /// Append `other`'s problems after these, as if each had been pushed here in turn (the same cap).
    pub fn append(&mut self, other: Problems) {
        for p in other.list {
            if self.list.len() >= MAX_PROBLEMS {
                self.more += 1;
            } else {
                self.list.push(p);
            }
        }
        self.more += other.more;
    }

    pub fn count(&self) -> usize {
        self.list.len() + self.more
    }

    /// `true` when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The error holding every problem kept, with a last entry counting those left out.
    pub fn into_error(mut self, scenario: &Path) -> ScenarioError {
        // file order where known: files in the order they were first named, lines ascending, problems
        // without a line after those of their file (a stable sort keeps the order of discovery otherwise)
        let mut files: Vec<PathBuf> = Vec::new();
        for p in &self.list {
            if !files.contains(&p.file) {
                files.push(p.file.clone());
            }
        }
        self.list.sort_by_key(|p| {
            let rank = files
                .iter()
                .position(|f| *f == p.file)
                .unwrap_or(usize::MAX);
            (rank, p.line.unwrap_or(usize::MAX))
        });
        if self.more > 0 {
            self.list.push(Problem {
                file: scenario.to_path_buf(),
                line: None,
                item: "scenario".into(),
                field: String::new(),
                value: String::new(),
                expected: format!(
                    "{} more problem(s) not listed (only the first {MAX_PROBLEMS} are shown)",
                    self.more
                ),
            });
        }
        ScenarioError {
            problems: self.list,
        }
    }
}
