//! Writing checkpoints: the state of every chain, checked against the
//! previous checkpoint, signed, stored once across replicas, and appended
//! to the checkpoint directory; and `serve`'s periodic task that does it.
//!
//! A checkpoint is never written over a trail that contradicts the last
//! one (a chain shorter than it states, or whose first events no longer
//! have the root it states), nor after a checkpoint another key signed:
//! signing such a state would launder a rewrite. The writer logs why and
//! writes nothing, and `warrant audit verify` says the rest.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{ChainState, Checkpoint, FORMAT, SignedCheckpoint, SigningKey};
use crate::audit::GENESIS;
use crate::audit::merkle::{Frontier, event_leaf};
use crate::store::Store;
use crate::store::checkpoints::StoredCheckpoint;

/// The file, in the checkpoint directory, that checkpoints are appended to.
pub const FILE_NAME: &str = "checkpoints.jsonl";

/// Hashes read per query while computing the roots.
const PAGE: u32 = 5_000;

/// How often `serve` looks whether a checkpoint is due, at most: often
/// enough that one is written within a minute of being due, rarely enough
/// that looking (two small queries) costs nothing.
const POLL: Duration = Duration::from_secs(60);

/// Everything needed to write checkpoints.
#[derive(Clone, Debug)]
pub struct Signer {
    pub key: SigningKey,
    /// The instance's public URL; empty when unset.
    pub instance: String,
    /// Where checkpoints are appended, as [`FILE_NAME`], when set.
    pub dir: Option<PathBuf>,
}

/// What [`write`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// It wrote this checkpoint.
    Wrote(Box<SignedCheckpoint>),
    /// No chain grew since the last checkpoint (only when not forced).
    Unchanged,
    /// Another replica wrote the next checkpoint first.
    LostRace,
}

/// Writes a checkpoint of the trail as it is at `now`: always when
/// `force`, else only if a chain grew (or appeared) since the last one.
pub async fn write(
    store: &Store,
    signer: &Signer,
    now: DateTime<Utc>,
    force: bool,
) -> anyhow::Result<Written> {
    let previous = match store.latest_checkpoint().await? {
        Some(stored) => Some(previous(&stored, signer)?),
        None => None,
    };
    if !force && !grew(store, previous.as_ref()).await? {
        return Ok(Written::Unchanged);
    }
    let chains = chain_states(store, previous.as_ref()).await?;
    let checkpoint = Checkpoint {
        format: FORMAT.to_owned(),
        seq: previous.as_ref().map_or(1, |p| p.seq + 1),
        at: now.timestamp_millis(),
        instance: signer.instance.clone(),
        previous: previous
            .as_ref()
            .map_or_else(|| GENESIS.to_owned(), Checkpoint::hash),
        chains,
    };
    let hash = checkpoint.hash();
    let signed = checkpoint.sign(&signer.key);
    let c = &signed.checkpoint;
    let inserted = store
        .insert_checkpoint(c.seq, &c.previous, &hash, c.at, &signed.line())
        .await?;
    // The directory gets the winner's checkpoint either way.
    if let Some(dir) = &signer.dir {
        append_to_dir(store, dir).await?;
    }
    Ok(if inserted {
        Written::Wrote(Box::new(signed))
    } else {
        Written::LostRace
    })
}

/// The stored checkpoint `stored`, which the next one will name: it must
/// be one this key signed.
fn previous(stored: &StoredCheckpoint, signer: &Signer) -> anyhow::Result<Checkpoint> {
    let signed = SignedCheckpoint::parse(&stored.line)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("the stored checkpoint {} cannot be read", stored.seq))?;
    if !signed.signed_by(&signer.key.public()) || signed.checkpoint.hash() != stored.hash {
        bail!(
            "the stored checkpoint {} is not signed by this instance's key {}: \
             it was forged, or the key changed; no checkpoint is written after it",
            stored.seq,
            signer.key.public()
        );
    }
    Ok(signed.checkpoint)
}

/// Whether any chain's size differs from what `previous` states.
async fn grew(store: &Store, previous: Option<&Checkpoint>) -> anyhow::Result<bool> {
    let sizes = store.audit_chain_sizes().await?;
    let Some(previous) = previous else {
        return Ok(!sizes.is_empty());
    };
    let stated: Vec<(&str, &str, u64)> = previous
        .chains
        .iter()
        .map(|c| (c.forge.as_str(), c.repo.as_str(), c.size))
        .collect();
    let now: Vec<(&str, &str, u64)> = sizes
        .iter()
        .map(|(c, size)| (c.forge.as_str(), c.repo.as_str(), *size))
        .collect();
    Ok(stated != now)
}

