//! `ods-enforcer`: see kasp_cli::client.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sink = kasp_cli::output::StdSink::new();
    let code = kasp_cli::client::run(&args, &mut sink);
    drop(sink);
    std::process::exit(code);
}
