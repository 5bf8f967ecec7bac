"""Pure rules of the indicators service: no web, database or broker imports."""
