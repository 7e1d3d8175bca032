-- LastChange to the millisecond, as the real register keeps it: Unix
-- seconds become Unix milliseconds.
UPDATE entities SET last_change = last_change * 1000;
UPDATE register_meta SET last_change = last_change * 1000;
