"""Launchers: the embedded mode (``make run``) and the local cluster (``make up``)."""
