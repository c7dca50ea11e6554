-- Placeholder on branch issue-jobs, so that 0007 has no gap before it: the lead's
-- 0006_launch_admission.sql (the launch admission counter) replaces this file at the merge.
SELECT 1;
