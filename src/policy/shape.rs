//! Checks the YAML tree against the policy's own JSON Schema, collecting every
//! problem rather than stopping at the first one as deserialization does.
//!
//! The schema is the one published for editors (`docs/warrant.schema.json`),
//! generated from [`super::PolicyDocument`], so an editor and Warrant agree on
//! what a well-formed file is. Only what that schema uses is understood:
//! `$ref`, `type`, `properties`, `required`, `additionalProperties`, `items`,
//! `const`, `oneOf` of constants (enums), `minimum` and `maximum`.
//!
//! Scalars are read as serde reads them from `marked_yaml`: any scalar is
//! text, a plain (unquoted) one may also be a number or a boolean, and an
//! empty plain value is an empty mapping or list.
//!
//! So that the checks of meaning can still run on the rest of the file, each
//! problem also names a *cut*: the nearest enclosing key that can be removed
//! (an optional key, an agent or a role) to leave a tree serde reads.
//! [`Shape::repair`] removes them.

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{Node, Span};
use serde_json::Value;

use super::issue::{Issue, at_path, backticked, child, did_you_mean, item, suggestion};

/// Every shape problem in `node`, in no particular order.
pub(super) fn check(node: &Node, schema: &Value) -> Shape {
    let mut walker = Walker {
        root: schema,
        shape: Shape::default(),
    };
    walker.walk(node, schema, &At::default(), None, None);
    walker.shape
}

/// The problems found, and how to cut them out.
#[derive(Debug, Default)]
pub(super) struct Shape {
    pub issues: Vec<Issue>,
    /// Keys to remove so that serde can read the rest.
    cuts: Vec<At>,
    /// Some problem has no key that can be cut (a required top-level key).
    uncuttable: bool,
}

impl Shape {
    /// Removes the cut keys from `node`. `None` when some problem cannot be
    /// cut out, and the rest of the file cannot be read; otherwise the key
    /// paths removed, which later checks treat as unknown rather than absent.
    pub fn repair(&self, node: &mut Node) -> Option<Vec<String>> {
        if self.uncuttable {
            return None;
        }
        for cut in &self.cuts {
            let Some((Seg::Key(last), parents)) = cut.segs.split_last() else {
                return None;
            };
            let parent = parents.iter().try_fold(&mut *node, |n, seg| match seg {
                Seg::Key(k) => n.as_mapping_mut()?.get_mut(k.as_str()),
                Seg::Index(i) => n.as_sequence_mut()?.get_mut(*i),
            });
            if let Some(map) = parent.and_then(Node::as_mapping_mut) {
                map.remove(last.as_str());
            }
        }
        Some(self.cuts.iter().map(|c| c.text.clone()).collect())
    }
}

/// A place in the tree: as written in messages, and as steps.
#[derive(Clone, Debug, Default)]
struct At {
    text: String,
    segs: Vec<Seg>,
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

impl At {
    fn key(&self, key: &str) -> At {
        let mut segs = self.segs.clone();
        segs.push(Seg::Key(key.to_owned()));
        At {
            text: child(&self.text, key),
            segs,
        }
    }

    fn index(&self, index: usize) -> At {
        let mut segs = self.segs.clone();
        segs.push(Seg::Index(index));
        At {
            text: item(&self.text, index),
            segs,
        }
    }
}

struct Walker<'s> {
    root: &'s Value,
    shape: Shape,
}

