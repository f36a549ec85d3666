"""Scheduled rules and EventBridge Scheduler, with cron and rate expressions."""
