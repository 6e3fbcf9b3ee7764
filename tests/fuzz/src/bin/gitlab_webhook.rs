//! Fuzz target: `warrant::fuzzing::gitlab_webhook`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        warrant::fuzzing::gitlab_webhook(data);
    });
}
