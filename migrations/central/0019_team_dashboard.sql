-- The supervisor's team dashboard reads the queue's past from the status
-- history rather than from periodic snapshots: every change of status is
-- already recorded by trigger with its time, so the depth at any moment is
-- today's open claims less the changes since. No job to run, no gaps when
-- nobody had the app open, and the past is the same for everyone.
--
-- One index serves it: history rows by time, carrying what the dashboard
-- groups by, so a window's rows are read from the index alone.

SET LOCAL search_path = claimdesk, public, pg_catalog;

CREATE INDEX claim_status_history_time_idx ON claim_status_history (changed_at)
    INCLUDE (claim_id, from_status, to_status, changed_by);
