//! `poq-operator`: poq operator daemon: generates outputs for tasks it is selected for and commits to them.
//!
//! Only `--help` and `--version` exist so far; the commands land with the issues that build them.

use clap::Parser;

/// poq operator daemon: generates outputs for tasks it is selected for and commits to them.
#[derive(Debug, Parser)]
#[command(name = "poq-operator", version, about)]
struct Cli {}

fn main() {
    Cli::parse();
    eprintln!("poq-operator: no commands yet; see --help");
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
