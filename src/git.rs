//! Reading a local git range for `warrant check` (stub: being written).
