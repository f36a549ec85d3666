"""DataSync: the control plane moto lacks parts of (ARNs, task executions)."""