impl<'s> Walker<'s> {
    /// `key` is the span of the key the value sits under, where "missing
    /// key" problems are reported; `cut` the nearest key that can be removed
    /// to cut a problem out.
    fn walk(
        &mut self,
        node: &Node,
        schema: &'s Value,
        at: &At,
        key: Option<&Span>,
        cut: Option<&At>,
    ) {
        let schema = self.resolve(schema);
        if let Some(values) = enum_values(schema) {
            if let Some(message) = enum_problem(node, &values) {
                self.refuse(node.span(), at, message, cut);
            }
            return;
        }
        let types = types(schema);
        if !types.is_empty() && !self.check_type(node, &types, at, cut) {
            return;
        }
        // `const` and ranges are checked on values serde reads, so they need
        // no cut.
        if let (Some(constant), Node::Scalar(s)) = (schema.get("const"), node) {
            if let Some(message) = const_problem(s, constant) {
                self.report(s.span(), at, message);
            }
        }
        match node {
            Node::Mapping(map) => self.walk_mapping(map, schema, at, key, cut),
            Node::Sequence(seq) => {
                if let Some(items) = schema.get("items") {
                    for (i, element) in seq.iter().enumerate() {
                        self.walk(element, items, &at.index(i), None, cut);
                    }
                }
            }
            Node::Scalar(s) if is_empty(s) && types.contains(&"object") => {
                let empty = MarkedMappingNode::new_empty(*s.span());
                self.walk_mapping(&empty, schema, at, key, cut)
            }
            Node::Scalar(s) if types.contains(&"integer") => {
                if let Some(message) = range_problem(s, schema) {
                    self.report(s.span(), at, message);
                }
            }
            Node::Scalar(_) => {}
        }
    }

