//! `codeowners` in an approvers list: the code owners of each covered path,
//! from the CODEOWNERS file at the base, may approve it; each path needs an
//! eligible approval from its owners (GitLab: from each required section
//! owning it, as many as the section asks), and a path no line owns needs
//! one from the list's other approvers.

use std::collections::BTreeMap;

use super::Draft;
use super::approvals::{Standing, is_approver};
use crate::codeowners::{CodeownersFile, Owner, Ownership};
use crate::engine::{Account, Context, PathOwnership, Requirement, UnownedPath, ViolationKind};
use crate::ids::{Login, Principal, RepoPath};

/// The owners of a requirement's covered paths.
pub(super) struct Owners<'a> {
    paths: Vec<Covered<'a>>,
}

struct Covered<'a> {
    path: &'a RepoPath,
    /// Ownerships naming at least one owner Warrant can check.
    owned: Vec<Owned<'a>>,
    /// Owners it cannot check, on lines that own this path.
    unsupported: Vec<String>,
}

struct Owned<'a> {
    ownership: Ownership<'a>,
    usable: Vec<Principal>,
}

impl<'a> Owners<'a> {
    /// Who owns each of `covered` under `file` (nobody, without a file
    /// that parses).
    pub(super) fn of(file: &'a CodeownersFile, covered: &'a [RepoPath]) -> Owners<'a> {
        let paths = covered
            .iter()
            .map(|path| {
                let ownerships = file.parsed().map(|c| c.owners_of(path)).unwrap_or_default();
                let mut unsupported = Vec::new();
                let mut owned = Vec::new();
                for ownership in ownerships {
                    let mut usable = Vec::new();
                    for owner in ownership.owners {
                        match owner {
                            Owner::User(login) => usable.push(Principal::User(login.clone())),
                            Owner::Team(team) => usable.push(Principal::Team(team.clone())),
                            Owner::Unsupported(raw) => unsupported.push(raw.clone()),
                        }
                    }
                    if !usable.is_empty() {
                        owned.push(Owned { ownership, usable });
                    }
                }
                Covered {
                    path,
                    owned,
                    unsupported,
                }
            })
            .collect();
        Owners { paths }
    }

    /// Whether `reviewer` owns any covered path.
    pub(super) fn include(&self, reviewer: &Account, context: &Context) -> bool {
        self.paths
            .iter()
            .flat_map(|p| &p.owned)
            .any(|o| is_approver(&o.usable, reviewer, context))
    }

    /// Records, per covered path, its owners and the eligible approvals
    /// from them (from `listed` for an unowned path); returns whether every
    /// path has the approvals it needs.
    pub(super) fn record(
        self,
        requirement: &mut Requirement,
        listed: &[Principal],
        standings: &[Standing],
        context: &Context,
    ) -> bool {
        let eligible: Vec<&Account> = standings
            .iter()
            .filter(|s| s.refusal.is_none())
            .map(|s| &s.review.reviewer)
            .collect();
        let approved = |among: &[Principal]| -> Vec<Login> {
            eligible
                .iter()
                .filter(|r| is_approver(among, r, context))
                .map(|r| r.login.clone())
                .collect()
        };
        let mut all = true;
        for covered in self.paths {
            if covered.owned.is_empty() {
                let approved_by = approved(listed);
                all &= !approved_by.is_empty();
                requirement.unowned.push(UnownedPath {
                    path: covered.path.clone(),
                    unsupported: covered.unsupported,
                    approved_by,
                });
                continue;
            }
            // A path owned only in optional sections still needs one
            // approval from those owners: the policy asked for approval.
            let any_required = covered.owned.iter().any(|o| !o.ownership.section.optional);
            let mut approved_any = false;
            for owned in &covered.owned {
                let section = owned.ownership.section;
                let required = if section.optional {
                    0
                } else {
                    section.approvals.max(1)
                };
                let entry = PathOwnership {
                    path: covered.path.clone(),
                    line: owned.ownership.line,
                    section: section.name.clone(),
                    owners: owned.usable.iter().map(|p| format!("@{p}")).collect(),
                    unsupported: covered.unsupported.clone(),
                    required,
                    approved_by: approved(&owned.usable),
                };
                approved_any |= !entry.approved_by.is_empty();
                all &= entry.missing() == 0;
                requirement.owned_paths.push(entry);
            }
            all &= any_required || approved_any;
        }
        all
    }
}

/// A CODEOWNERS file that does not parse fails the decision closed, as an
/// invalid policy does.
pub(super) fn check_file(file: &CodeownersFile, draft: &mut Draft) {
    if let CodeownersFile::Invalid { error, path, .. } = file {
        draft.violate(
            ViolationKind::InvalidCodeowners,
            None,
            format!("Invalid CODEOWNERS: {error}"),
            vec![path.clone()],
            true,
        );
    }
}

/// After counting: a requirement (named in `unmeetable`) whose unowned
/// paths nobody may approve fails the check, naming them; owners Warrant
/// cannot check are reported.
pub(super) fn report(file: &CodeownersFile, unmeetable: &[String], draft: &mut Draft) {
    let invalid = matches!(file, CodeownersFile::Invalid { .. });
    let mut violations = Vec::new();
    for requirement in &draft.requirements {
        if invalid || !unmeetable.contains(&requirement.id) {
            continue;
        }
        let paths: Vec<RepoPath> = requirement.unowned.iter().map(|u| u.path.clone()).collect();
        let where_ = match file.source() {
            Some((path, _)) => format!("no line of `{path}` owns"),
            None => "there is no CODEOWNERS file to own".to_owned(),
        };
        violations.push((
            ViolationKind::UnownedPaths,
            format!(
                "{where_} {}, and the approvers of {} name nobody else: it cannot be approved",
                listing(&paths),
                requirement.label
            ),
            paths,
            true,
        ));
    }
    // Owner as written -> the paths it was named for.
    let mut unsupported: BTreeMap<&str, Vec<RepoPath>> = BTreeMap::new();
    for requirement in &draft.requirements {
        let owned = requirement
            .owned_paths
            .iter()
            .map(|o| (&o.path, &o.unsupported));
        let unowned = requirement
            .unowned
            .iter()
            .map(|u| (&u.path, &u.unsupported));
        for (path, owners) in owned.chain(unowned) {
            for owner in owners {
                let paths = unsupported.entry(owner).or_default();
                if !paths.contains(path) {
                    paths.push(path.clone());
                }
            }
        }
    }
    for (owner, paths) in unsupported {
        violations.push((
            ViolationKind::UnsupportedCodeowners,
            format!(
                "code owner `{owner}` of {} cannot approve here: Warrant checks approvals \
                 against users and teams only, so email addresses and roles are unsupported",
                listing(&paths)
            ),
            paths,
            false,
        ));
    }
    for (kind, message, paths, blocking) in violations {
        draft.violate(kind, None, message, paths, blocking);
    }
}

/// "`a`, `b` and 3 more".
fn listing(paths: &[RepoPath]) -> String {
    const SHOWN: usize = 5;
    let mut out = paths
        .iter()
        .take(SHOWN)
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        out.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    out
}
