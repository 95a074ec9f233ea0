//! `poq`: poq command line: pay for a generation, follow it, manage a node.
//!
//! Only `--help` and `--version` exist so far; the commands land with the issues that build them.

use clap::Parser;

/// poq command line: pay for a generation, follow it, manage a node.
#[derive(Debug, Parser)]
#[command(name = "poq", version, about)]
struct Cli {}

fn main() {
    Cli::parse();
    eprintln!("poq: no commands yet; see --help");
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
