//! A change that proposes a policy: the proposal tried on the last
//! evaluated changes it would govern (the repository's, or the
//! organisation's for the organisation policy), from their records in the
//! store. No request to the forge.

use super::Worker;
use super::target::Target;
use crate::engine::{Decision, Origin};
use crate::evaluation::record::{Record, Texts};
use crate::evaluation::replay::Instead;
use crate::evaluation::simulate::{self, REPLAYED};
use crate::forge::OrgPolicyFile;
use crate::store::records::Scope;

impl Worker {
    /// Replays past changes under each proposed policy that loads.
    pub(super) async fn simulate_proposals<X>(
        &self,
        t: &Target<X>,
        record: &Record,
        texts: &Texts,
        decision: &mut Decision,
    ) -> anyhow::Result<()> {
        for proposed in decision.proposed.iter_mut() {
            if !proposed.errors.is_empty() {
                continue;
            }
            let found = (record.head_files.iter())
                .filter_map(|h| h.file.as_ref())
                .find(|f| f.path == proposed.path && f.blob_id == proposed.blob_id);
            let Some(file) = found.map(|f| f.read(texts)).transpose()? else {
                continue;
            };
            let org;
            let (scope, instead) = match proposed.from {
                Origin::Repository => (
                    Scope::Repository(&t.key.repo),
                    Instead {
                        repo: Some(&file),
                        org: None,
                    },
                ),
                Origin::Organisation => {
                    org = OrgPolicyFile {
                        repository: t.key.repo.to_string(),
                        file,
                    };
                    (
                        Scope::Owner(t.key.repo.owner()),
                        Instead {
                            repo: None,
                            org: Some(&org),
                        },
                    )
                }
            };
            let (past, texts) =
                simulate::past_changes(&self.store, t.key.forge, &scope, Some(&t.key), REPLAYED)
                    .await?;
            proposed.replay = Some(simulate::simulate(&past, &texts, instead).await);
        }
        Ok(())
    }
}
