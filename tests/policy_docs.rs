//! `docs/policy.md` is what org admins read: its examples must load, and it
//! must describe every key the policy language has.

const DOCS: &str = include_str!("../docs/policy.md");

/// The contents of every fenced block in `language`.
fn blocks(markdown: &str, language: &str) -> Vec<(usize, String)> {
    let fence = format!("```{language}");
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        match current.as_mut() {
            None if line.trim_end() == fence => current = Some((index + 2, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => found.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```{language} block");
    found
}

#[test]
fn every_yaml_example_in_the_policy_docs_loads() {
    let examples = blocks(DOCS, "yaml");
    assert!(
        !examples.is_empty(),
        "docs/policy.md has no ```yaml example"
    );
    for (line, text) in examples {
        let file = format!("docs/policy.md (the example on line {line})");
        if let Err(errors) = warrant::policy::load(&file, &text) {
            panic!("{errors}");
        }
    }
}

#[test]
fn the_policy_docs_name_every_key() {
    fn keys(schema: &serde_json::Value, root: &serde_json::Value, out: &mut Vec<String>) {
        let schema = match schema.get("$ref").and_then(|r| r.as_str()) {
            Some(r) => &root["$defs"][r.trim_start_matches("#/$defs/")],
            None => schema,
        };
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, prop) in props {
                out.push(name.clone());
                keys(prop, root, out);
            }
        }
        for nested in ["items", "additionalProperties"] {
            if let Some(inner) = schema.get(nested).filter(|s| s.is_object()) {
                keys(inner, root, out);
            }
        }
    }
    let schema = warrant::policy::schema();
    let mut names = Vec::new();
    keys(&schema, &schema, &mut names);
    assert!(names.len() > 20, "{names:?}");
    for name in names {
        // As a key of its own or a segment of a key path
        // (`roles.<id>.scope.allow`).
        let named = ["`", "."]
            .iter()
            .flat_map(|before| ["`", ".", "["].map(|after| format!("{before}{name}{after}")))
            .any(|written| DOCS.contains(&written));
        assert!(named, "docs/policy.md does not describe the key `{name}`");
    }
}

#[test]
fn the_organisation_example_loads_and_the_repository_example_loads_under_it() {
    let org = blocks(DOCS, "yaml warrant-org.yml");
    let repo = blocks(DOCS, "yaml .github/warrant.yml");
    assert_eq!((org.len(), repo.len()), (1, 1), "one example of each");
    let org = warrant::policy::load("warrant-org.yml", &org[0].1)
        .unwrap_or_else(|errors| panic!("{errors}"));
    let under = warrant::policy::load_under(".github/warrant.yml", &repo[0].1, Some(&org))
        .unwrap_or_else(|errors| panic!("{errors}"));
    let copilot = under.agents.iter().find(|a| a.id.as_str() == "copilot");
    assert_eq!(copilot.unwrap().role.as_str(), "payments-dev");
    // Alone, the repository's example is not a valid policy: its Copilot
    // entry is only a role.
    assert!(warrant::policy::load(".github/warrant.yml", &repo[0].1).is_err());
}
