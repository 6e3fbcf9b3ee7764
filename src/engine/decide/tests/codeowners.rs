//! `codeowners` in approvers lists: who owns each covered path, and which
//! approvals count for it.

use super::*;
use crate::codeowners::{CodeownersFile, Flavour};

const POLICY: &str = r#"
version: 1
agents:
  claude:
    role: dev
    owner: alice
    match:
      trailers: ["Co-authored-by: Claude*<noreply@anthropic.com>"]
roles:
  dev:
    scope:
      allow: ["**"]
sensitive:
  - name: auth
    paths: ["src/auth/**", "src/billing/**"]
    approvers: [codeowners]
"#;

const CODEOWNERS: &str = "\
* @fallback
/src/auth/ @octo/security
/src/billing/ @bill
/src/billing/legacy/
";

fn with_codeowners(
    policy_text: &str,
    forge: Forge,
    codeowners: Option<&str>,
    change: &Change,
) -> Decision {
    let loaded = LoadedPolicy {
        path: RepoPath::parse(".github/warrant.yml").unwrap(),
        blob_id: policy::blob_id(policy_text.as_bytes()),
        policy: policy::load(".github/warrant.yml", policy_text).expect("test policy is valid"),
    };
    let mut ctx = context();
    ctx.teams.insert(
        "octo/security".into(),
        vec![login("sam"), login("dana"), login("claude-bot")],
    );
    let flavour = match forge {
        Forge::Gitlab => Flavour::Gitlab,
        _ => Flavour::Github,
    };
    if let Some(text) = codeowners {
        let path = RepoPath::parse(".github/CODEOWNERS").unwrap();
        ctx.codeowners = CodeownersFile::read(&path, flavour, text);
    }
    decide(&Evaluation {
        policy: &loaded,
        change,
        context: &ctx,
        at: at(),
    })
}

fn agent_change(files: &[&str], reviews: Vec<Review>) -> Change {
    let mut c = change(human("dana"), CLAUDE, files);
    c.reviews = reviews;
    c
}

fn approve(id: u64, who: &str) -> Review {
    review(id, human(who), ReviewState::Approved, HEAD, id as u32)
}

fn owned(policy: &str, codeowners: &str, files: &[&str], reviews: Vec<Review>) -> Decision {
    with_codeowners(
        policy,
        Forge::Github,
        Some(codeowners),
        &agent_change(files, reviews),
    )
}

#[test]
fn an_owned_path_is_approved_by_its_code_owner_team() {
    let d = owned(POLICY, CODEOWNERS, &["src/auth/login.rs"], vec![]);
    assert_eq!(d.conclusion, Conclusion::ActionRequired, "{}", d.title);
    let r = &d.requirements[0];
    assert_eq!(r.approvers, ["codeowners"]);
    assert_eq!(r.owned_paths[0].owners, ["@octo/security"]);
    assert_eq!(r.owned_paths[0].line, 2);
    assert!(d.title.contains("code owners"), "{}", d.title);

    let d = owned(
        POLICY,
        CODEOWNERS,
        &["src/auth/login.rs"],
        vec![approve(1, "sam")],
    );
    assert_eq!(d.conclusion, Conclusion::Success, "{}", d.title);
    let r = &d.requirements[0];
    assert_eq!(r.owned_paths[0].approved_by, [login("sam")]);
    assert_eq!(r.approved_by, [login("sam")]);
    let source = d.codeowners.as_ref().unwrap();
    assert_eq!(source.path.as_str(), ".github/CODEOWNERS");
}

#[test]
fn an_approval_by_someone_who_owns_another_path_does_not_count_for_this_one() {
    let d = owned(
        POLICY,
        CODEOWNERS,
        &["src/auth/login.rs", "src/billing/pay.rs"],
        vec![approve(1, "bill")],
    );
    assert_eq!(d.conclusion, Conclusion::ActionRequired, "{}", d.title);
    let r = &d.requirements[0];
    let auth = &r.owned_paths[0];
    assert_eq!(auth.path.as_str(), "src/auth/login.rs");
    assert!(auth.approved_by.is_empty());
    assert_eq!(r.owned_paths[1].approved_by, [login("bill")]);
    assert_eq!(r.missing(), 1);

    // Nobody who owns nothing here counts.
    let d = owned(
        POLICY,
        CODEOWNERS,
        &["src/auth/a.rs"],
        vec![approve(1, "carol")],
    );
    let r = &d.requirements[0];
    assert_eq!(r.not_counted[0].reason, RefusalReason::NotAnApprover);
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
}

