"""What the tests share, and the only place they share it from: a test module never imports
another test module or a conftest. One module per concern: ``apps`` (a service in-process),
``infra`` (PostgreSQL and Kafka), ``waiting`` (``wait_for`` / ``until``), ``events``, ``clock``,
``clusters`` and ``resilience`` (services as processes), ``webhooks`` (a verifying receiver),
``manifests`` (the deploy checks), and one per service for its own helpers."""
