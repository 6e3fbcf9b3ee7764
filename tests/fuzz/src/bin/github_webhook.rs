//! Fuzz target: `warrant::fuzzing::github_webhook`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        warrant::fuzzing::github_webhook(data);
    });
}