#[test]
fn an_owner_who_wrote_asked_for_or_is_an_agent_never_counts() {
    // dana opened the change and committed it; claude-bot is a bot in the
    // owning team; both are members of @octo/security.
    let d = owned(
        POLICY,
        CODEOWNERS,
        &["src/auth/login.rs"],
        vec![
            approve(1, "dana"),
            review(2, bot("claude-bot"), ReviewState::Approved, HEAD, 2),
        ],
    );
    assert_eq!(d.conclusion, Conclusion::ActionRequired, "{}", d.title);
    let r = &d.requirements[0];
    assert!(r.owned_paths[0].approved_by.is_empty());
    let reasons: Vec<RefusalReason> = r.not_counted.iter().map(|n| n.reason).collect();
    assert!(
        reasons.contains(&RefusalReason::ChangeAuthor),
        "{reasons:?}"
    );
    assert!(reasons.contains(&RefusalReason::Agent), "{reasons:?}");
}

#[test]
fn an_unowned_path_may_be_approved_by_the_other_approvers_listed() {
    let policy = POLICY.replace("[codeowners]", "[codeowners, octo/sre]");
    let d = owned(&policy, CODEOWNERS, &["src/billing/legacy/old.rs"], vec![]);
    assert_eq!(d.conclusion, Conclusion::ActionRequired, "{}", d.title);
    assert_eq!(
        d.requirements[0].unowned[0].path.as_str(),
        "src/billing/legacy/old.rs"
    );

    let d = owned(
        &policy,
        CODEOWNERS,
        &["src/billing/legacy/old.rs"],
        vec![approve(1, "erin")],
    );
    assert_eq!(d.conclusion, Conclusion::Success, "{}", d.title);
    assert_eq!(d.requirements[0].unowned[0].approved_by, [login("erin")]);
}

#[test]
fn an_unowned_path_with_no_other_approvers_fails_naming_it() {
    let d = owned(
        POLICY,
        CODEOWNERS,
        &["src/billing/legacy/old.rs", "src/auth/a.rs"],
        vec![],
    );
    assert_eq!(d.conclusion, Conclusion::Failure, "{}", d.title);
    let v = d
        .violations
        .iter()
        .find(|v| v.kind == ViolationKind::UnownedPaths)
        .unwrap();
    assert!(v.blocking);
    assert!(
        v.message.contains("`src/billing/legacy/old.rs`"),
        "{}",
        v.message
    );
    assert!(!v.message.contains("src/auth/a.rs"), "{}", v.message);
    assert!(d.title.contains("src/billing/legacy/old.rs"), "{}", d.title);
}

#[test]
fn without_a_codeowners_file_every_covered_path_is_unowned() {
    let change = agent_change(&["src/auth/a.rs"], vec![approve(1, "sam")]);
    let d = with_codeowners(POLICY, Forge::Github, None, &change);
    assert_eq!(d.conclusion, Conclusion::Failure, "{}", d.title);
    assert!(d.title.contains("no CODEOWNERS file"), "{}", d.title);
    assert!(d.codeowners.is_none());
}

#[test]
fn an_invalid_codeowners_file_fails_closed_with_its_line() {
    let d = owned(
        POLICY,
        "* @ok\n/src/auth/ security-team\n",
        &["README.md"],
        vec![],
    );
    assert_eq!(d.conclusion, Conclusion::Failure);
    let v = &d.violations[0];
    assert_eq!(v.kind, ViolationKind::InvalidCodeowners);
    assert!(
        v.message
            .starts_with("Invalid CODEOWNERS: .github/CODEOWNERS:2:12: `security-team`"),
        "{}",
        v.message
    );
    assert!(d.title.starts_with("Invalid CODEOWNERS"), "{}", d.title);
    // A policy that does not name `codeowners` never reads it.
    let d = decide_with(BASE_POLICY, &agent_change(&["src/a.rs"], vec![]), at());
    assert!(!kinds(&d).contains(&ViolationKind::InvalidCodeowners));
}

#[test]
fn email_owners_are_reported_as_unsupported_and_leave_the_path_unowned() {
    let policy = POLICY.replace("[codeowners]", "[codeowners, octo/sre]");
    let d = owned(
        &policy,
        "/src/auth/ security@example.com\n",
        &["src/auth/a.rs"],
        vec![approve(1, "erin")],
    );
    assert_eq!(d.conclusion, Conclusion::Success, "{}", d.title);
    let unowned = &d.requirements[0].unowned[0];
    assert_eq!(unowned.unsupported, ["security@example.com"]);
    let v = d
        .violations
        .iter()
        .find(|v| v.kind == ViolationKind::UnsupportedCodeowners)
        .unwrap();
    assert!(!v.blocking);
    assert!(v.message.contains("security@example.com"), "{}", v.message);
}

