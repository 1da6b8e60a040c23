"""`hundredx validate`: predict measured cases (docs/cases.md) and report the error per kind."""
