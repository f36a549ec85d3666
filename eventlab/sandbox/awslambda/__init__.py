"""Lambda: functions that really run (service, runtime, worker processes) and the event source mappings that feed them (esm/)."""
