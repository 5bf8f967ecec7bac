"""Standard Webhooks: endpoints, signed deliveries with retries, the attempt log."""
