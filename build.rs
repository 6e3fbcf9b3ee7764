//! `sqlx::migrate!` embeds `migrations/` at compile time, and on stable Rust
//! cargo cannot see that dependency by itself: without this, an edited or
//! added migration would not be embedded until something else changed.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
