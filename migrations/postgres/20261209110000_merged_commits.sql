-- Whether a commit pushed to the default branch came by a recorded merge
-- is looked up by its sha, as a merge commit (merge, squash, the last
-- commit of a rebase) or as the merged change's head (fast-forward): see
-- docs/alerts.md, "How Warrant tells a push from a merge". Kept in step
-- with migrations/sqlite/20261209110000_merged_commits.sql.
CREATE INDEX merges_merge_commit ON merges (forge, repo, merge_commit_sha);
CREATE INDEX merges_head ON merges (forge, repo, head_sha);
-- The repositories page and the overview list the recent unreviewed
-- pushes (audit events of kind `push_unreviewed`) by time.
CREATE INDEX audit_events_kind ON audit_events (kind, at);
