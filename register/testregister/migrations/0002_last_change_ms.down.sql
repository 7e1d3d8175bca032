UPDATE entities SET last_change = last_change / 1000;
UPDATE register_meta SET last_change = last_change / 1000;
