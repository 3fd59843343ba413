"""The IAM evaluation behind scripts/iam-check: evaluate (policy logic), grants (calls against roles, unused grants, justifications), report, selftest."""
