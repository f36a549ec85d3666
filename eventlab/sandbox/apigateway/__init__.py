"""API Gateway: REST and HTTP APIs that answer (integrations, VTL, limits)."""
