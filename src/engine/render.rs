//! Rendering decisions (stub).
