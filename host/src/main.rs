//! The `smoke` binary: everything lives in the library; this maps its answer to an exit code.

fn main() {
    std::process::exit(smoke::cli::main());
}
