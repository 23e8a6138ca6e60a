//! The `everfit` command; everything it does lives in `everfit::cli`.

fn main() {
    std::process::exit(everfit::cli::main());
}
