"""OpenTelemetry spans and metrics, log lines and the debug toolbar panel."""
