//! How to undo a change: the rollback reference an auditor reads on the
//! change's page and in the exports.
//!
//! A merged change is undone by reverting what the merge added to the base
//! branch, and the command depends on how it was merged: a merge commit has
//! two parents (`git revert -m 1` keeps the base branch's side), a squash is
//! one ordinary commit, and a rebase added one commit per commit of the
//! change. An open change has added nothing yet: returning to the base
//! commit it was evaluated against undoes it. A change closed without
//! merging left nothing to undo.
//!
//! Pure functions, no I/O: the pages and exports give them what the store
//! recorded.

use serde::Serialize;

/// How the forge merged a change, as the merge webhook reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMethod {
    /// A merge commit with the base branch as first parent.
    Merge,
    /// The change's commits squashed into one commit.
    Squash,
    /// The change's commits replayed one by one onto the base branch.
    Rebase,
}

impl MergeMethod {
    /// The method stored as `name` (`merge`, `squash`, `rebase`), if it is one.
    pub fn parse(name: &str) -> Option<MergeMethod> {
        match name {
            "merge" => Some(MergeMethod::Merge),
            "squash" => Some(MergeMethod::Squash),
            "rebase" => Some(MergeMethod::Rebase),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }
}

/// Where a change stands, as far as undoing it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeState<'a> {
    /// Not merged yet; `base` is the base commit of its latest evaluation.
    Open { base: Option<&'a str> },
    /// Closed without merging.
    Closed,
    /// Merged as `commit` (`None` when the forge did not report it).
    Merged {
        commit: Option<&'a str>,
        method: Option<MergeMethod>,
        /// How many commits a rebase added, when known.
        commits: Option<u32>,
    },
}

/// What undoes a change: a sentence for people, the commands that apply,
/// and a one-field reference for exports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rollback {
    /// One sentence saying what to do, and why that command.
    pub summary: String,
    /// The commands to run, each with the case it applies to (one entry
    /// with an empty case when only one applies).
    pub commands: Vec<Command>,
    /// The export's `rollback` field: the command when there is exactly
    /// one, `merge:<sha>` when the method is unknown, `base:<sha>` for an
    /// open change, empty when there is nothing to undo or nothing known.
    pub reference: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    /// When this command applies (empty when it is the only one).
    pub case: String,
    pub command: String,
}

/// The rollback of a change in `state`.
pub fn rollback(state: &ChangeState<'_>) -> Rollback {
    match *state {
        ChangeState::Open { base: Some(base) } => Rollback {
            summary: format!(
                "Not merged: nothing has reached the base branch. To drop the change's \
                 commits, return its branch to the base commit {base}."
            ),
            commands: vec![only(format!("git reset --hard {base}"))],
            reference: format!("base:{base}"),
        },
        ChangeState::Open { base: None } => Rollback {
            summary: "Not merged: nothing has reached the base branch. Its base commit \
                      was not recorded."
                .into(),
            commands: Vec::new(),
            reference: String::new(),
        },
        ChangeState::Closed => Rollback {
            summary: "Closed without merging: there is nothing to undo.".into(),
            commands: Vec::new(),
            reference: String::new(),
        },
        ChangeState::Merged { commit: None, .. } => Rollback {
            summary: "Merged, but the forge did not report the merge commit: find it in \
                      the base branch's history before reverting."
                .into(),
            commands: Vec::new(),
            reference: String::new(),
        },
        ChangeState::Merged {
            commit: Some(sha),
            method,
            commits,
        } => merged(sha, method, commits),
    }
}