    /// Follows `$ref`s to `#/$defs/...`.
    fn resolve(&self, mut schema: &'s Value) -> &'s Value {
        while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let target = reference
                .strip_prefix("#/")
                .and_then(|p| p.split('/').try_fold(self.root, |s, part| s.get(part)));
            match target {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn walk_mapping(
        &mut self,
        map: &MarkedMappingNode,
        schema: &'s Value,
        at: &At,
        key: Option<&Span>,
        cut: Option<&At>,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let required: Vec<&str> = (schema.get("required").and_then(Value::as_array))
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Required keys that an unknown key was taken for: "did you mean
        // `owner`?" already says the key is missing.
        let mut meant: Vec<&str> = Vec::new();
        for (k, value) in map.iter() {
            let name = k.as_str();
            let child = at.key(name);
            if let Some(property) = properties.and_then(|p| p.get(name)) {
                let cut = if required.contains(&name) {
                    cut
                } else {
                    Some(&child)
                };
                self.walk(value, property, &child, Some(k.span()), cut);
            } else if let Some(additional) = additional.filter(|a| a.is_object()) {
                self.walk(value, additional, &child, Some(k.span()), Some(&child));
            } else if additional == Some(&Value::Bool(false)) {
                let known: Vec<&str> = properties
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let hint = match did_you_mean(name, known.iter().copied()) {
                    Some(close) => {
                        meant.push(close);
                        format!("; did you mean `{close}`?")
                    }
                    None => format!(" (the keys here are {})", backticked(known)),
                };
                let message = format!("unknown key `{name}`{hint}");
                self.refuse(k.span(), at, message, Some(&child));
            }
        }
        for name in required {
            if map.get_node(name).is_none() && meant.contains(&name) {
                self.cut(cut);
            } else if map.get_node(name).is_none() {
                let message = format!("missing required key `{name}`");
                // Point at the key this mapping sits under, else at its own
                // first key (a list item); at the top, at the start of the
                // file.
                let first_key = || map.keys().next().map(|k| k.span());
                let span = key.or_else(|| first_key().filter(|_| !at.segs.is_empty()));
                let span = span.copied().unwrap_or_else(Span::new_blank);
                self.refuse(&span, at, message, cut);
            }
        }
    }

    /// Whether the node has one of the JSON types; reports it when not.
    fn check_type(&mut self, node: &Node, types: &[&str], at: &At, cut: Option<&At>) -> bool {
        if types.iter().any(|t| fits(t, node)) {
            return true;
        }
        let expected = types
            .iter()
            .map(|t| match *t {
                "object" => "a mapping of keys",
                "array" => "a list",
                "string" => "text",
                "integer" => "a whole number",
                "boolean" => "`true` or `false`",
                other => other,
            })
            .collect::<Vec<_>>()
            .join(" or ");
        let mut message = format!("expected {expected}, found {}", describe(node));
        if let Node::Scalar(s) = node {
            let unquoted = Node::Scalar(MarkedScalarNode::new(*s.span(), s.as_str()));
            if !s.may_coerce() && types.iter().any(|t| *t != "string" && fits(t, &unquoted)) {
                message.push_str("; remove the quotes");
            } else if types.contains(&"array") {
                let example = s.as_str().escape_default();
                message.push_str(&format!("; write a list, such as [\"{example}\"]"));
            }
        }
        self.refuse(node.span(), at, message, cut);
        false
    }

    /// A problem serde would also refuse: it must be cut out.
    fn refuse(&mut self, span: &Span, at: &At, message: String, cut: Option<&At>) {
        self.cut(cut);
        self.report(span, at, message);
    }

    fn cut(&mut self, cut: Option<&At>) {
        match cut {
            Some(cut) => self.shape.cuts.push(cut.clone()),
            None => self.shape.uncuttable = true,
        }
    }

    fn report(&mut self, span: &Span, at: &At, message: String) {
        self.shape
            .issues
            .push(Issue::at(span, at_path(&at.text, message)));
    }
}

fn fits(t: &str, node: &Node) -> bool {
    match (t, node) {
        ("object", Node::Mapping(_)) | ("array", Node::Sequence(_)) => true,
        ("object" | "array", Node::Scalar(s)) => is_empty(s),
        ("string", Node::Scalar(_)) => true,
        ("integer", Node::Scalar(s)) => s.may_coerce() && s.as_str().parse::<i64>().is_ok(),
        ("boolean", Node::Scalar(s)) => s.as_bool().is_some(),
        _ => false,
    }
}

fn enum_problem(node: &Node, values: &[&str]) -> Option<String> {
    let listed = backticked(values.iter().copied());
    match node {
        Node::Scalar(s) if values.contains(&s.as_str()) => None,
        Node::Scalar(s) => Some(format!(
            "`{}` is not one of {listed}{}",
            s.as_str(),
            suggestion(s.as_str(), values.iter().copied())
        )),
        other => Some(format!(
            "expected one of {listed}, found {}",
            describe(other)
        )),
    }
}

fn const_problem(s: &MarkedScalarNode, constant: &Value) -> Option<String> {
    let want = match constant {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    (s.as_str() != want).then(|| format!("must be `{want}`, found `{}`", s.as_str()))
}

fn range_problem(scalar: &MarkedScalarNode, schema: &Value) -> Option<String> {
    let n = scalar.as_str().parse::<i64>().ok()?;
    let min = schema.get("minimum").and_then(Value::as_i64);
    let max = match schema.get("format").and_then(Value::as_str) {
        Some("uint32") => Some(i64::from(u32::MAX)),
        _ => schema.get("maximum").and_then(Value::as_i64),
    };
    match (min, max) {
        (Some(min), _) if n < min => Some(format!("must be at least {min}, found {n}")),
        (_, Some(max)) if n > max => Some(format!("must be at most {max}, found {n}")),
        _ => None,
    }
}

/// The allowed values of an enum: `oneOf`/`anyOf` whose branches are all
/// constants (as schemars writes documented enums), or `enum`.
fn enum_values(schema: &Value) -> Option<Vec<&str>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().map(Value::as_str).collect();
    }
    let branches = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)?;
    branches
        .iter()
        .map(|b| b.get("const").and_then(Value::as_str))
        .collect()
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// An empty plain value (`key:` with nothing after it), which serde reads as
/// an empty mapping or list.
fn is_empty(scalar: &MarkedScalarNode) -> bool {
    scalar.may_coerce() && scalar.as_str().is_empty()
}

/// How a node reads in a message.
fn describe(node: &Node) -> String {
    match node {
        Node::Mapping(_) => "a mapping".into(),
        Node::Sequence(_) => "a list".into(),
        Node::Scalar(s) if is_empty(s) => "nothing".into(),
        Node::Scalar(s) if !s.may_coerce() => format!("the quoted text \"{}\"", s.as_str()),
        Node::Scalar(s) => format!("`{}`", s.as_str()),
    }
}
