"""AWS Fault Injection Service on the virtual clock."""
