//! Fuzz target: `warrant::fuzzing::policy`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        warrant::fuzzing::policy(data);
    });
}
