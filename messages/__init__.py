"""Everything a person reads: templates, formatting, keyboards, callback data."""

from messages.render import MessageTooLong, render

__all__ = ["MessageTooLong", "render"]
