"""Pure rules of the coordination service: no web, database or broker imports."""
