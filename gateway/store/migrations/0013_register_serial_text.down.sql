ALTER TABLE register_entities DROP COLUMN certificate_sn_text;