#[test]
fn a_gitlab_section_needs_its_approval_count_and_every_required_section_approves() {
    let file = "\
[Security][2] @octo/security
/src/auth/
^[Docs]
*.rs @writer
[Billing]
/src/ @bill
";
    let change = |reviews| agent_change(&["src/auth/a.rs"], reviews);
    let one = with_codeowners(
        POLICY,
        Forge::Gitlab,
        Some(file),
        &change(vec![approve(1, "sam")]),
    );
    assert_eq!(one.conclusion, Conclusion::ActionRequired, "{}", one.title);
    let r = &one.requirements[0];
    let sections: Vec<(Option<&str>, u32)> = r
        .owned_paths
        .iter()
        .map(|o| (o.section.as_deref(), o.required))
        .collect();
    assert_eq!(
        sections,
        [
            (Some("Security"), 2),
            (Some("Docs"), 0),
            (Some("Billing"), 1)
        ]
    );
    assert_eq!(r.missing(), 1);

    let mut ctx_members = vec![approve(1, "sam"), approve(2, "bill")];
    let still = with_codeowners(
        POLICY,
        Forge::Gitlab,
        Some(file),
        &change(ctx_members.clone()),
    );
    assert_eq!(
        still.conclusion,
        Conclusion::ActionRequired,
        "{}",
        still.title
    );

    // A second member of the security team: root is not, mia is not;
    // only sam and dana are, and dana wrote the change.
    ctx_members.push(approve(3, "dana"));
    let refused = with_codeowners(POLICY, Forge::Gitlab, Some(file), &change(ctx_members));
    assert_eq!(refused.conclusion, Conclusion::ActionRequired);

    let two_owners = file.replace(
        "[Security][2] @octo/security",
        "[Security][2] @octo/security @erin",
    );
    let done = with_codeowners(
        POLICY,
        Forge::Gitlab,
        Some(&two_owners),
        &change(vec![
            approve(1, "sam"),
            approve(2, "bill"),
            approve(3, "erin"),
        ]),
    );
    assert_eq!(done.conclusion, Conclusion::Success, "{}", done.title);
}

#[test]
fn codeowners_for_unregistered_agents_covers_every_touched_path() {
    let policy = r#"
version: 1
unregistered_agents:
  action: escalate
  approvers: [codeowners]
"#;
    let d = owned(
        policy,
        CODEOWNERS,
        &["src/auth/a.rs", "README.md"],
        vec![approve(1, "sam")],
    );
    assert_eq!(d.conclusion, Conclusion::ActionRequired, "{}", d.title);
    let r = &d.requirements[0];
    assert_eq!(r.id, "unregistered-agents");
    let paths: Vec<&str> = r.owned_paths.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(paths, ["src/auth/a.rs", "README.md"]);

    let d = owned(
        policy,
        CODEOWNERS,
        &["src/auth/a.rs", "README.md"],
        vec![approve(1, "sam"), approve(2, "fallback")],
    );
    assert_eq!(d.conclusion, Conclusion::Success, "{}", d.title);
}

#[test]
fn min_approvals_still_counts_distinct_approvers_over_owners_and_others() {
    let policy = POLICY.replace(
        "approvers: [codeowners]",
        "approvers: [codeowners, octo/sre]\n    min_approvals: 2",
    );
    let d = owned(
        &policy,
        CODEOWNERS,
        &["src/auth/a.rs"],
        vec![approve(1, "sam")],
    );
    assert_eq!(d.conclusion, Conclusion::ActionRequired, "{}", d.title);
    let d = owned(
        &policy,
        CODEOWNERS,
        &["src/auth/a.rs"],
        vec![approve(1, "sam"), approve(2, "bob")],
    );
    assert_eq!(d.conclusion, Conclusion::Success, "{}", d.title);
}

#[test]
fn a_decision_recorded_before_codeowners_support_still_reads() {
    let d = owned(POLICY, CODEOWNERS, &["src/auth/a.rs"], vec![]);
    let mut json = serde_json::to_value(&d).unwrap();
    json.as_object_mut().unwrap().remove("codeowners");
    let requirement = json["requirements"][0].as_object_mut().unwrap();
    requirement.remove("owned_paths");
    requirement.remove("unowned");
    let old: Decision = serde_json::from_value(json).unwrap();
    assert!(old.requirements[0].owned_paths.is_empty());
    assert!(old.codeowners.is_none());
}

#[test]
fn summary_snapshot_says_per_path_who_owns_it_and_who_approved() {
    let policy = POLICY.replace("[codeowners]", "[codeowners, octo/sre]");
    let file = "\
[Security][2] @octo/security
/src/auth/
[Billing]
/src/billing/ @bill billing@example.com
/src/billing/legacy/
";
    let change = agent_change(
        &[
            "src/auth/login.rs",
            "src/billing/pay.rs",
            "src/billing/legacy/old.rs",
        ],
        vec![approve(1, "sam"), approve(2, "bill")],
    );
    let d = with_codeowners(&policy, Forge::Gitlab, Some(file), &change);
    insta::assert_snapshot!(crate::engine::render::markdown(&d, None));
    insta::assert_snapshot!("codeowners_text", crate::engine::render::text(&d));
}
