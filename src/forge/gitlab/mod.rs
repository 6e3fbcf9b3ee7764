//! Speaking to GitLab. Payloads are turned into Warrant's own types here;
//! past this module nothing sees GitLab's JSON shapes.

pub mod webhook;
