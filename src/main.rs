fn main() -> std::process::ExitCode {
    warrant::cli::main()
}
