-- The forge-neutral input each evaluation decided (the change: its commits,
-- touched paths, reviews, author and body, as JSON), so that a decision can
-- be made again without asking the forge: a merge group decides each of its
-- pull requests again under the policy at the group's base, with the
-- reviews as recorded. NULL for evaluations that read no change, and for
-- those recorded before this migration.
-- Kept in step with migrations/postgres/20261207140000_evaluation_input.sql.
ALTER TABLE evaluations ADD COLUMN input TEXT;
