"""API client accounts (/api/v1/clients): created, changed, disabled, deleted, imported in bulk and
audited through the API, by administrators."""
