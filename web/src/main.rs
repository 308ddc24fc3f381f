use std::process::ExitCode;

/// Many threads allocate and free small buffers (statements, rows, HTTP bodies, plugin
/// calls); mimalloc's per-thread heaps do that with far less work than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    chorus::cli::main()
}
