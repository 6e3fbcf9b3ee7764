//! The scenario suite: each file in `fixtures/scenarios/` holds a policy, a
//! change and the decision expected of it, and this runner decides every
//! one and reports every mismatch at once. The format is described in
//! `fixtures/scenarios/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use warrant::engine::{
    self, Change, ChangedFile, Conclusion, Context, Decision, Evaluation, RefusalReason,
    Registration,
};
use warrant::ids::RepoPath;
use warrant::policy::{self, LoadedPolicy};

/// The suite must keep at least this many scenarios (issue: 60).
const MIN_SCENARIOS: usize = 60;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    /// The policy text, or `policy_ref` naming `fixtures/scenarios/policies/<name>.yml`.
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    policy_ref: Option<String>,
    /// Where the policy lives in the repository.
    #[serde(default = "default_policy_path")]
    policy_path: String,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    change: Change,
    #[serde(default)]
    context: Context,
    /// Adds `count` files named from `template` (`{n}` is the index).
    #[serde(default)]
    generate_files: Option<Generate>,
    expect: Expect,
}

fn default_policy_path() -> String {
    ".github/warrant.yml".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    template: String,
    count: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    conclusion: Conclusion,
    #[serde(default)]
    would_conclude: Option<Conclusion>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    title_contains: Option<String>,
    /// When given, exactly these agents are found (by id).
    #[serde(default)]
    agents: Option<Vec<ExpectAgent>>,
    /// When given, exactly these requirements exist (by id).
    #[serde(default)]
    requirements: Option<Vec<ExpectRequirement>>,
    /// When given, exactly these violations exist (by kind and agent).
    #[serde(default)]
    violations: Option<Vec<ExpectViolation>>,
    #[serde(default)]
    dismissals: Option<Vec<u64>>,
    #[serde(default)]
    requesters: Option<Vec<String>>,
    /// Agent ids whose elevation allowed paths.
    #[serde(default)]
    elevations: Option<Vec<String>>,
    /// A substring of the first policy error, `FILE:LINE:COL: message`.
    #[serde(default)]
    policy_error: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectAgent {
    id: String,
    #[serde(default)]
    status: Option<String>,
    /// Whether at least one signal is verified.
    #[serde(default)]
    verified: Option<bool>,
    /// Signal kinds that must be among its matches.
    #[serde(default)]
    signals: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectRequirement {
    id: String,
    satisfied: bool,
    #[serde(default)]
    approved_by: Option<Vec<String>>,
    /// Reviewer login to the reason their approval did not count.
    #[serde(default)]
    not_counted: Option<BTreeMap<String, RefusalReason>>,
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    approvers: Option<Vec<String>>,
    #[serde(default)]
    min_approvals: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectViolation {
    kind: String,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    blocking: Option<bool>,
    #[serde(default)]
    paths: Option<Vec<String>>,
    /// When given, the number of paths (for generated changes).
    #[serde(default)]
    path_count: Option<usize>,
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios")
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("fixtures/scenarios exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

fn load_scenario(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    marked_yaml::from_yaml_with_options(
        0,
        &text,
        marked_yaml::LoaderOptions::default().error_on_duplicate_keys(true),
    )
    .map_err(|e| format!("does not parse: {e}"))
}

fn evaluate(scenario: &Scenario) -> Result<Decision, String> {
    let text = match (&scenario.policy, &scenario.policy_ref) {
        (Some(text), None) => text.clone(),
        (None, Some(name)) => {
            std::fs::read_to_string(scenarios_dir().join("policies").join(format!("{name}.yml")))
                .map_err(|e| format!("policy_ref {name}: {e}"))?
        }
        _ => return Err("give exactly one of `policy` and `policy_ref`".into()),
    };
    let mut change = scenario.change.clone();
    if let Some(g) = &scenario.generate_files {
        for n in 0..g.count {
            let path = g.template.replace("{n}", &n.to_string());
            change.files.push(ChangedFile {
                path: RepoPath::parse(&path).map_err(|e| e.to_string())?,
                previous_path: None,
            });
        }
    }
    let at = scenario
        .at
        .unwrap_or_else(|| Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap());
    let path = RepoPath::parse(&scenario.policy_path).map_err(|e| e.to_string())?;
    let blob_id = policy::blob_id(text.as_bytes());
    Ok(match policy::load(path.as_str(), &text) {
        Err(errors) => engine::invalid_policy(&change, &path, &blob_id, &errors, at),
        Ok(policy) => {
            let loaded = LoadedPolicy {
                path,
                blob_id,
                policy,
            };
            engine::decide(&Evaluation {
                policy: &loaded,
                change: &change,
                context: &scenario.context,
                at,
            })
        }
    })
}

/// Every way the decision differs from the expectation.
fn mismatches(expect: &Expect, d: &Decision) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            out.push(what);
        }
    };
    check(
        d.conclusion == expect.conclusion,
        format!(
            "conclusion: expected {:?}, got {:?}",
            expect.conclusion, d.conclusion
        ),
    );
    if let Some(w) = expect.would_conclude {
        check(
            d.would_conclude == w,
            format!("would_conclude: expected {w:?}, got {:?}", d.would_conclude),
        );
    }
    if let Some(t) = &expect.title {
        check(
            &d.title == t,
            format!("title: expected {t:?}, got {:?}", d.title),
        );
    }
    if let Some(t) = &expect.title_contains {
        check(
            d.title.contains(t.as_str()),
            format!("title {:?} does not contain {t:?}", d.title),
        );
    }
    if let Some(agents) = &expect.agents {
        let got: Vec<&str> = d.agents.iter().map(|a| a.id.as_str()).collect();
        let want: Vec<&str> = agents.iter().map(|a| a.id.as_str()).collect();
        check(
            sorted(&got) == sorted(&want),
            format!("agents: expected {want:?}, got {got:?}"),
        );
        for want in agents {
            let Some(found) = d.agents.iter().find(|a| a.id == want.id) else {
                continue;
            };
            if let Some(status) = &want.status {
                let got = match found.status {
                    Registration::Registered => "registered",
                    Registration::Unregistered => "unregistered",
                    Registration::Lapsed { .. } => "lapsed",
                };
                check(
                    got == status,
                    format!("agent {}: status expected {status}, got {got}", want.id),
                );
            }
            if let Some(v) = want.verified {
                let got = found.signals.iter().any(|s| s.verified);
                check(
                    got == v,
                    format!("agent {}: verified expected {v}, got {got}", want.id),
                );
            }
            for kind in want.signals.iter().flatten() {
                let kinds: Vec<String> = found.signals.iter().map(|s| json_name(&s.kind)).collect();
                check(
                    kinds.contains(kind),
                    format!("agent {}: no {kind} signal among {kinds:?}", want.id),
                );
            }
        }
    }
    if let Some(reqs) = &expect.requirements {
        let got: Vec<&str> = d.requirements.iter().map(|r| r.id.as_str()).collect();
        let want: Vec<&str> = reqs.iter().map(|r| r.id.as_str()).collect();
        check(
            sorted(&got) == sorted(&want),
            format!("requirements: expected {want:?}, got {got:?}"),
        );
        for want in reqs {
            let Some(r) = d.requirements.iter().find(|r| r.id == want.id) else {
                continue;
            };
            check(
                r.satisfied == want.satisfied,
                format!(
                    "requirement {}: satisfied expected {}, got {}",
                    want.id, want.satisfied, r.satisfied
                ),
            );
            if let Some(by) = &want.approved_by {
                let got: Vec<&str> = r.approved_by.iter().map(|l| l.as_str()).collect();
                let want_by: Vec<&str> = by.iter().map(String::as_str).collect();
                check(
                    sorted(&got) == sorted(&want_by),
                    format!(
                        "requirement {}: approved_by expected {want_by:?}, got {got:?}",
                        want.id
                    ),
                );
            }
            if let Some(nc) = &want.not_counted {
                let got: BTreeMap<String, RefusalReason> = r
                    .not_counted
                    .iter()
                    .map(|n| (n.reviewer.to_string(), n.reason))
                    .collect();
                check(
                    &got == nc,
                    format!(
                        "requirement {}: not_counted expected {nc:?}, got {got:?}",
                        want.id
                    ),
                );
            }
            if let Some(paths) = &want.paths {
                let got: Vec<&str> = r.paths.iter().map(|p| p.as_str()).collect();
                let want_p: Vec<&str> = paths.iter().map(String::as_str).collect();
                check(
                    sorted(&got) == sorted(&want_p),
                    format!(
                        "requirement {}: paths expected {want_p:?}, got {got:?}",
                        want.id
                    ),
                );
            }
            if let Some(approvers) = &want.approvers {
                check(
                    sorted(&r.approvers) == sorted(approvers),
                    format!(
                        "requirement {}: approvers expected {approvers:?}, got {:?}",
                        want.id, r.approvers
                    ),
                );
            }
            if let Some(min) = want.min_approvals {
                check(
                    r.min_approvals == min,
                    format!(
                        "requirement {}: min_approvals expected {min}, got {}",
                        want.id, r.min_approvals
                    ),
                );
            }
        }
    }
    if let Some(violations) = &expect.violations {
        let key = |kind: &str, agent: Option<&str>| format!("{kind}:{}", agent.unwrap_or("-"));
        let got: Vec<String> = d
            .violations
            .iter()
            .map(|v| key(&json_name(&v.kind), v.agent.as_deref()))
            .collect();
        let want: Vec<String> = violations
            .iter()
            .map(|v| key(&v.kind, v.agent.as_deref()))
            .collect();
        check(
            sorted(&got) == sorted(&want),
            format!("violations: expected {want:?}, got {got:?}"),
        );
        for want in violations {
            let Some(v) = d
                .violations
                .iter()
                .find(|v| json_name(&v.kind) == want.kind && v.agent == want.agent)
            else {
                continue;
            };
            if let Some(b) = want.blocking {
                check(
                    v.blocking == b,
                    format!(
                        "violation {}: blocking expected {b}, got {}",
                        want.kind, v.blocking
                    ),
                );
            }
            if let Some(paths) = &want.paths {
                let got: Vec<&str> = v.paths.iter().map(|p| p.as_str()).collect();
                let want_p: Vec<&str> = paths.iter().map(String::as_str).collect();
                check(
                    sorted(&got) == sorted(&want_p),
                    format!(
                        "violation {}: paths expected {want_p:?}, got {got:?}",
                        want.kind
                    ),
                );
            }
            if let Some(n) = want.path_count {
                check(
                    v.paths.len() == n,
                    format!(
                        "violation {}: {n} paths expected, got {}",
                        want.kind,
                        v.paths.len()
                    ),
                );
            }
        }
    }
    if let Some(ids) = &expect.dismissals {
        let got: Vec<u64> = d.dismissals.iter().map(|x| x.review_id).collect();
        check(
            sorted(&got) == sorted(ids),
            format!("dismissals: expected {ids:?}, got {got:?}"),
        );
    }
    if let Some(req) = &expect.requesters {
        check(
            sorted(&d.requesters) == sorted(req),
            format!("requesters: expected {req:?}, got {:?}", d.requesters),
        );
    }
    if let Some(els) = &expect.elevations {
        let got: Vec<&str> = d.elevations.iter().map(|e| e.agent.as_str()).collect();
        let want: Vec<&str> = els.iter().map(String::as_str).collect();
        check(
            sorted(&got) == sorted(&want),
            format!("elevations: expected {want:?}, got {got:?}"),
        );
    }
    if let Some(e) = &expect.policy_error {
        let first = d
            .policy_errors
            .first()
            .map(|p| format!("{}:{}:{}: {}", p.file, p.line, p.column, p.message));
        check(
            first.as_deref().is_some_and(|f| f.contains(e.as_str())),
            format!("policy error: expected one containing {e:?}, got {first:?}"),
        );
    }
    out
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// The snake_case name serde gives an enum value.
fn json_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn every_scenario_decides_as_expected() {
    let files = scenario_files();
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = load_scenario(path).and_then(|s| {
            let decision = evaluate(&s)?;
            let problems = mismatches(&s.expect, &decision);
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{}\n    {}\n    decision title: {:?}",
                    s.description,
                    problems.join("\n    "),
                    decision.title
                ))
            }
        });
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_suite_keeps_its_size() {
    let n = scenario_files().len();
    assert!(
        n >= MIN_SCENARIOS,
        "only {n} scenarios; the suite keeps at least {MIN_SCENARIOS}"
    );
}
