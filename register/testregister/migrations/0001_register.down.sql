DROP TABLE verdicts; DROP TABLE joining_cases; DROP TABLE register_meta; DROP TABLE entities;
