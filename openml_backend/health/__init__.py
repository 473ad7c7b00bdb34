"""Liveness and readiness endpoints for the Kubernetes probes."""
