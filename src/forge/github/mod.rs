//! GitHub: webhook payloads in, the REST/GraphQL API out.

pub mod webhook;
