"""The sandbox's machinery: the Sandbox, the virtual clock, the delivery pump, the one place that patches moto, the service registry, the HTTP server."""
