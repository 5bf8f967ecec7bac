"""Use cases of the indicators service, one transaction each: the catalogue, releases,
publication of bulletins, and the report and interview duties that follow (I1–I5)."""
