"""Step Functions: executions on the virtual clock."""
