DROP TABLE register_sync; DROP TABLE register_entities;
