"""`hundredx validate`: predict measured cases (SCHEMA.md) and report the error per kind."""
