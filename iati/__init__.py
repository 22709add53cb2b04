"""Publishing the fund to IATI 2.03: the activity and organisation files, their checks
before publishing, and a validator of the three layers (schema, codelists, ruleset)."""
