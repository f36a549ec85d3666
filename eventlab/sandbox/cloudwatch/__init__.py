"""CloudWatch: metrics the services emit and alarms evaluated on the virtual clock."""
