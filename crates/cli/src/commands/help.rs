//! `help [command]` and `<command> --help`.

use super::table::{COMMANDS, CommandSpec, find_for_help};
use super::{Ran, Shell};

/// Every listed command's usage block, in table order.
pub fn all_usages(shell: &mut Shell<'_>) {
    for c in COMMANDS.iter().filter(|c| c.listed) {
        shell.out(c.usage);
    }
}

/// `help`: the overview, or one command's usage and help text.
pub fn run(shell: &mut Shell<'_>, _spec: &CommandSpec, args: &[String]) -> Ran {
    if args.is_empty() {
        shell.out("\nCommands:\n");
        all_usages(shell);
        return Ok(0);
    }
    Ok(match find_for_help(args) {
        Some(spec) => command_help(shell, spec),
        None => {
            shell.out(&format!(
                "Help: command '{}' unknown. Type 'help' without arguments to get a list of supported commands.\n",
                args.join(" ")
            ));
            2
        }
    })
}

/// One command's usage block and help text (`help <command>`, `<command> --help`).
pub fn command_help(shell: &mut Shell<'_>, spec: &CommandSpec) -> i32 {
    shell.out("Usage:\n");
    shell.out(spec.usage);
    match spec.help {
        Some(h) => {
            shell.out("\nHelp:\n");
            shell.out(h);
            0
        }
        None => {
            shell.out(&format!("No help available for '{}'\n", spec.name));
            1
        }
    }
}
