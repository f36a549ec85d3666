"""EventBridge: targets that deliver, input paths and transformers."""
