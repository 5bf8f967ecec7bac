"""Pure rules of the evaluation service: no web, database or broker imports."""
