//! The `smoke` binary: everything lives in the library; this maps its answer to an exit code.

// A run allocates many small, short-lived strings per request; mimalloc serves them faster than
// the system allocator (see bench/throughput.py).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(smoke::cli::main());
}