fn merged(sha: &str, method: Option<MergeMethod>, commits: Option<u32>) -> Rollback {
    let single = |summary: String, command: String| Rollback {
        summary,
        reference: command.clone(),
        commands: vec![only(command)],
    };
    match method {
        Some(MergeMethod::Merge) => single(
            format!(
                "Merged with the merge commit {sha}: revert it against its first parent, \
                 the base branch."
            ),
            format!("git revert -m 1 {sha}"),
        ),
        Some(MergeMethod::Squash) => single(
            format!("Squashed into the single commit {sha}: revert that commit."),
            format!("git revert {sha}"),
        ),
        Some(MergeMethod::Rebase) => match commits {
            Some(n) if n > 0 => single(
                format!(
                    "Rebased as {n} commit{} ending at {sha}: revert them all, newest first.",
                    if n == 1 { "" } else { "s" }
                ),
                format!("git revert --no-edit {sha}~{n}..{sha}"),
            ),
            _ => Rollback {
                summary: format!(
                    "Rebased as commits ending at {sha}: revert the range from the first \
                     rebased commit to {sha}, newest first."
                ),
                commands: vec![only(format!("git revert --no-edit <first>^..{sha}"))],
                reference: format!("merge:{sha}"),
            },
        },
        None => Rollback {
            summary: format!(
                "Merged as {sha} by a method that was not recorded: the command depends \
                 on what {sha} is."
            ),
            commands: vec![
                Command {
                    case: "a merge commit (two parents)".into(),
                    command: format!("git revert -m 1 {sha}"),
                },
                Command {
                    case: "a squashed commit".into(),
                    command: format!("git revert {sha}"),
                },
                Command {
                    case: "the last of rebased commits".into(),
                    command: format!("git revert --no-edit <first>^..{sha}"),
                },
            ],
            reference: format!("merge:{sha}"),
        },
    }
}

fn only(command: String) -> Command {
    Command {
        case: String::new(),
        command,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "4f2a9c1e0b7d3a5f8c6e2d1b9a7f5e3c1d0b8a6f";

    fn merged_by(method: Option<MergeMethod>, commits: Option<u32>) -> Rollback {
        rollback(&ChangeState::Merged {
            commit: Some(SHA),
            method,
            commits,
        })
    }

    #[test]
    fn a_merge_commit_is_reverted_against_its_first_parent() {
        let r = merged_by(Some(MergeMethod::Merge), None);
        assert_eq!(r.reference, format!("git revert -m 1 {SHA}"));
        assert_eq!(r.commands.len(), 1);
        assert!(r.summary.contains("merge commit"), "{}", r.summary);
    }

    #[test]
    fn a_squash_is_reverted_as_one_plain_commit() {
        let r = merged_by(Some(MergeMethod::Squash), None);
        assert_eq!(r.reference, format!("git revert {SHA}"));
        assert_eq!(r.commands[0].command, r.reference);
    }

    #[test]
    fn a_rebase_is_reverted_as_the_range_of_its_commits() {
        let r = merged_by(Some(MergeMethod::Rebase), Some(3));
        assert_eq!(r.reference, format!("git revert --no-edit {SHA}~3..{SHA}"));
        assert!(r.summary.contains("3 commits"), "{}", r.summary);

        let unknown_count = merged_by(Some(MergeMethod::Rebase), None);
        assert_eq!(unknown_count.reference, format!("merge:{SHA}"));
        assert!(unknown_count.commands[0].command.contains("<first>^.."));
    }

    #[test]
    fn an_unknown_method_says_which_command_fits_which_case() {
        let r = merged_by(None, None);
        let commands: Vec<&str> = r.commands.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(
            commands,
            [
                format!("git revert -m 1 {SHA}"),
                format!("git revert {SHA}"),
                format!("git revert --no-edit <first>^..{SHA}"),
            ]
        );
        assert!(r.commands.iter().all(|c| !c.case.is_empty()));
        assert_eq!(r.reference, format!("merge:{SHA}"));
    }

    #[test]
    fn an_open_change_returns_to_its_base_commit() {
        let r = rollback(&ChangeState::Open { base: Some(SHA) });
        assert_eq!(r.reference, format!("base:{SHA}"));
        assert!(r.summary.contains(SHA));
        let unknown = rollback(&ChangeState::Open { base: None });
        assert_eq!(unknown.reference, "");
        assert!(unknown.commands.is_empty());
    }

    #[test]
    fn a_change_closed_unmerged_has_nothing_to_undo() {
        let r = rollback(&ChangeState::Closed);
        assert!(r.commands.is_empty());
        assert_eq!(r.reference, "");
        assert!(r.summary.contains("nothing to undo"), "{}", r.summary);
    }

    #[test]
    fn merge_methods_round_trip_through_their_names() {
        for m in [MergeMethod::Merge, MergeMethod::Squash, MergeMethod::Rebase] {
            assert_eq!(MergeMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(MergeMethod::parse("fast-forward"), None);
    }
}