/// Every chain's size and root, ordered by forge and repository, after
/// checking that each extends what `previous` states of it.
pub async fn chain_states(
    store: &Store,
    previous: Option<&Checkpoint>,
) -> anyhow::Result<Vec<ChainState>> {
    let mut stated: BTreeMap<(&str, &str), &ChainState> = previous
        .map(|p| &p.chains[..])
        .unwrap_or_default()
        .iter()
        .map(|c| ((c.forge.as_str(), c.repo.as_str()), c))
        .collect();
    let seq = previous.map_or(0, |p| p.seq);
    let mut states = Vec::new();
    for chain in store.audit_chains().await? {
        let before = stated
            .iter()
            .find(|((f, r), _)| *f == chain.forge && *r == chain.repo)
            .map(|(k, v)| (*k, *v));
        if let Some((k, _)) = before {
            stated.remove(&k);
        }
        let before = before.map(|(_, v)| v);
        let mut frontier = Frontier::new();
        let mut root_then = None;
        let mut unreadable = None;
        store
            .scan_audit_hashes(&chain, PAGE, |hash| {
                match event_leaf(hash) {
                    Some(leaf) => frontier.push(leaf),
                    None => unreadable = unreadable.or(Some(frontier.size() + 1)),
                }
                if before.is_some_and(|b| b.size == frontier.size()) {
                    root_then = Some(hex::encode(frontier.root()));
                }
                ControlFlow::Continue(())
            })
            .await?;
        let name = format!("{} {}", chain.forge, chain.repo);
        if let Some(n) = unreadable {
            bail!("{name}: event {n}'s hash is not 64 hex digits; run `warrant audit verify`");
        }
        if let Some(before) = before {
            if frontier.size() < before.size {
                bail!(
                    "{name} has {} events, fewer than the {} checkpoint {seq} states; \
                     run `warrant audit verify`",
                    frontier.size(),
                    before.size
                );
            }
            if root_then.as_deref() != Some(before.root.as_str()) {
                bail!(
                    "{name}'s first {} events no longer have the root checkpoint {seq} \
                     states; run `warrant audit verify`",
                    before.size
                );
            }
        }
        states.push(ChainState {
            forge: chain.forge,
            repo: chain.repo,
            size: frontier.size(),
            root: hex::encode(frontier.root()),
        });
    }
    if let Some(((forge, repo), _)) = stated.into_iter().next() {
        bail!("{forge} {repo} is in checkpoint {seq} but has no events any more");
    }
    Ok(states)
}

/// Appends to `dir`'s [`FILE_NAME`] every stored checkpoint after the last
/// one it holds, so that each replica's copy is whole whichever replica
/// wrote a checkpoint.
pub async fn append_to_dir(store: &Store, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(FILE_NAME);
    let last = match std::fs::read_to_string(&path) {
        Ok(text) => last_seq(&text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => 0,
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    let missing = store.checkpoints_after(last).await?;
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let text: String = missing.iter().map(|c| format!("{}\n", c.line)).collect();
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot append to {}", path.display()))
}

/// The seq of the last checkpoint in a file's text (0 if none).
fn last_seq(text: &str) -> u64 {
    text.lines()
        .rev()
        .find_map(|line| SignedCheckpoint::parse(line).ok())
        .map_or(0, |c| c.checkpoint.seq)
}

/// Whether a checkpoint is due at `now`: none yet, or the last one is at
/// least `interval` old.
async fn due(store: &Store, interval: Duration, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let interval = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    Ok(store
        .latest_checkpoint()
        .await?
        .is_none_or(|last| now.timestamp_millis().saturating_sub(last.at) >= interval))
}

/// `serve`'s task: writes a checkpoint whenever one is due and the trail
/// grew, until `stop` turns true.
pub fn spawn(
    store: Store,
    signer: Signer,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = Utc::now();
            let written = match due(&store, interval, now).await {
                Ok(true) => write(&store, &signer, now, false).await,
                Ok(false) => Ok(Written::Unchanged),
                Err(err) => Err(err),
            };
            match written {
                Ok(Written::Wrote(c)) => {
                    tracing::info!(
                        seq = c.checkpoint.seq,
                        chains = c.checkpoint.chains.len(),
                        "wrote an audit checkpoint"
                    )
                }
                Ok(Written::Unchanged | Written::LostRace) => {}
                Err(err) => {
                    tracing::error!(error = %format!("{err:#}"), "cannot write an audit checkpoint")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL.min(interval)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}
