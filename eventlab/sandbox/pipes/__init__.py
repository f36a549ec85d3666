"""EventBridge Pipes in the sandbox: sources polled, filtered, enriched and delivered."""
