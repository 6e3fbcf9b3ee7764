//! The demo's last scenes: policy changes reviewed before they land.
//! Copilot reaches into `infra/`, outside its role; priya proposes that her
//! team may approve the ledger; kenji proposes, in acme/.github, a role for
//! Copilot that reaches `infra/` (a repository cannot widen an agent the
//! organisation registers: the organisation's floor still holds); tom
//! proposes priya's change with a typo. Each check lists what the proposal
//! relaxes and the past pull requests it would decide otherwise, or fails
//! at the line of the typo.

use chrono::{DateTime, Utc};

use crate::engine::Conclusion;

use super::script::{
    ORG_REPOSITORY, Scene, Step, copilot_pull, org_policy, own_commit, pull, user,
};

/// The policy priya proposes for acme/payments.
pub const PROPOSED: &str = include_str!("proposed.yml");

/// Where acme/payments keeps its policy.
const POLICY_PATH: &str = ".github/warrant.yml";

/// The policy-change scenes of a demo played at `now`.
pub(super) fn scenes(now: DateTime<Utc>) -> Vec<Scene> {
    vec![
        copilot_in_infra(),
        relaxing_the_ledger(),
        widening_copilot(&org_policy(now)),
        a_typo(),
    ]
}

/// The organisation policy as kenji proposes it: Copilot in a role of its
/// own that also reaches the services' deployment manifests under
/// `infra/` (still two of acme/platform for infrastructure), proposed over
/// `org_policy`, the organisation policy in force.
pub fn proposed_org_policy(org_policy: &str) -> String {
    let copilot = "    role: feature-dev\n    owner: acme/payments-team\n    match:\n      builtin: copilot\n";
    let widened = "    role: feature-ops\n    owner: acme/payments-team\n    match:\n      builtin: copilot\n";
    let role = "roles:\n  feature-ops:\n    description: Application code and the deployment manifests under infra/\n    \
                scope:\n      allow: [\"src/**\", \"tests/**\", \"docs/**\", \"infra/**\"]\n      \
                deny: [\"src/auth/**\"]\n    out_of_scope: block\n    max_files: 40\n";
    assert!(
        org_policy.contains(copilot),
        "the organisation registers Copilot"
    );
    org_policy
        .replacen(copilot, widened, 1)
        .replacen("roles:\n", role, 1)
}

/// Copilot raises the statement worker's memory limit, in the service's
/// Kubernetes manifest under `infra/`: outside its role.
fn copilot_in_infra() -> Scene {
    let pull = copilot_pull(
        107,
        "Give the statement worker more memory",
        "Monthly statements for the largest merchants run out of memory at \
         512 MiB; this raises the worker's limit to 1 GiB.\n\nFixes #95.",
        "copilot/statement-worker-memory",
        &[
            "infra/k8s/statement-worker.yaml",
            "src/statements/worker.rs",
        ],
        "Give the statement worker more memory",
    );
    Scene {
        shows: "Copilot edits infra/, outside its role's scope",
        expected: Conclusion::Failure,
        pull,
        steps: vec![Step::Open],
        at_head: Vec::new(),
    }
}

/// priya's own change to the policy file: a human's, so it waits for the
/// platform team (`policy_file.approvers`); its check lists the
/// relaxation, and that no past pull request would be decided otherwise.
fn relaxing_the_ledger() -> Scene {
    policy_pull(
        108,
        ("priya", 1001),
        "Let the payments team approve ledger changes",
        (POLICY_PATH, PROPOSED.to_owned()),
        "Relaxes the ledger's approvals: the check lists the relaxation and replays the past pull requests",
        Conclusion::ActionRequired,
    )
}

/// kenji's change to the organisation policy, in acme/.github: Copilot
/// may reach `infra/`. Its check lists the relaxation, and that #107
/// would then wait for two of acme/platform instead of failing.
fn widening_copilot(org_policy: &str) -> Scene {
    let mut scene = policy_pull(
        3,
        ("kenji", 1005),
        "Let Copilot maintain the services' deployment manifests",
        (
            crate::policy::ORG_POLICY_FILE,
            proposed_org_policy(org_policy),
        ),
        "Widens Copilot's scope for all of acme: the check shows acme/payments#107 would wait for approval instead of failing",
        Conclusion::ActionRequired,
    );
    scene.pull.change.repository = ORG_REPOSITORY.into();
    scene
}

/// tom proposes priya's change with a typo (`aprovers`): the proposed
/// policy does not load, and the check fails at its line.
fn a_typo() -> Scene {
    policy_pull(
        109,
        ("tom", 1002),
        "Payments may approve the ledger",
        (
            POLICY_PATH,
            PROPOSED.replacen(
                "approvers: [\"acme/platform\", ",
                "aprovers: [\"acme/platform\", ",
                1,
            ),
        ),
        "Proposes a policy with a typo: the check fails at its line",
        Conclusion::Failure,
    )
}

/// `author`'s pull request `number` changing one policy file, which reads
/// `proposed` (path, text) at its head.
fn policy_pull(
    number: u64,
    (login, id): (&str, u64),
    title: &str,
    proposed: (&'static str, String),
    shows: &'static str,
    expected: Conclusion,
) -> Scene {
    let author = user(login, id);
    let email = format!("{login}@acme.example");
    let commit = own_commit(
        &format!("acme/payments#{number} 1"),
        &author,
        (login, &email),
        &format!("{title}\n\nSee the policy change in the check."),
    );
    let pull = pull(
        number,
        title,
        "Copilot keeps opening pull requests for the statement worker's \
         manifest, and the platform team asked us to own the ledger's reviews.",
        author,
        Vec::new(),
        &format!("{login}/policy"),
        vec![commit],
        &[proposed.0],
    );
    Scene {
        shows,
        expected,
        pull,
        steps: vec![Step::Open],
        at_head: vec![proposed],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::script::ORG_POLICY;

    #[test]
    fn the_proposals_load_and_the_typo_does_not() {
        let org = crate::policy::load("warrant-org.yml", ORG_POLICY).expect("valid");
        let proposed = crate::policy::load_under(POLICY_PATH, PROPOSED, Some(&org));
        assert!(proposed.is_ok(), "{:?}", proposed.err());
        let widened =
            crate::policy::load("warrant-org.yml", &proposed_org_policy(ORG_POLICY)).unwrap();
        let copilot = widened
            .agents
            .iter()
            .find(|a| a.id.as_str() == "copilot")
            .unwrap();
        assert_eq!(copilot.role.as_str(), "feature-ops");
        let Step::Open = a_typo().steps[0] else {
            unreachable!()
        };
        let typo = &a_typo().at_head[0].1;
        let errors = crate::policy::load_under(POLICY_PATH, typo, Some(&org)).unwrap_err();
        assert!(errors.0[0].message.contains("aprovers"), "{errors}");
    }
}
