"""duebot: the core (configuration, domain, database, services, notifier)."""
