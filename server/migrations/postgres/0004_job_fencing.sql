-- The daily job's lease is fenced by its holder (a run whose lease was taken over cannot
-- rotate or release), and a refresh sent without a stored outcome is remembered as uncertain:
-- the next run settles it (introspection) instead of presenting the token again.
ALTER TABLE offline_grants ADD COLUMN lease_holder TEXT;
ALTER TABLE offline_grants ADD COLUMN uncertain_since BIGINT;
