//! GitHub: webhook payloads in, the REST/GraphQL API out.
