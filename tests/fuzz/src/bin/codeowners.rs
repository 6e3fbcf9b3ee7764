//! Fuzz target: `warrant::fuzzing::codeowners`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        warrant::fuzzing::codeowners(data);
    });
}
