-- The transport certificate serial as the register wrote it (case, leading
-- zeros): the register is asked by that text (GetByCertificateSN), while
-- certificate_sn stays the normalised form lookups compare. Rows synced
-- before this column existed start with the normalised form until the next
-- sync brings the register's text.
ALTER TABLE register_entities ADD COLUMN certificate_sn_text TEXT NOT NULL DEFAULT '';
UPDATE register_entities SET certificate_sn_text = certificate_sn;
