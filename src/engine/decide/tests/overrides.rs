//! Overrides applied to a decision (`apply_overrides`): only on the
//! decision's head, only on a decision that blocks, segregation of duties
//! whatever the `approvals` exclusions say, `codeowners` meaning an owner
//! of every touched path, and what a policy in observe mode decides left
//! alone.

use super::*;
use crate::codeowners::{CodeownersFile, Flavour};
use crate::engine::{OverrideRefusal, OverrideRequest, Policies, apply_overrides};

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
      allow: ["src/**"]
approvals:
  exclude_requester: false
  exclude_contributors: false
overrides:
  approvers: ["octo/sre", codeowners]
"#;

fn loaded(text: &str) -> LoadedPolicy {
    LoadedPolicy {
        path: RepoPath::parse(".github/warrant.yml").unwrap(),
        blob_id: policy::blob_id(text.as_bytes()),
        policy: policy::load(".github/warrant.yml", text).expect("test policy is valid"),
    }
}

fn by(who: &str, head: &str, id: u64) -> OverrideRequest {
    OverrideRequest {
        comment_id: id,
        by: human(who),
        reason: "INC-1: the site is down".into(),
        head_sha: sha(head),
        at: at(),
    }
}

/// `change` decided under `text`, then `requests` applied.
fn overridden(
    text: &str,
    change: &Change,
    ctx: &Context,
    requests: &[OverrideRequest],
) -> Decision {
    let policy = loaded(text);
    let evaluation = Evaluation {
        policy: &policy,
        change,
        context: ctx,
        at: at(),
    };
    let mut d = decide(&evaluation);
    let policies = Policies {
        org: None,
        repo: Some(&policy),
    };
    apply_overrides(&mut d, policies, change, ctx, at(), requests);
    d
}

fn out_of_scope() -> Change {
    change(human("dana"), CLAUDE, &["infra/main.tf", "src/a.rs"])
}

#[test]
fn an_override_given_on_another_head_is_not_applied() {
    let d = overridden(POLICY, &out_of_scope(), &context(), &[by("bob", OLD, 1)]);
    assert_eq!(d.conclusion, Conclusion::Failure);
    assert!(d.overrides.is_empty());
    let d = overridden(POLICY, &out_of_scope(), &context(), &[by("bob", HEAD, 1)]);
    assert_eq!(d.conclusion, Conclusion::Success);
    assert_eq!(d.title, "Overridden by @bob: INC-1: the site is down");
    assert_eq!(d.would_conclude, Conclusion::Failure);
}

#[test]
fn a_decision_that_does_not_block_is_left_as_it_is() {
    let within = change(human("dana"), CLAUDE, &["src/a.rs"]);
    let d = overridden(POLICY, &within, &context(), &[by("bob", HEAD, 1)]);
    assert_eq!(d.conclusion, Conclusion::Success);
    assert!(d.overrides.is_empty());
    assert!(!d.title.starts_with("Overridden"));
}

#[test]
fn the_requester_and_contributors_never_override_whatever_the_approvals_exclusions_say() {
    // dana opened the change (author and requester); erin co-authored it.
    let mut c = out_of_scope();
    c.commits[0].committer = Person {
        name: "erin".into(),
        email: "erin@example.com".into(),
        account: Some(human("erin")),
    };
    c.assignees = vec![human("alice")];
    let mut ctx = context();
    ctx.teams.insert(
        "octo/sre".into(),
        vec![login("dana"), login("erin"), login("bob")],
    );
    let requests = [by("dana", HEAD, 1), by("erin", HEAD, 2)];
    let d = overridden(POLICY, &c, &ctx, &requests);
    assert_eq!(d.conclusion, Conclusion::Failure);
    let refused: Vec<_> = d.overrides.iter().map(|u| u.refused).collect();
    assert_eq!(
        refused,
        [
            Some(OverrideRefusal::ChangeAuthor),
            Some(OverrideRefusal::Contributor)
        ]
    );
    // A bot in the team is an agent, never an approver.
    let mut robot = by("sre-bot[bot]", HEAD, 3);
    robot.by = bot("sre-bot[bot]");
    let d = overridden(POLICY, &c, &ctx, &[robot]);
    assert_eq!(d.overrides[0].refused, Some(OverrideRefusal::Agent));
}

#[test]
fn a_code_owner_overrides_only_when_they_own_every_touched_path() {
    let mut ctx = context();
    let path = RepoPath::parse(".github/CODEOWNERS").unwrap();
    ctx.codeowners =
        CodeownersFile::read(&path, Flavour::Github, "/infra/ @olga\n/src/ @olga @sid\n");
    let d = overridden(POLICY, &out_of_scope(), &ctx, &[by("sid", HEAD, 1)]);
    assert_eq!(d.overrides[0].refused, Some(OverrideRefusal::NotAnApprover));
    assert_eq!(d.conclusion, Conclusion::Failure);
    let d = overridden(POLICY, &out_of_scope(), &ctx, &[by("olga", HEAD, 2)]);
    assert_eq!(d.overrides[0].refused, None);
    assert_eq!(d.conclusion, Conclusion::Success);
}

#[test]
fn overrides_are_off_without_approvers_and_a_later_one_is_credited_only_with_what_is_left() {
    let off = POLICY.replace("overrides:\n  approvers: [\"octo/sre\", codeowners]\n", "");
    let d = overridden(&off, &out_of_scope(), &context(), &[by("bob", HEAD, 1)]);
    assert_eq!(d.overrides[0].refused, Some(OverrideRefusal::NotAnApprover));
    assert_eq!(d.conclusion, Conclusion::Failure);

    let d = overridden(
        POLICY,
        &out_of_scope(),
        &context(),
        &[by("bob", HEAD, 1), by("erin", HEAD, 2)],
    );
    assert_eq!(d.conclusion, Conclusion::Success);
    assert_eq!(d.overrides[0].lifted.len(), 1);
    assert!(d.overrides[1].lifted.is_empty());
    assert_eq!(d.title, "Overridden by @bob: INC-1: the site is down");
}
