//! The HTTP server: routes, extractors and pages. It speaks HTTP only.
