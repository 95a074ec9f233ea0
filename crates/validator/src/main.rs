//! `poq-validator`: poq validator daemon: scores revealed outputs and commits to the scores.
//!
//! Only `--help` and `--version` exist so far; the commands land with the issues that build them.

use clap::Parser;

/// poq validator daemon: scores revealed outputs and commits to the scores.
#[derive(Debug, Parser)]
#[command(name = "poq-validator", version, about)]
struct Cli {}

fn main() {
    Cli::parse();
    eprintln!("poq-validator: no commands yet; see --help");
    std::process::exit(2);
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
