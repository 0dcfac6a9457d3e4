-- A job run holds a farmer's grant while it refreshes it: two runs at once (the schedule and
-- `server count-eggs`, or two instances) must never present one refresh token twice.
ALTER TABLE offline_grants ADD COLUMN leased_until BIGINT;
