//! The facts of a live evaluation: each read from the forge when the
//! policy asks for it, and recorded as it is read, so that the decision
//! can be made again from the record alone (see [`crate::evaluation`]).

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::Worker;
use super::adapter::Adapter;
use super::target::Target;
use crate::engine::{Context, OverrideRequest};
use crate::evaluation::record::{self, Found, HeadFile, Record, Recorder, Texts};
use crate::evaluation::{Applicable, Facts, Inputs};
use crate::forge::{PolicyFile, Teams};
use crate::ids::{Login, TeamName};

/// A change's facts, read from its forge.
pub(super) struct Live<'a, A: Adapter> {
    pub worker: &'a Worker,
    pub forge: &'a A,
    pub t: &'a Target<A::At>,
    pub snapshot: &'a A::Snapshot,
    pub at: DateTime<Utc>,
    read: Mutex<Read>,
}

/// What was read, as it is recorded.
#[derive(Default)]
struct Read {
    recorder: Recorder,
    codeowners: Option<Found>,
    context: Option<Context>,
    admins: Option<Vec<Login>>,
    head_files: Vec<HeadFile>,
    overrides: Option<Vec<OverrideRequest>>,
}

impl<'a, A: Adapter> Live<'a, A> {
    pub fn new(
        worker: &'a Worker,
        forge: &'a A,
        t: &'a Target<A::At>,
        snapshot: &'a A::Snapshot,
        at: DateTime<Utc>,
    ) -> Self {
        Live {
            worker,
            forge,
            t,
            snapshot,
            at,
            read: Mutex::default(),
        }
    }

    fn read(&self) -> std::sync::MutexGuard<'_, Read> {
        self.read.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The record of the evaluation of `inputs`, with the texts it names.
    pub fn into_record(self, inputs: &Inputs<'_>) -> (Record, Texts) {
        let mut read = self.read.into_inner().unwrap_or_else(|e| e.into_inner());
        let org = inputs.org.map(|o| read.recorder.org(o));
        let repo = inputs.repo.map(|f| read.recorder.file(f));
        let record = Record {
            version: record::VERSION,
            at: inputs.at,
            dismisses: inputs.dismisses,
            org_repository: inputs.org_repository,
            change: inputs.change.clone(),
            org,
            repo,
            codeowners: read.codeowners.take(),
            context: read.context.take(),
            admins: read.admins.take(),
            head_files: std::mem::take(&mut read.head_files),
            overrides: read.overrides.take(),
        };
        (record, read.recorder.texts)
    }
}

impl<A: Adapter> Facts for Live<'_, A> {
    async fn codeowners(&self) -> anyhow::Result<Option<PolicyFile>> {
        let found = self.forge.codeowners(self.t, self.snapshot).await?;
        let mut read = self.read();
        let file = found.as_ref().map(|f| read.recorder.file(f));
        read.codeowners = Some(Found { file });
        Ok(found)
    }

    async fn context(&self, loaded: &Applicable, teams: &Teams) -> anyhow::Result<Context> {
        if !loaded.is_empty() {
            // Kept among the repository's hints, so that the next read
            // resolves them in its own query.
            self.worker
                .record_team_hints(self.t, loaded, teams, self.at)
                .await?;
        }
        let resolve: Vec<&TeamName> = teams.resolve.iter().collect();
        let context = self.forge.context(self.t, &resolve, self.snapshot).await?;
        self.read().context = Some(context.clone());
        Ok(context)
    }

    async fn admins(&self) -> anyhow::Result<Vec<Login>> {
        let admins = self.forge.admins(self.t).await?;
        self.read().admins = Some(admins.clone());
        Ok(admins)
    }

    async fn head_file(&self, paths: &[&str]) -> anyhow::Result<Option<PolicyFile>> {
        let head = &A::change(self.snapshot).head_sha;
        let found = (self.forge)
            .head_file(self.t, self.snapshot, head, paths)
            .await?;
        let mut read = self.read();
        let file = found.as_ref().map(|f| read.recorder.file(f));
        read.head_files.push(HeadFile {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            file,
        });
        Ok(found)
    }

    /// From the store, where the worker keeps each override comment: no
    /// request to the forge.
    async fn overrides(&self) -> anyhow::Result<Vec<OverrideRequest>> {
        let head = &A::change(self.snapshot).head_sha;
        let overrides = self.worker.store.overrides_at(&self.t.key, head).await?;
        self.read().overrides = Some(overrides.clone());
        Ok(overrides)
    }
}
