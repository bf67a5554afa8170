"""The reminder engine's clock: one repeating tick that asks the services for due work."""
