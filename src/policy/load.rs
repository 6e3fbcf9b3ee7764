//! From text to a validated [`Policy`], in three stages that each report
//! every problem they find:
//!
//! 1. YAML syntax (`marked_yaml`, keeping line and column of every node);
//!    a syntax error stops here, as nothing after it can be read reliably.
//! 2. Shape: the tree against the JSON Schema ([`super::shape`]): unknown
//!    keys, missing keys, wrong types, values outside an enum.
//! 3. Meaning: ids, references, globs, logins, times ([`super::compile`]),
//!    which also builds the [`Policy`].
//!
//! All problems from stages 2 and 3 are reported together, in file order:
//! the keys at fault in stage 2 are cut out so that stage 3 can read the rest.

use std::sync::OnceLock;

use marked_yaml::{LoadError, LoaderOptions, Node};

use super::issue::{Issue, into_errors, suggestion};
use super::{Policy, PolicyDocument, PolicyErrors, compile, org, shape};

/// Parses and validates a policy. `file` is the name errors are reported under.
pub fn load(file: &str, text: &str) -> Result<Policy, PolicyErrors> {
    load_under(file, text, None)
}

/// Parses and validates a repository policy under its organisation's
/// policy, when there is one: the organisation's agents may only be given
/// a role, and the keys the file leaves out take the organisation's values
/// (see [`super::org`]).
pub fn load_under(file: &str, text: &str, org: Option<&Policy>) -> Result<Policy, PolicyErrors> {
    load_issues(text, org).map_err(|issues| into_errors(file, issues))
}

/// The JSON Schema of the policy file, generated from [`PolicyDocument`]
/// (draft 2020-12). Committed as `docs/warrant.schema.json` for editors.
pub fn schema() -> serde_json::Value {
    cached_schema().clone()
}

fn cached_schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = serde_json::to_value(schemars::schema_for!(PolicyDocument))
            .expect("a generated schema is JSON");
        drop_null(&mut schema);
        schema
    })
}

/// Removes `null` from the schema: schemars allows it for optional keys, but
/// an optional key is written by leaving it out, and `key: null` is the text
/// `null` to Warrant, as to serde, not an absent value.
fn drop_null(schema: &mut serde_json::Value) {
    use serde_json::Value;
    match schema {
        Value::Object(map) => {
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    map.insert("type".into(), only);
                }
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

fn load_issues(text: &str, org: Option<&Policy>) -> Result<Policy, Vec<Issue>> {
    // Some Windows editors start a UTF-8 file with a byte order mark, which
    // the YAML parser would read as part of the first key; editors do not
    // count it as a column.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut node = parse(text).map_err(|issue| vec![issue])?;
    if node.as_mapping().is_some_and(|m| m.is_empty()) {
        return Err(vec![Issue::at_start(
            "the policy file is empty: it needs at least `version: 1`",
        )]);
    }
    let (under, mut issues) = match org {
        Some(org) => {
            let (under, issues) = org::detach(&mut node, org);
            (Some(under), issues)
        }
        None => (None, Vec::new()),
    };
    let shape = shape::check(&node, cached_schema());
    issues.extend(shape.issues.iter().cloned());
    let Some(cut) = shape.repair(&mut node) else {
        return Err(issues);
    };
    let document: PolicyDocument = match marked_yaml::from_node(&node) {
        Ok(document) => document,
        Err(error) => {
            // The shape check reports everything serde refuses, and more
            // precisely; serde's own error is the fallback.
            if issues.is_empty() {
                issues.push(from_node_issue(error.into_inner()));
            }
            return Err(issues);
        }
    };
    let compiled = compile::compile(&document, &cut).and_then(|policy| match under {
        Some(under) => under.complete(policy),
        None => Ok(policy),
    });
    match compiled {
        Ok(policy) if issues.is_empty() => Ok(policy),
        Ok(_) => Err(issues),
        Err(more) => {
            issues.extend(more);
            Err(issues)
        }
    }
}

fn parse(text: &str) -> Result<Node, Issue> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        // Quoted values stay text: `"true"` is not a boolean, `"2"` not a
        // number, as YAML means them.
        .prevent_coercion(true);
    let node = marked_yaml::parse_yaml_with_options(0, text, options).map_err(load_error_issue)?;
    if let Some(line) = second_document(text) {
        return Err(Issue {
            line,
            column: 1,
            message: "a second YAML document starts here: a policy file holds exactly one \
                      (remove the `---` line)"
                .into(),
        });
    }
    Ok(node)
}

const NO_ANCHORS: &str = "YAML anchors (`&name`) and aliases (`*name`) are not supported in a \
                          policy: write each value out in full, so that every rule reads where \
                          it applies";

fn load_error_issue(error: LoadError) -> Issue {
    match error {
        LoadError::TopLevelMustBeMapping(m) => Issue::at_marker(
            Some(&m),
            "the policy must be a mapping of keys (`version: 1`, `agents:`, `roles:` ...), \
             not a list or a single value",
        ),
        LoadError::TopLevelMustBeSequence(m) => {
            Issue::at_marker(Some(&m), "unexpected YAML document shape")
        }
        LoadError::UnexpectedAnchor(m) => Issue::at_marker(Some(&m), NO_ANCHORS),
        LoadError::MappingKeyMustBeScalar(m) => Issue::at_marker(
            Some(&m),
            "a key must be a plain word, not a list or a mapping",
        ),
        LoadError::UnexpectedTag(m) => Issue::at_marker(
            Some(&m),
            "YAML tags (`!!str`, `!name`) are not supported in a policy: write the value \
             plainly, in quotes if it must stay text",
        ),
        LoadError::ScanError(m, e) if e.info().contains("unknown anchor") => {
            Issue::at_marker(Some(&m), NO_ANCHORS)
        }
        LoadError::ScanError(m, e) => {
            Issue::at_marker(Some(&m), format!("invalid YAML: {}", e.info()))
        }
        LoadError::DuplicateKey(inner) => {
            let first = inner.prev_key.span().start().map_or(1, |m| m.line());
            Issue::at(
                inner.key.span(),
                format!(
                    "`{}` is written twice in the same mapping (first on line {first}): \
                     each key, agent id and role id may appear once",
                    inner.key.as_str()
                ),
            )
        }
    }
}

/// The line of a second YAML document (`---` after content, or content after
/// `...`), which the YAML loader would silently ignore.
fn second_document(text: &str) -> Option<usize> {
    let (mut started, mut ended) = (false, false);
    for (index, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        };
        let content = !line.trim().is_empty() && !line.trim_start().starts_with('#');
        if marker("---") {
            if started {
                return Some(index + 1);
            }
            started = true;
        } else if marker("...") {
            ended = true;
        } else if content && ended {
            return Some(index + 1);
        } else if content && !line.starts_with('%') {
            started = true;
        }
    }
    None
}

/// Serde's error, for what the shape check did not catch.
pub(super) fn from_node_issue(error: marked_yaml::Error) -> Issue {
    let marker = error.start_mark();
    let message = match &error {
        marked_yaml::Error::UnknownFieldError(field, expected, _) => format!(
            "unknown key `{field}`{}",
            suggestion(field, expected.iter().copied())
        ),
        other => other.to_string(),
    };
    Issue::at_marker(marker.as_ref(), message)
}
