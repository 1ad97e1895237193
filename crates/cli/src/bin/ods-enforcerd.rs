//! `ods-enforcerd`: see kasp_cli::daemon.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(kasp_cli::daemon::main(&args));
}
