//! The `rivsim` command line: a thin layer over `rivsim::pipeline`.

use clap::{Parser, Subcommand};
use rivsim::pipeline::{self, Error};
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  rivsim validate scenarios/district/scenario.toml
  rivsim hydraulics scenarios/district/scenario.toml --out out/district
  rivsim run scenarios/tutorial/scenario.toml --out out/tutorial
  rivsim generate --reaches 10000 --loops 50 --seed 7 --out out/gen10k

Exit codes: 0 success, 1 failure while running, 2 invalid input.";

/// Pollution in slow, looped plain river networks: GB 3838 classes, zone compliance, projects.
#[derive(Parser)]
#[command(name = "rivsim", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a scenario file set without running it; report every problem at once.
    Validate {
        /// The scenario TOML file.
        scenario: PathBuf,
    },
    /// Steady hydraulics of every flow period → DIR/reaches.csv.
    Hydraulics {
        /// The scenario TOML file.
        scenario: PathBuf,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Validate { scenario } => {
            let p = pipeline::prepare(&scenario)?;
            println!(
                "{}: valid — {} nodes, {} reaches, {} cells, {} outfalls, {} pollutants, {} sections, {} zones",
                scenario.display(),
                p.model.nodes.len(),
                p.model.reaches.len(),
                p.net.n_cells,
                p.model.outfalls.len(),
                p.model.pollutants.len(),
                p.model.sections.len(),
                p.model.zones.len()
            );
            Ok(())
        }
        Command::Hydraulics { scenario, out } => {
            let p = pipeline::prepare(&scenario)?;
            let (path, hyd) = pipeline::write_hydraulics(&p, &out)?;
            let worst = hyd
                .periods
                .iter()
                .map(|f| f.continuity_relative)
                .fold(0.0, f64::max);
            println!(
                "{} flow period(s), {} reaches; worst relative continuity residual {:e}; wrote {}",
                hyd.periods.len(),
                p.model.reaches.len(),
                worst,
                path.display()
            );
            for w in &hyd.warnings {
                println!("warning: {w}");
            }
            Ok(())
        }
    }
}
