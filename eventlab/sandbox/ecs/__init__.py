"""ECS in the sandbox: tasks that consume a queue on the virtual clock."""
